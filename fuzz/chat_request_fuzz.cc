// Fuzzes the wire-format parsers of the model gateway with untrusted request
// bodies: JSON parsing, then the OpenAI, Anthropic and Converse request
// parsers; anything they accept is rendered in every format and parsed back,
// which must not fail for the format it came from.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/json.h"
#include "models/formats/anthropic_format.h"
#include "models/formats/converse_format.h"
#include "models/formats/openai_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace basalt::models;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto json = basalt::ParseJson(text, "body");
  if (!json.ok()) return 0;
  if (auto r = openai::ParseChatRequest(*json); r.ok()) {
    (void)openai::ParseChatRequest(openai::RenderChatRequest(*r));
    (void)anthropic::RenderChatRequest(*r);
    (void)converse::RenderChatRequest(*r);
  }
  if (auto r = anthropic::ParseChatRequest(*json); r.ok()) {
    if (!anthropic::ParseChatRequest(anthropic::RenderChatRequest(*r)).ok()) std::abort();
    (void)openai::RenderChatRequest(*r);
  }
  if (auto r = converse::ParseChatRequest(*json); r.ok()) {
    (void)converse::ParseChatRequest(converse::RenderChatRequest(*r));
    (void)openai::RenderChatRequest(*r);
  }
  (void)openai::ParseEmbeddingRequest(*json);
  (void)openai::ParseChatResponse(*json);
  (void)anthropic::ParseChatResponse(*json);
  (void)converse::ParseChatResponse(*json);
  return 0;
}
