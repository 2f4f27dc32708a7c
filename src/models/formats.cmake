# Wire formats: canonical types <-> OpenAI chat/embeddings, Anthropic Messages,
# Bedrock Converse (see formats/*_format.h).
list(APPEND MODELS_SOURCES
  formats/format_util.cc
  formats/openai_format.cc
  formats/openai_stream.cc
  formats/openai_embeddings.cc
  formats/anthropic_format.cc
  formats/anthropic_stream.cc
  formats/converse_format.cc
  formats/converse_stream.cc)
list(APPEND MODELS_TESTS
  formats/openai_format_test.cc
  formats/openai_stream_test.cc
  formats/openai_embeddings_test.cc
  formats/anthropic_format_test.cc
  formats/converse_format_test.cc
  formats/roundtrip_test.cc)
