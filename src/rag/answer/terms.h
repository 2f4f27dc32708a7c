// Content terms for grounding and confidence: the builtin model's terms
// (models/builtin/terms.h: lowercased, stopwords dropped, lightly stemmed), as
// a sorted set, so answers, questions and passages compare the same way the
// builtin extractive model ranks them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::rag {

// Sorted, without repeats.
using TermSet = std::vector<std::string>;

TermSet Terms(std::string_view text);

// |a ∩ b|.
size_t SharedCount(const TermSet& a, const TermSet& b);

}  // namespace basalt::rag
