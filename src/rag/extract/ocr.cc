#include "rag/extract/ocr.h"

#include <dlfcn.h>
#include <leptonica/allheaders.h>
#include <tesseract/baseapi.h>
#include <tesseract/ocrclass.h>

#include "core/strings.h"

namespace basalt::rag::extract {
namespace {

void DeleteEngine(tesseract::TessBaseAPI* api) {
  if (api == nullptr) return;
  api->End();
  delete api;
}

// Bounds the OpenMP teams tesseract starts from this thread. Its parallel
// loops name their team size (num_threads(4)), which overrides
// omp_set_num_threads alone; with dynamic teams on, libgomp also bounds a
// team by nthreads-var. Both functions are found at run time: nothing happens
// when tesseract was built without OpenMP.
void LimitOpenMpThreads(int threads) {
  using SetInt = void (*)(int);
  static const auto set_dynamic = reinterpret_cast<SetInt>(dlsym(RTLD_DEFAULT, "omp_set_dynamic"));
  static const auto set_threads =
      reinterpret_cast<SetInt>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (set_dynamic == nullptr || set_threads == nullptr || threads <= 0) return;
  set_dynamic(1);
  set_threads(threads);
}

}  // namespace

OcrPool::OcrPool(Options options) : options_(std::move(options)) {
  if (options_.max_engines < 1) options_.max_engines = 1;
}

OcrPool::~OcrPool() = default;

std::string OcrPool::Version() { return StrCat("tesseract-", tesseract::TessBaseAPI::Version()); }

int OcrPool::engines_created_for_test() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return created_;
}

absl::StatusOr<OcrPool::Engine> OcrPool::CreateEngine() const {
  Engine engine(new tesseract::TessBaseAPI(), &DeleteEngine);
  engine->SetVariable("debug_file", "/dev/null");
  const char* datapath = options_.datapath.empty() ? nullptr : options_.datapath.c_str();
  if (engine->Init(datapath, options_.language.c_str(), tesseract::OEM_DEFAULT) != 0) {
    return absl::InternalError(StrCat("ocr: tesseract cannot load language '", options_.language,
                                      "' (is its traineddata installed?)"));
  }
  engine->SetVariable("debug_file", "/dev/null");
  engine->SetPageSegMode(tesseract::PSM_AUTO);
  return engine;
}

absl::StatusOr<OcrPool::Engine> OcrPool::Acquire() {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    free_cv_.wait(lock, [&] { return !free_.empty() || created_ < options_.max_engines; });
    if (!free_.empty()) {
      Engine engine = std::move(free_.back());
      free_.pop_back();
      return engine;
    }
    ++created_;  // reserve the slot; the slow Init runs unlocked
  }
  absl::StatusOr<Engine> engine = CreateEngine();
  if (!engine.ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    --created_;
    free_cv_.notify_one();
  }
  return engine;
}

void OcrPool::Release(Engine engine) {
  std::lock_guard<std::mutex> lock(mutex_);
  free_.push_back(std::move(engine));
  free_cv_.notify_one();
}

absl::StatusOr<std::string> OcrPool::Run(tesseract::TessBaseAPI* api, const Deadline& deadline) {
  LimitOpenMpThreads(options_.omp_threads);
  tesseract::ETEXT_DESC monitor;
  monitor.set_deadline_msecs(deadline.RemainingMs());
  const int rc = api->Recognize(&monitor);
  if (monitor.deadline_exceeded()) return DeadlineError(deadline.budget());
  if (rc != 0) return absl::InternalError("ocr: tesseract could not recognise the image");
  std::unique_ptr<char[]> text(api->GetUTF8Text());
  return text == nullptr ? std::string() : std::string(text.get());
}

absl::StatusOr<std::string> OcrPool::Recognize(const OcrImage& image, const Deadline& deadline) {
  if (image.data == nullptr || image.width <= 0 || image.height <= 0) {
    return absl::InvalidArgumentError("ocr: empty image");
  }
  absl::StatusOr<Engine> engine = Acquire();
  if (!engine.ok()) return engine.status();
  absl::StatusOr<std::string> text;
  try {
    (*engine)->SetImage(image.data, image.width, image.height, image.bytes_per_pixel,
                        image.bytes_per_line);
    (*engine)->SetSourceResolution(image.dpi);
    text = Run(engine->get(), deadline);
    (*engine)->Clear();
  } catch (const std::exception& e) {
    text = absl::InternalError(StrCat("ocr: ", e.what()));
  }
  Release(std::move(*engine));
  return text;
}

absl::StatusOr<std::string> OcrPool::RecognizePix(Pix* pix, const Deadline& deadline) {
  if (pix == nullptr) return absl::InvalidArgumentError("ocr: empty image");
  absl::StatusOr<Engine> engine = Acquire();
  if (!engine.ok()) return engine.status();
  absl::StatusOr<std::string> text;
  try {
    (*engine)->SetImage(pix);
    const int res = pixGetXRes(pix);
    (*engine)->SetSourceResolution(res >= 70 && res <= 2400 ? res : 300);
    text = Run(engine->get(), deadline);
    (*engine)->Clear();
  } catch (const std::exception& e) {
    text = absl::InternalError(StrCat("ocr: ", e.what()));
  }
  Release(std::move(*engine));
  return text;
}

}  // namespace basalt::rag::extract
