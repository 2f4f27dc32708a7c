// rag_vector_bench: the C++ side of bench/rag/vector/run.
//
//   rag_vector_bench embed <corpus.jsonl> <out_dir> [base] [queries]
//     Cuts every SciFact title + abstract into windows of 24 words (stride
//     10), embeds them with the builtin embedder, shuffles them (fixed seed)
//     and writes the first `base` (100000) to out_dir/base.f32 and the next
//     `queries` (1000) to out_dir/queries.f32: raw little-endian float32 rows.
//   rag_vector_bench serve <base.f32> <queries.f32> <truth.i32> <m> <ef_construction> [index]
//     Builds an HnswVectorIndex single-threaded (prints the build time; with
//     `index`, saves it there, or loads it when it is already there), then
//     answers commands on stdin, one JSON line each:
//       search <ef>                    unfiltered k=10 over all queries
//       filtered <per_million> <ef>    k=10 with a filter passing per_million
//       plans <per_million> <ef>       the same, forced once through the
//                                      scan and once through the graph
//     truth.i32 holds the exact top-10 labels per query (numpy brute force).
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "models/builtin/embedder.h"
#include "rag/index/exact_vector_index.h"
#include "rag/index/hnsw_index.h"

namespace basalt::rag {
namespace {

constexpr int kDims = models::builtin::kEmbeddingDimensions;
constexpr int kK = 10;

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<float> ReadFloats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::vector<float> out(bytes.size() / sizeof(float));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
  return out;
}

void WriteFloats(const std::string& path, const std::vector<std::vector<float>>& rows) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (const auto& row : rows) {
    out.write(reinterpret_cast<const char*>(row.data()),
              static_cast<std::streamsize>(row.size() * sizeof(float)));
  }
}

int Embed(const std::string& corpus, const std::string& out_dir, size_t base, size_t queries) {
  std::ifstream in(corpus);
  if (!in) {
    std::cerr << "cannot read " << corpus << "\n";
    return 1;
  }
  std::vector<std::string> texts;
  for (std::string line; std::getline(in, line);) {
    nlohmann::json doc = nlohmann::json::parse(line);
    std::istringstream words(doc.value("title", "") + " " + doc.value("text", ""));
    std::vector<std::string> w{std::istream_iterator<std::string>(words), {}};
    for (size_t start = 0; start < w.size(); start += 10) {
      std::string text;
      for (size_t i = start; i < std::min(w.size(), start + 24); ++i) text += w[i] + " ";
      texts.push_back(std::move(text));
      if (start + 24 >= w.size()) break;
    }
  }
  std::mt19937_64 rng(1);
  std::shuffle(texts.begin(), texts.end(), rng);
  if (texts.size() < base + queries) {
    std::cerr << "only " << texts.size() << " windows\n";
    return 1;
  }
  const double start = WallSeconds();
  std::vector<std::vector<float>> vectors;
  for (size_t i = 0; i < base + queries; ++i) {
    absl::StatusOr<std::vector<float>> v = models::builtin::EmbedText(texts[i]);
    if (!v.ok()) {
      std::cerr << v.status() << "\n";
      return 1;
    }
    vectors.push_back(*std::move(v));
  }
  const double seconds = WallSeconds() - start;
  WriteFloats(out_dir + "/base.f32", {vectors.begin(), vectors.begin() + base});
  WriteFloats(out_dir + "/queries.f32", {vectors.begin() + base, vectors.end()});
  std::cout << nlohmann::json{{"windows", texts.size()},
                              {"embedded", vectors.size()},
                              {"embed_seconds", seconds}}
                   .dump()
            << "\n";
  return 0;
}

bool Passes(Label label, uint64_t per_million) {
  uint64_t h = label * 0x9E3779B97F4A7C15ULL;
  h ^= h >> 31;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 29;
  return h % 1000000 < per_million;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

int Serve(const std::string& base_path, const std::string& queries_path,
          const std::string& truth_path, int m, int ef_construction,
          const std::string& index_path) {
  const std::vector<float> base = ReadFloats(base_path);
  const std::vector<float> queries = ReadFloats(queries_path);
  const size_t n = base.size() / kDims;
  const size_t q = queries.size() / kDims;
  std::vector<int32_t> truth(q * kK);
  {
    std::ifstream in(truth_path, std::ios::binary);
    in.read(reinterpret_cast<char*>(truth.data()),
            static_cast<std::streamsize>(truth.size() * sizeof(int32_t)));
  }
  HnswOptions options;
  options.dimensions = kDims;
  options.m = m;
  options.ef_construction = ef_construction;
  options.initial_capacity = n;
  options.path = index_path;
  double wall = WallSeconds();
  double cpu = CpuSeconds();
  auto index = HnswVectorIndex::Open(options);
  if (!index.ok()) {
    std::cerr << index.status() << "\n";
    return 1;
  }
  if ((*index)->size() == n) {
    std::cout << nlohmann::json{{"event", "loaded"},
                                {"n", n},
                                {"queries", q},
                                {"load_wall_s", WallSeconds() - wall}}
                     .dump()
              << std::endl;
  } else {
    wall = WallSeconds();
    cpu = CpuSeconds();
    for (size_t i = 0; i < n; ++i) {
      if (absl::Status s = (*index)->Add(i, {&base[i * kDims], kDims}); !s.ok()) {
        std::cerr << s << "\n";
        return 1;
      }
    }
    nlohmann::json built = {{"event", "built"},
                            {"n", n},
                            {"queries", q},
                            {"build_wall_s", WallSeconds() - wall},
                            {"build_cpu_s", CpuSeconds() - cpu}};
    if (!index_path.empty()) {
      wall = WallSeconds();
      if (absl::Status s = (*index)->Save(index_path); !s.ok()) {
        std::cerr << s << "\n";
        return 1;
      }
      built["save_wall_s"] = WallSeconds() - wall;
    }
    std::cout << built.dump() << std::endl;
  }
  std::unique_ptr<ExactVectorIndex> exact;  // built on the first filtered command

  for (std::string line; std::getline(std::cin, line);) {
    std::istringstream command(line);
    std::string verb;
    command >> verb;
    uint64_t per_million = 0;
    int ef = 0;
    if (verb == "search") {
      command >> ef;
    } else if (verb == "filtered" || verb == "plans") {
      command >> per_million >> ef;
    } else {
      break;
    }
    LabelFilter filter = [per_million](Label l) { return Passes(l, per_million); };
    size_t passing = 0;
    if (verb != "search") {
      for (size_t i = 0; i < n; ++i) passing += filter(i);
      if (exact == nullptr) {
        exact = *ExactVectorIndex::Open("", kDims);
        for (size_t i = 0; i < n; ++i) (void)exact->Add(i, {&base[i * kDims], kDims});
      }
    }
    std::vector<std::vector<Label>> expected(q);
    for (size_t i = 0; i < q; ++i) {
      if (verb == "search") {
        expected[i].assign(truth.begin() + i * kK, truth.begin() + (i + 1) * kK);
      } else {
        VectorQuery query{{&queries[i * kDims], kDims}, kK, &filter, passing};
        absl::StatusOr<std::vector<VectorHit>> hits = exact->Search(query);
        for (const VectorHit& h : *hits) expected[i].push_back(h.label);
      }
    }
    // One pass over the queries; `hint` is the passing estimate given to the
    // index (the true count, or 1 / n to force the exact scan / the graph).
    auto pass = [&](size_t hint) {
      std::vector<double> latencies;
      double found = 0, wanted = 0, short_answers = 0;
      const double wall_start = WallSeconds();
      const double cpu_start = CpuSeconds();
      for (size_t i = 0; i < q; ++i) {
        VectorQuery query{{&queries[i * kDims], kDims}, kK};
        query.ef = ef;
        if (verb != "search") {
          query.filter = &filter;
          query.passing = hint;
        }
        const auto t0 = std::chrono::steady_clock::now();
        absl::StatusOr<std::vector<VectorHit>> hits = (*index)->Search(query);
        latencies.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                .count());
        if (!hits.ok()) {
          std::cerr << hits.status() << "\n";
          std::exit(1);
        }
        short_answers += hits->size() < std::min<size_t>(kK, expected[i].size());
        for (Label t : expected[i]) {
          for (const VectorHit& h : *hits) found += h.label == t;
        }
        wanted += static_cast<double>(expected[i].size());
      }
      const double wall_s = WallSeconds() - wall_start;
      const double cpu_s = CpuSeconds() - cpu_start;
      return nlohmann::json{{"recall", found / wanted},
                            {"qps_wall", double(q) / wall_s},
                            {"qps_cpu", double(q) / cpu_s},
                            {"p50_us", Percentile(latencies, 0.5)},
                            {"p99_us", Percentile(latencies, 0.99)},
                            {"short_answers", short_answers}};
    };
    nlohmann::json out;
    if (verb == "plans") {
      out = {{"exact", pass(1)}, {"graph", pass(n)}};
    } else {
      out = pass(passing);
    }
    out["event"] = verb;
    out["ef"] = ef;
    if (verb != "search") {
      out["per_million"] = per_million;
      out["passing"] = passing;
      out["plan"] = passing <= HnswVectorIndex::ExactScanLimit(n) ? "scan" : "graph";
    }
    std::cout << out.dump() << std::endl;
  }
  return 0;
}

}  // namespace
}  // namespace basalt::rag

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() >= 3 && args[0] == "embed") {
    return basalt::rag::Embed(args[1], args[2], args.size() > 3 ? std::stoul(args[3]) : 100000,
                              args.size() > 4 ? std::stoul(args[4]) : 1000);
  }
  if ((args.size() == 6 || args.size() == 7) && args[0] == "serve") {
    return basalt::rag::Serve(args[1], args[2], args[3], std::stoi(args[4]), std::stoi(args[5]),
                              args.size() == 7 ? args[6] : "");
  }
  std::cerr
      << "usage: rag_vector_bench embed <corpus.jsonl> <out_dir> [base] [queries]\n"
         "       rag_vector_bench serve <base.f32> <queries.f32> <truth.i32> <m> <efc> [index]\n";
  return 2;
}
