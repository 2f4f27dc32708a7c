# The builtin offline provider (a deterministic stand-in, not a language model).
list(APPEND MODELS_SOURCES
  builtin/builtin_provider.cc
  builtin/chat_stream.cc
  builtin/embedder.cc
  builtin/extractive_chat.cc
  builtin/ranker.cc
  builtin/schema_filler.cc
  builtin/sentences.cc
  builtin/terms.cc
  builtin/tokenizer.cc)
list(APPEND MODELS_TESTS
  builtin/builtin_provider_test.cc
  builtin/chat_stream_test.cc
  builtin/embedder_test.cc
  builtin/extractive_chat_test.cc
  builtin/schema_filler_test.cc
  builtin/text_test.cc
  builtin/tokenizer_test.cc)
# Embedding vectors must be bit-identical on every platform: no fused
# multiply-add contraction in their arithmetic.
set_source_files_properties(builtin/embedder.cc PROPERTIES COMPILE_OPTIONS -ffp-contract=off)
