#include "models/builtin/embedder.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/status/status.h"
#include "models/builtin/utf8.h"

namespace basalt::models::builtin {
namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
constexpr double kWordWeight = 1.0;
constexpr double kBigramWeight = 0.5;
constexpr double kCharGramWeight = 0.25;

struct Fnv1a {
  uint64_t h = kFnvOffset;
  void Add(char c) {
    h ^= static_cast<unsigned char>(c);
    h *= kFnvPrime;
  }
  void Add(std::string_view s) {
    for (char c : s) Add(c);
  }
};

// MurmurHash3's 64-bit finaliser.
uint64_t Fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

struct Feature {
  uint64_t hash;
  double weight;
};

std::string Normalise(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (IsAsciiSpace(c)) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(AsciiLower(c));
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

void AddWordFeatures(std::string_view text, std::vector<Feature>* out) {
  std::string_view previous;
  size_t i = 0;
  while (i < text.size()) {
    if (!IsWordByte(text[i])) {
      ++i;
      continue;
    }
    const size_t start = i;
    while (i < text.size() && IsWordByte(text[i])) ++i;
    const std::string_view word = text.substr(start, i - start);
    out->push_back({StableHash64('w', word), kWordWeight});
    if (!previous.empty()) {
      Fnv1a h;
      h.Add('b');
      h.Add(previous);
      h.Add(' ');
      h.Add(word);
      out->push_back({Fmix64(h.h), kBigramWeight});
    }
    previous = word;
  }
}

void AddCharGrams(std::string_view padded, std::vector<Feature>* out) {
  std::vector<size_t> starts;  // byte offset of each character, then the end
  for (size_t i = 0; i < padded.size(); i += Utf8CharLength(padded, i)) starts.push_back(i);
  starts.push_back(padded.size());
  const size_t chars = starts.size() - 1;
  for (size_t n : {size_t{3}, size_t{4}}) {
    const char tag = n == 3 ? '3' : '4';
    for (size_t k = 0; k + n <= chars; ++k) {
      const std::string_view gram = padded.substr(starts[k], starts[k + n] - starts[k]);
      out->push_back({StableHash64(tag, gram), kCharGramWeight});
    }
  }
}

}  // namespace

uint64_t StableHash64(char tag, std::string_view data) {
  Fnv1a h;
  h.Add(tag);
  h.Add(data);
  return Fmix64(h.h);
}

absl::StatusOr<std::vector<float>> EmbedText(std::string_view text) {
  const std::string norm = Normalise(text);
  if (norm.empty()) return absl::InvalidArgumentError("must not be empty");

  std::vector<Feature> features;
  features.reserve(norm.size() * 2 + 8);
  AddWordFeatures(norm, &features);
  AddCharGrams(" " + norm + " ", &features);
  std::sort(features.begin(), features.end(),
            [](const Feature& a, const Feature& b) { return a.hash < b.hash; });

  std::vector<double> v(kEmbeddingDimensions, 0.0);
  for (size_t i = 0; i < features.size();) {
    size_t j = i;
    while (j < features.size() && features[j].hash == features[i].hash) ++j;
    const uint64_t h = features[i].hash;
    const double sign = (h >> 63) == 0 ? 1.0 : -1.0;
    const double tf_weight = std::sqrt(static_cast<double>(j - i));
    v[h % kEmbeddingDimensions] += sign * features[i].weight * tf_weight;
    i = j;
  }

  double sum_squares = 0;
  for (double x : v) sum_squares += x * x;
  std::vector<float> out(kEmbeddingDimensions, 0.0f);
  if (sum_squares == 0) {
    // Only reachable when signed features cancel exactly (tiny inputs).
    out[StableHash64('t', norm) % kEmbeddingDimensions] = 1.0f;
    return out;
  }
  const double norm2 = std::sqrt(sum_squares);
  for (int i = 0; i < kEmbeddingDimensions; ++i) out[i] = static_cast<float>(v[i] / norm2);
  return out;
}

}  // namespace basalt::models::builtin
