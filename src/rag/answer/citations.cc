#include "rag/answer/citations.h"

#include <algorithm>
#include <optional>

#include "models/builtin/sentences.h"
#include "rag/answer/terms.h"

namespace basalt::rag {
namespace {

using models::builtin::SplitSentences;

constexpr size_t kMaxMarkerDigits = 6;
// 3b costs O(words^2 x passage sentences); past this a claim is not a copy of
// sentences the builtin model joined (it copies at most three).
constexpr size_t kMaxJoinedClaimBytes = 4096;

struct Marker {
  size_t at = 0;  // position in the clean text
  std::vector<int> numbers;
};

struct Cleaned {
  std::string text;
  std::vector<Marker> markers;
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsBlank(char c) { return c == ' ' || c == '\t'; }
bool IsSpace(char c) { return IsBlank(c) || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Parses a marker "[1]" / "[1, 2]" at text[i] ('['); its numbers and length.
std::optional<std::pair<Marker, size_t>> ParseMarker(std::string_view text, size_t i) {
  Marker marker;
  size_t j = i + 1;
  while (true) {
    while (j < text.size() && IsBlank(text[j])) ++j;
    const size_t digits = j;
    int n = 0;
    while (j < text.size() && IsDigit(text[j]) && j - digits < kMaxMarkerDigits) {
      n = n * 10 + (text[j] - '0');
      ++j;
    }
    if (j == digits || (j < text.size() && IsDigit(text[j]))) return std::nullopt;
    marker.numbers.push_back(n);
    while (j < text.size() && IsBlank(text[j])) ++j;
    if (j >= text.size()) return std::nullopt;
    if (text[j] == ']') return std::make_pair(std::move(marker), j + 1 - i);
    if (text[j] != ',') return std::nullopt;
    ++j;
  }
}

Cleaned RemoveMarkers(std::string_view raw) {
  Cleaned out;
  out.text.reserve(raw.size());
  size_t i = 0;
  while (i < raw.size()) {
    if (raw[i] == '[') {
      if (auto parsed = ParseMarker(raw, i)) {
        while (!out.text.empty() && IsBlank(out.text.back())) out.text.pop_back();
        parsed->first.at = out.text.size();
        out.markers.push_back(std::move(parsed->first));
        i += parsed->second;
        continue;
      }
    }
    out.text.push_back(raw[i++]);
  }
  // Trim, shifting marker positions with the text.
  size_t lead = 0;
  while (lead < out.text.size() && IsSpace(out.text[lead])) ++lead;
  out.text.erase(0, lead);
  while (!out.text.empty() && IsSpace(out.text.back())) out.text.pop_back();
  for (Marker& m : out.markers) m.at = std::min(m.at > lead ? m.at - lead : 0, out.text.size());
  return out;
}

struct Sentence {
  size_t begin = 0;
  size_t end = 0;
  TermSet terms;
};

struct IndexedPassage {
  const Passage* passage = nullptr;
  TermSet terms;
  std::vector<Sentence> sentences;
};

std::vector<Sentence> Sentences(std::string_view text) {
  std::vector<Sentence> out;
  for (std::string_view s : SplitSentences(text)) {
    const auto begin = static_cast<size_t>(s.data() - text.data());
    out.push_back(Sentence{begin, begin + s.size(), Terms(s)});
  }
  return out;
}

struct Evidence {
  std::vector<CitedSpan> spans;
  std::vector<const IndexedPassage*> passages;  // what support is measured against
  bool verbatim = false;
};

// 3a: the claim verbatim inside one of `allowed`.
std::optional<Evidence> Verbatim(std::string_view claim,
                                 const std::vector<const IndexedPassage*>& allowed) {
  for (const IndexedPassage* p : allowed) {
    const size_t at = p->passage->text.find(claim);
    if (at == std::string::npos) continue;
    return Evidence{{CitedSpan{p->passage->number, at, at + claim.size()}}, {p}, true};
  }
  return std::nullopt;
}

// 3b: the claim as whole passage sentences joined by single spaces, matched
// greedily (longest run of words first) left to right.
std::optional<Evidence> Joined(std::string_view claim,
                               const std::vector<const IndexedPassage*>& allowed) {
  if (claim.size() > kMaxJoinedClaimBytes) return std::nullopt;
  Evidence evidence;
  evidence.verbatim = true;
  size_t from = 0;
  while (from < claim.size()) {
    bool found = false;
    for (size_t to = claim.size(); to > from && !found; --to) {
      if (to < claim.size() && claim[to] != ' ') continue;
      const std::string_view piece = claim.substr(from, to - from);
      for (const IndexedPassage* p : allowed) {
        const std::string& text = p->passage->text;
        for (const Sentence& s : p->sentences) {
          if (std::string_view(text).substr(s.begin, s.end - s.begin) != piece) continue;
          evidence.spans.push_back(CitedSpan{p->passage->number, s.begin, s.end});
          if (std::find(evidence.passages.begin(), evidence.passages.end(), p) ==
              evidence.passages.end()) {
            evidence.passages.push_back(p);
          }
          from = to + 1;
          found = true;
          break;
        }
        if (found) break;
      }
    }
    if (!found) return std::nullopt;
  }
  if (evidence.spans.size() < 2) return std::nullopt;  // one piece is 3a's job
  return evidence;
}

// The span of `p` best matching `terms`: its sentence sharing the most terms
// (the first on ties), or the whole passage when none shares any.
CitedSpan BestSpan(const IndexedPassage& p, const TermSet& terms) {
  size_t best = 0;
  CitedSpan span{p.passage->number, 0, p.passage->text.size()};
  for (const Sentence& s : p.sentences) {
    const size_t shared = SharedCount(terms, s.terms);
    if (shared > best) {
      best = shared;
      span.begin = s.begin;
      span.end = s.end;
    }
  }
  return span;
}

double Support(const TermSet& terms, const std::vector<const IndexedPassage*>& passages) {
  if (terms.empty()) return 0;
  size_t supported = 0;
  for (const std::string& t : terms) {
    const bool found = std::any_of(passages.begin(), passages.end(), [&](const IndexedPassage* p) {
      return std::binary_search(p->terms.begin(), p->terms.end(), t);
    });
    if (found) ++supported;
  }
  return static_cast<double>(supported) / static_cast<double>(terms.size());
}

Citation GroundClaim(std::string_view claim, const TermSet& terms,
                     const std::vector<const IndexedPassage*>& cited, bool marked,
                     double marker_factor) {
  Citation c;
  if (marked && cited.empty()) return c;  // every marker pointed nowhere
  const bool checkable = terms.size() >= kMinClaimTerms;
  if (!marked && !checkable) return c;
  std::optional<Evidence> evidence = Verbatim(claim, cited);
  if (!evidence) evidence = Joined(claim, cited);
  if (!evidence && marked) {
    evidence.emplace();
    for (const IndexedPassage* p : cited) {
      evidence->spans.push_back(BestSpan(*p, terms));
      evidence->passages.push_back(p);
    }
  }
  if (!evidence) {
    const IndexedPassage* best = nullptr;
    double best_share = 0;
    for (const IndexedPassage* p : cited) {
      const double share = Support(terms, {p});
      if (share > best_share) {
        best_share = share;
        best = p;
      }
    }
    if (best == nullptr || best_share < kMinAttribution) return c;
    evidence = Evidence{{BestSpan(*best, terms)}, {best}, false};
  }
  c.spans = std::move(evidence->spans);
  c.verbatim = evidence->verbatim;
  c.support = Support(terms, evidence->passages) * marker_factor;
  return c;
}

}  // namespace

std::string StripMarkers(std::string_view answer) { return RemoveMarkers(answer).text; }

GroundedAnswer Ground(std::string_view answer, std::span<const Passage> passages) {
  Cleaned cleaned = RemoveMarkers(answer);
  GroundedAnswer out;
  out.text = std::move(cleaned.text);

  std::vector<IndexedPassage> indexed;
  indexed.reserve(passages.size());
  for (const Passage& p : passages) {
    indexed.push_back(IndexedPassage{&p, Terms(p.text), Sentences(p.text)});
  }
  std::vector<const IndexedPassage*> all;
  for (const IndexedPassage& p : indexed) all.push_back(&p);
  auto find_passage = [&](int number) -> const IndexedPassage* {
    for (const IndexedPassage& p : indexed) {
      if (p.passage->number == number) return &p;
    }
    return nullptr;
  };

  const std::vector<Sentence> claims = Sentences(out.text);
  // Marker m belongs to the last claim starting at or before it (the first
  // claim for a marker before any text).
  std::vector<std::vector<int>> claim_markers(claims.size());
  for (const Marker& m : cleaned.markers) {
    if (claims.empty()) break;
    size_t k = 0;
    while (k + 1 < claims.size() && claims[k + 1].begin <= m.at) ++k;
    claim_markers[k].insert(claim_markers[k].end(), m.numbers.begin(), m.numbers.end());
  }
  for (const Marker& m : cleaned.markers) {
    for (int n : m.numbers) {
      if (find_passage(n) == nullptr) ++out.invalid_markers;
    }
  }

  double weighted = 0;
  double weight = 0;
  for (size_t k = 0; k < claims.size(); ++k) {
    const Sentence& claim = claims[k];
    const std::string_view text =
        std::string_view(out.text).substr(claim.begin, claim.end - claim.begin);
    const bool marked = !claim_markers[k].empty();
    std::vector<const IndexedPassage*> cited;
    size_t valid = 0;
    for (int n : claim_markers[k]) {
      const IndexedPassage* p = find_passage(n);
      if (p == nullptr) continue;
      ++valid;
      if (std::find(cited.begin(), cited.end(), p) == cited.end()) cited.push_back(p);
    }
    const double factor =
        marked ? static_cast<double>(valid) / static_cast<double>(claim_markers[k].size()) : 1.0;
    Citation c = GroundClaim(text, claim.terms, marked ? cited : all, marked, factor);
    c.answer_begin = claim.begin;
    c.answer_end = claim.end;
    weighted += c.support * static_cast<double>(claim.terms.size());
    weight += static_cast<double>(claim.terms.size());
    out.citations.push_back(std::move(c));
  }
  out.grounding = weight > 0 ? weighted / weight : 0;
  return out;
}

}  // namespace basalt::rag
