// rag_chunk_tool: chunks a corpus and reports the speed, for
// bench/rag/chunking/run (bench/rag/chunking/peer.mjs is its LangChain.js twin;
// both build the same input bytes).
//
//   rag_chunk_tool --corpus corpus.jsonl [--strategy DEFAULT] [--max-tokens 300]
//                  [--overlap-percentage 20] [--target-mb 50] [--mode concat|docs]
//                  [--iterations 3] [--dump N]
//
// The input: each JSONL record's title, a blank line and its text; records
// joined by blank lines, the whole repeated until it reaches --target-mb.
// --mode concat chunks that as one document; --mode docs chunks each record
// (each repetition) as its own document. Prints one JSON line with the
// median of --iterations timed runs, wall clock and process CPU time.
// --dump N prints the first N chunks to stderr, to look at.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "models/builtin/tokenizer.h"
#include "nlohmann/json.hpp"
#include "rag/chunk/chunker.h"

namespace {

struct Options {
  std::string corpus;
  std::string strategy = "DEFAULT";
  int max_tokens = 300;
  int overlap_percentage = 20;
  double target_mb = 50;
  std::string mode = "concat";
  int iterations = 3;
  int dump = 0;  // print the first N chunks to stderr
};

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--corpus") o->corpus = value;
    else if (flag == "--strategy") o->strategy = value;
    else if (flag == "--max-tokens") o->max_tokens = std::atoi(value);
    else if (flag == "--overlap-percentage") o->overlap_percentage = std::atoi(value);
    else if (flag == "--target-mb") o->target_mb = std::atof(value);
    else if (flag == "--mode") o->mode = value;
    else if (flag == "--iterations") o->iterations = std::max(1, std::atoi(value));
    else if (flag == "--dump") o->dump = std::atoi(value);
    else return false;
  }
  return argc % 2 == 1 && !o->corpus.empty() && (o->mode == "concat" || o->mode == "docs");
}

double CpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// Each record's "title\n\ntext", repeated until the joined size reaches target bytes.
std::vector<std::string> LoadRecords(const std::string& path, size_t target) {
  std::ifstream in(path);
  std::vector<std::string> once;
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) continue;
    once.push_back(j.value("title", "") + "\n\n" + j.value("text", ""));
  }
  std::vector<std::string> records;
  size_t bytes = 0;
  while (!once.empty() && bytes < target) {
    for (const std::string& r : once) {
      bytes += r.size() + (records.empty() ? 0 : 2);
      records.push_back(r);
    }
  }
  return records;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) {
    std::fprintf(stderr,
                 "usage: rag_chunk_tool --corpus FILE.jsonl [--strategy DEFAULT] [--max-tokens N]"
                 " [--overlap-percentage P] [--target-mb MB] [--mode concat|docs]"
                 " [--iterations N] [--dump N]\n");
    return 2;
  }
  nlohmann::json config_json = {{"chunkingStrategy", o.strategy}};
  if (o.strategy == "FIXED_SIZE") {
    config_json["fixedSizeChunkingConfiguration"] = {{"maxTokens", o.max_tokens},
                                                     {"overlapPercentage", o.overlap_percentage}};
  } else if (o.strategy == "MARKDOWN") {
    config_json["markdownChunkingConfiguration"] = {{"maxTokens", o.max_tokens}};
  }
  auto config = basalt::rag::ParseChunkingConfig(config_json);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  if (o.strategy == "DEFAULT") config->max_tokens = o.max_tokens;

  const std::vector<std::string> records =
      LoadRecords(o.corpus, static_cast<size_t>(o.target_mb * 1e6));
  std::vector<basalt::rag::Extracted> docs;
  if (o.mode == "concat") {
    docs.emplace_back();
    for (const std::string& r : records) {
      if (!docs[0].text.empty()) docs[0].text += "\n\n";
      docs[0].text += r;
    }
  } else {
    for (const std::string& r : records) docs.emplace_back().text = r;
  }
  size_t bytes = 0;
  for (const auto& d : docs) bytes += d.text.size();
  if (o.mode == "docs") bytes += 2 * (docs.size() - 1);  // the same input size as concat

  std::vector<double> seconds;
  std::vector<double> cpu_seconds;
  size_t chunks = 0;
  size_t chunk_chars = 0;
  int64_t chunk_tokens = 0;
  for (int it = 0; it < o.iterations; ++it) {
    chunks = 0;
    chunk_chars = 0;
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = CpuSeconds();
    for (const auto& d : docs) {
      auto out = basalt::rag::ChunkDocument(d, *config);
      if (!out.ok()) {
        std::fprintf(stderr, "%s\n", std::string(out.status().message()).c_str());
        return 1;
      }
      chunks += out->size();
      for (const auto& c : *out) chunk_chars += c.text.size();
      if (it == 0) {
        for (const auto& c : *out) {
          chunk_tokens += basalt::models::builtin::CountTokens(c.text);
          if (o.dump-- > 0) {
            std::cerr << "--- [" << c.begin << ", " << c.end << ") "
                      << basalt::models::builtin::CountTokens(c.text) << " tokens\n"
                      << c.text << "\n";
          }
        }
      }
    }
    cpu_seconds.push_back(CpuSeconds() - cpu_start);
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  std::sort(cpu_seconds.begin(), cpu_seconds.end());
  const double median = seconds[seconds.size() / 2];
  const double cpu_median = cpu_seconds[cpu_seconds.size() / 2];
  const nlohmann::json report = {
      {"tool", "basalt"},
      {"strategy", o.strategy},
      {"mode", o.mode},
      {"bytes", bytes},
      {"docs", docs.size()},
      {"chunks", chunks},
      {"mean_chunk_bytes", chunks ? static_cast<double>(chunk_chars) / chunks : 0.0},
      {"mean_chunk_tokens", chunks ? static_cast<double>(chunk_tokens) / chunks : 0.0},
      {"seconds", median},
      {"cpu_seconds", cpu_median},
      {"mb_per_s", bytes / 1e6 / median},
      {"mb_per_cpu_s", bytes / 1e6 / cpu_median},
      {"chunks_per_s", chunks / median}};
  std::cout << report.dump() << "\n";
  return 0;
}
