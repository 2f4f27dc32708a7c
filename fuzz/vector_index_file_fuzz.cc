// Fuzzer for HnswVectorIndex::Open on files whose checksum is right but whose
// payload is anything (hnswlib's loader trusts its input; ours must not):
// the input is written as the payload of a well-formed "BSLTHNSW" file of 4
// dimensions, its count taken from the payload's own count field so the
// loader gets past the header. Open must return OK or kDataLoss, never crash;
// an index that opens must then search, filter, add and remove without fault.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "rag/index/hnsw_index.h"
#include "rag/index/index_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = (std::filesystem::temp_directory_path() /
                                   ("basalt_vector_index_file_fuzz_" + std::to_string(::getpid())))
                                      .string();
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  uint64_t count = 0;
  if (size >= 24) std::memcpy(&count, data + 16, sizeof(count));  // hnswlib's cur_element_count
  auto produce = [&](const basalt::rag::ChunkSink& sink) { return sink(payload); };
  if (!basalt::rag::WriteIndexFile(path, "BSLTHNSW", 4, count, produce).ok()) std::abort();

  basalt::rag::HnswOptions options;
  options.path = path;
  options.dimensions = 4;
  auto index = basalt::rag::HnswVectorIndex::Open(options);
  std::filesystem::remove(path);
  if (!index.ok()) {
    if (index.status().code() != absl::StatusCode::kDataLoss) std::abort();
    return 0;
  }
  const float v[4] = {0.5f, 0.5f, 0.5f, 0.5f};
  basalt::rag::LabelFilter even = [](basalt::rag::Label l) { return l % 2 == 0; };
  for (int ef : {0, 200}) {
    basalt::rag::VectorQuery query{v, 10};
    query.ef = ef;
    if (!(*index)->Search(query).ok()) std::abort();
    query.filter = &even;
    if (!(*index)->Search(query).ok()) std::abort();
    query.passing = 1;
    if (!(*index)->Search(query).ok()) std::abort();
  }
  if (!(*index)->Add(12345, v).ok()) std::abort();
  if (!(*index)->Remove(12345).ok()) std::abort();
  return 0;
}
