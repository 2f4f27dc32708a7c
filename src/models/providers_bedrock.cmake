# Amazon Bedrock Runtime provider: SigV4-signed Converse/ConverseStream,
# InvokeModel(+WithResponseStream), AWS credential resolution.
list(APPEND MODELS_SOURCES
  providers/aws_credentials.cc
  providers/bedrock_stream.cc
  providers/bedrock_provider.cc)
list(APPEND MODELS_TESTS
  providers/aws_credentials_test.cc
  providers/bedrock_provider_test.cc
  providers/bedrock_stream_test.cc)
