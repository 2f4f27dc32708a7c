#include "models/formats/openai_format.h"

#include <gtest/gtest.h>

namespace basalt::models::openai {
namespace {
TEST(OpenAIFormat, Placeholder) {}
}  // namespace
}  // namespace basalt::models::openai
