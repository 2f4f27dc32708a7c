#include "models/builtin/ranker.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace basalt::models::builtin {
namespace {

constexpr double kK1 = 1.2;
constexpr double kB = 0.75;
constexpr double kScoreQuantum = 1e-9;

}  // namespace

std::vector<double> Bm25Scores(const std::vector<std::vector<std::string>>& candidates,
                               const std::vector<std::string>& query) {
  std::vector<double> scores(candidates.size(), 0.0);
  const std::set<std::string> query_terms(query.begin(), query.end());
  if (candidates.empty() || query_terms.empty()) return scores;

  std::map<std::string, int> df;
  double total_len = 0;
  for (const auto& terms : candidates) {
    total_len += static_cast<double>(terms.size());
    for (const auto& t : std::set<std::string>(terms.begin(), terms.end())) {
      if (query_terms.contains(t)) ++df[t];
    }
  }
  const double n = static_cast<double>(candidates.size());
  const double avg_len = std::max(total_len / n, 1.0);

  for (size_t i = 0; i < candidates.size(); ++i) {
    std::map<std::string, int> tf;
    for (const auto& t : candidates[i]) {
      if (query_terms.contains(t)) ++tf[t];
    }
    const double len_norm = 1.0 - kB + kB * static_cast<double>(candidates[i].size()) / avg_len;
    double score = 0;
    for (const auto& [term, count] : tf) {  // std::map: a fixed summation order
      const double d = df[term];
      const double idf = std::log(1.0 + (n - d + 0.5) / (d + 0.5));
      score += idf * count * (kK1 + 1) / (count + kK1 * len_norm);
    }
    scores[i] = score;
  }
  return scores;
}

std::vector<size_t> SelectTop(const std::vector<double>& scores, size_t limit, double floor) {
  std::vector<size_t> order;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (scores[i] > 0) order.push_back(i);
  }
  // Compare scores rounded to kScoreQuantum so near-equal scores tie (and the
  // earlier candidate wins) whatever the last bits of the platform's log().
  auto quantized = [&](size_t i) { return std::llround(scores[i] / kScoreQuantum); };
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const long long qa = quantized(a), qb = quantized(b);
    return qa != qb ? qa > qb : a < b;
  });
  if (order.empty()) return order;
  const double cutoff = scores[order.front()] * floor;
  std::vector<size_t> chosen;
  for (size_t i : order) {
    if (chosen.size() >= limit || scores[i] < cutoff) break;
    chosen.push_back(i);
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

}  // namespace basalt::models::builtin
