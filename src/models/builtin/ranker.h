// BM25 ranking of candidate sentences against a query, for the builtin
// provider's extractive chat. Each sentence is a "document" and the candidate
// set is the corpus, so a term that appears in few sentences weighs more.
//
//   score(s) = sum over distinct query terms q of
//              idf(q) * tf(q,s) * (k1 + 1) / (tf(q,s) + k1 * (1 - b + b * |s| / avg|s|))
//   idf(q)   = ln(1 + (N - df(q) + 0.5) / (df(q) + 0.5))          k1 = 1.2, b = 0.75
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace basalt::models::builtin {

// One score per candidate, in candidate order; 0 when no query term occurs.
std::vector<double> Bm25Scores(const std::vector<std::vector<std::string>>& candidates,
                               const std::vector<std::string>& query);

// The indices of the best candidates, ascending (original order): at most
// `limit`, only positive scores, and only those scoring at least `floor` times
// the best score (so weak partial matches do not pad a strong answer). Ties go
// to the earlier candidate; scores equal to 9 decimal places count as ties, so
// the choice does not depend on the last bit of a platform's log().
std::vector<size_t> SelectTop(const std::vector<double>& scores, size_t limit, double floor = 0.5);

}  // namespace basalt::models::builtin
