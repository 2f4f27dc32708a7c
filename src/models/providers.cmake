# HTTP model providers (OpenAI-compatible, Anthropic; Bedrock in bedrock/).
list(APPEND MODELS_SOURCES
  providers/upstream.cc
  providers/openai_provider.cc
  providers/anthropic_provider.cc)
list(APPEND MODELS_TESTS
  providers/providers_test.cc
  ../net/http_client_test_server.cc)
