# Wire formats: canonical types <-> OpenAI chat/embeddings, Anthropic Messages,
# Bedrock Converse (see formats/*_format.h).
list(APPEND MODELS_SOURCES
  formats/format_util.cc
  formats/openai_format.cc
  formats/openai_stream.cc
  formats/openai_embeddings.cc)
list(APPEND MODELS_TESTS
  formats/openai_format_test.cc)
