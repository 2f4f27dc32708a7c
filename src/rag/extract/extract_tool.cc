// rag_extract_tool: runs basalt's extraction on a file and prints JSON, for
// the extraction bench (bench/rag/extraction/run) and for looking at what a
// document becomes.
//
//   rag_extract_tool [--mime TYPE] [--no-ocr] [--dpi N] [--max-ms N]
//                    [--repeat N] [--text] FILE
//       {"mime","extractor","version","ocr_pages","pages","headings",
//        "warnings","ms":{"init","first","warm_median"},"text"}
//       --text prints only the text. --repeat runs the extraction N more times
//       in the same process and reports the median (OCR engines warm).
//   rag_extract_tool cer REFERENCE HYPOTHESIS
//       prints the character error rate of two UTF-8 text files.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rag/extract/extractor_set.h"
#include "rag/extract/text_metrics.h"

namespace {

using basalt::rag::Extracted;
using basalt::rag::ExtractLimits;
using Clock = std::chrono::steady_clock;

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

int Usage() {
  std::fprintf(stderr,
               "usage: rag_extract_tool [--mime TYPE] [--no-ocr] [--dpi N] [--max-ms N] "
               "[--repeat N] [--text] FILE\n       rag_extract_tool cer REFERENCE HYPOTHESIS\n");
  return 2;
}

int Cer(const std::string& ref_path, const std::string& hyp_path) {
  std::string ref, hyp;
  if (!ReadFile(ref_path, &ref) || !ReadFile(hyp_path, &hyp)) {
    std::fprintf(stderr, "cannot read the files\n");
    return 1;
  }
  std::printf("%.4f\n", basalt::rag::extract::CharacterErrorRate(ref, hyp));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 3 && args[0] == "cer") return Cer(args[1], args[2]);
  std::string mime, file;
  ExtractLimits limits;
  int repeat = 0;
  bool text_only = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "--mime" && has_value) {
      mime = args[++i];
    } else if (a == "--no-ocr") {
      limits.ocr = false;
    } else if (a == "--dpi" && has_value) {
      limits.ocr_dpi = std::atoi(args[++i].c_str());
    } else if (a == "--max-ms" && has_value) {
      limits.max_time = std::chrono::milliseconds(std::atoi(args[++i].c_str()));
    } else if (a == "--repeat" && has_value) {
      repeat = std::max(0, std::atoi(args[++i].c_str()));
    } else if (a == "--text") {
      text_only = true;
    } else if (!a.starts_with("--") && file.empty()) {
      file = a;
    } else {
      return Usage();
    }
  }
  if (file.empty()) return Usage();
  std::string bytes;
  if (!ReadFile(file, &bytes)) {
    std::fprintf(stderr, "cannot read %s\n", file.c_str());
    return 1;
  }
  const auto t0 = Clock::now();
  auto set = basalt::rag::extract::ExtractorSet::Create();
  if (!set.ok()) {
    std::fprintf(stderr, "%s\n", set.status().ToString().c_str());
    return 1;
  }
  const auto t1 = Clock::now();
  absl::StatusOr<Extracted> out = (*set)->Extract(bytes, mime, limits);
  const auto t2 = Clock::now();
  std::vector<double> warm;
  for (int i = 0; i < repeat && out.ok(); ++i) {
    const auto a = Clock::now();
    absl::StatusOr<Extracted> again = (*set)->Extract(bytes, mime, limits);
    warm.push_back(Ms(a, Clock::now()));
  }
  std::sort(warm.begin(), warm.end());
  nlohmann::json j;
  if (!out.ok()) {
    j["error"] = {{"code", std::string(absl::StatusCodeToString(out.status().code()))},
                  {"message", std::string(out.status().message())}};
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 1;
  }
  if (text_only) {
    std::cout << out->text << "\n";
    return 0;
  }
  j["mime"] = out->mime;
  j["extractor"] = out->extractor;
  j["version"] = out->version;
  j["ocr_pages"] = out->ocr_pages;
  j["pages"] = nlohmann::json::array();
  for (const auto& p : out->pages) {
    j["pages"].push_back({{"page", p.page}, {"begin", p.begin}, {"end", p.end}, {"ocr", p.ocr}});
  }
  j["headings"] = nlohmann::json::array();
  for (const auto& h : out->headings) {
    j["headings"].push_back({{"level", h.level},
                             {"text", out->text.substr(h.begin, h.end - h.begin)},
                             {"begin", h.begin},
                             {"end", h.end}});
  }
  j["warnings"] = out->warnings;
  j["ms"] = {{"init", Ms(t0, t1)}, {"first", Ms(t1, t2)}};
  if (!warm.empty()) j["ms"]["warm_median"] = warm[warm.size() / 2];
  j["text"] = out->text;
  std::cout << j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}
