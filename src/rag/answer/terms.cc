#include "rag/answer/terms.h"

#include <algorithm>

#include "models/builtin/terms.h"

namespace basalt::rag {

TermSet Terms(std::string_view text) {
  TermSet terms = models::builtin::ExtractTerms(text);
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  return terms;
}

size_t SharedCount(const TermSet& a, const TermSet& b) {
  size_t n = 0;
  auto i = a.begin();
  auto j = b.begin();
  while (i != a.end() && j != b.end()) {
    if (*i < *j) {
      ++i;
    } else if (*j < *i) {
      ++j;
    } else {
      ++n;
      ++i;
      ++j;
    }
  }
  return n;
}

}  // namespace basalt::rag
