// OcrPool: English (or any installed language) OCR on tesseract with a small
// pool of initialised engines. Creating and initialising an engine costs
// ~100+ ms and tens of MB, so engines are made on first need (at most
// max_engines), handed to one caller at a time and reused. Callers beyond
// max_engines wait for a free engine.
//
// Destroy the pool before static destruction begins (tesseract's dictionary
// cache is a static; engines ended after it leak their dictionaries).
//
// Thread-safety: every method may be called from many threads at once.
// Recognize BLOCKS (run it on the BlockingPool). Tesseract's chatter goes to
// /dev/null (its `debug_file` variable).
//
// Debian's tesseract is built with OpenMP. Its worker threads spin while they
// wait, and on a busy machine that made one page ~4x slower (bench/rag/
// extraction). So the calling thread's OpenMP team is set to
// `omp_threads` (1 by default: parallelism comes from several engines on
// several pool threads) before each recognition, through omp_set_dynamic and
// omp_set_num_threads found at run time (nothing happens without OpenMP).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rag/extract/text_util.h"

struct Pix;
namespace tesseract {
class TessBaseAPI;
}

namespace basalt::rag::extract {

// The largest image recognised: bigger pages are rendered smaller, bigger
// images refused (a decompression bomb or a poster, not a page).
inline constexpr double kMaxOcrPixels = 40e6;  // ~ A3 at 300 dpi

// A grey (1 byte per pixel) or colour (3 or 4) image in memory, rows top-down.
struct OcrImage {
  const unsigned char* data = nullptr;
  int width = 0;
  int height = 0;
  int bytes_per_pixel = 1;
  int bytes_per_line = 0;
  int dpi = 300;
};

class OcrPool {
 public:
  struct Options {
    std::string datapath;  // tessdata folder; empty: tesseract's default (Debian's)
    std::string language = "eng";
    int max_engines = 2;
    int omp_threads = 1;  // 0 leaves OpenMP's default
  };

  explicit OcrPool(Options options);
  ~OcrPool();
  OcrPool(const OcrPool&) = delete;
  OcrPool& operator=(const OcrPool&) = delete;

  // The recognised text (UTF-8, may be empty for a blank page).
  // kDeadlineExceeded when `deadline` passes during recognition; kInternal when
  // an engine cannot be initialised (the language's data is missing) or fails.
  absl::StatusOr<std::string> Recognize(const OcrImage& image, const Deadline& deadline);
  // The same for a leptonica image (1, 8 or 32 bits per pixel; its resolution
  // is used when set, else 300 dpi).
  absl::StatusOr<std::string> RecognizePix(Pix* pix, const Deadline& deadline);

  // "tesseract-5.3.0".
  static std::string Version();
  int engines_created_for_test() const;

 private:
  using Engine = std::unique_ptr<tesseract::TessBaseAPI, void (*)(tesseract::TessBaseAPI*)>;
  absl::StatusOr<Engine> Acquire();
  void Release(Engine engine);
  absl::StatusOr<Engine> CreateEngine() const;
  // Runs recognition on an engine whose image is set.
  absl::StatusOr<std::string> Run(tesseract::TessBaseAPI* api, const Deadline& deadline);

  Options options_;
  mutable std::mutex mutex_;
  std::condition_variable free_cv_;
  std::vector<Engine> free_;  // GUARDED_BY(mutex_)
  int created_ = 0;           // GUARDED_BY(mutex_): engines alive or being created
};

}  // namespace basalt::rag::extract
