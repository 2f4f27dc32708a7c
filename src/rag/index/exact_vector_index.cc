#include "rag/index/exact_vector_index.h"

#include <bit>
#include <cstring>

#include "core/strings.h"
#include "rag/index/index_file.h"
#include "rag/index/vector_math.h"

namespace basalt::rag {
namespace {

constexpr std::string_view kMagic = "BSLTFLAT";
// The payload is the in-memory arrays byte for byte.
static_assert(std::endian::native == std::endian::little, "index files are little-endian");

}  // namespace

absl::StatusOr<std::unique_ptr<ExactVectorIndex>> ExactVectorIndex::Open(const std::string& path,
                                                                         int dimensions) {
  if (dimensions < 1) {
    return absl::InvalidArgumentError(StrCat("dimensions must be at least 1, not ", dimensions));
  }
  std::unique_ptr<ExactVectorIndex> index(new ExactVectorIndex(dimensions));
  if (path.empty()) return index;
  std::string payload;
  absl::StatusOr<IndexFileInfo> info =
      ReadIndexFile(path, kMagic, static_cast<uint32_t>(dimensions), [&](std::string_view chunk) {
        payload.append(chunk.data(), chunk.size());
        return absl::OkStatus();
      });
  if (absl::IsNotFound(info.status())) return index;
  if (!info.ok()) return info.status();
  const size_t per_entry = sizeof(Label) + sizeof(float) * static_cast<size_t>(dimensions);
  if (info->count > payload.size() / per_entry || payload.size() != info->count * per_entry) {
    return absl::DataLossError(StrCat("index file '", path, "' holds ", payload.size(),
                                      " payload bytes, not ", info->count, " entries"));
  }
  const size_t n = static_cast<size_t>(info->count);
  absl::WriterMutexLock lock(&index->mutex_);
  index->labels_.resize(n);
  index->vectors_.resize(n * static_cast<size_t>(dimensions));
  std::memcpy(index->labels_.data(), payload.data(), n * sizeof(Label));
  std::memcpy(index->vectors_.data(), payload.data() + n * sizeof(Label),
              index->vectors_.size() * sizeof(float));
  index->slots_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (!index->slots_.emplace(index->labels_[i], static_cast<uint32_t>(i)).second) {
      return absl::DataLossError(
          StrCat("index file '", path, "' holds label ", index->labels_[i], " twice"));
    }
  }
  return index;
}

size_t ExactVectorIndex::size() const {
  absl::ReaderMutexLock lock(&mutex_);
  return labels_.size();
}

absl::Status ExactVectorIndex::Add(Label label, std::span<const float> vector) {
  if (absl::Status s = CheckVector(vector, dimensions_, "vector"); !s.ok()) return s;
  absl::WriterMutexLock lock(&mutex_);
  auto [it, inserted] = slots_.emplace(label, static_cast<uint32_t>(labels_.size()));
  if (inserted) {
    labels_.push_back(label);
    vectors_.insert(vectors_.end(), vector.begin(), vector.end());
  } else {
    std::copy(vector.begin(), vector.end(),
              vectors_.begin() + static_cast<ptrdiff_t>(it->second) * dimensions_);
  }
  return absl::OkStatus();
}

absl::Status ExactVectorIndex::Remove(Label label) {
  absl::WriterMutexLock lock(&mutex_);
  auto it = slots_.find(label);
  if (it == slots_.end()) return absl::OkStatus();
  const size_t slot = it->second;
  const size_t last = labels_.size() - 1;
  const size_t d = static_cast<size_t>(dimensions_);
  slots_.erase(it);
  if (slot != last) {
    labels_[slot] = labels_[last];
    std::memcpy(&vectors_[slot * d], &vectors_[last * d], d * sizeof(float));
    slots_[labels_[slot]] = static_cast<uint32_t>(slot);
  }
  labels_.pop_back();
  vectors_.resize(last * d);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<VectorHit>> ExactVectorIndex::Search(const VectorQuery& query) const {
  if (absl::Status s = CheckQuery(query, dimensions_); !s.ok()) return s;
  const size_t d = static_cast<size_t>(dimensions_);
  const float* q = query.vector.data();
  absl::ReaderMutexLock lock(&mutex_);
  TopK top(static_cast<size_t>(query.k));
  const size_t n = labels_.size();
  const float* v = vectors_.data();
  if (query.filter == nullptr) {
    for (size_t i = 0; i < n; ++i) {
      float score = Dot(q, v + i * d, d);
      if (top.Accepts(score, labels_[i])) top.Offer(score, labels_[i]);
    }
  } else {
    const LabelFilter& filter = *query.filter;
    for (size_t i = 0; i < n; ++i) {
      if (!filter(labels_[i])) continue;
      float score = Dot(q, v + i * d, d);
      if (top.Accepts(score, labels_[i])) top.Offer(score, labels_[i]);
    }
  }
  return top.Take();
}

absl::Status ExactVectorIndex::Save(const std::string& path) const {
  absl::ReaderMutexLock lock(&mutex_);
  return WriteIndexFile(
      path, kMagic, static_cast<uint32_t>(dimensions_), labels_.size(),
      [&](const ChunkSink& sink) -> absl::Status {
        if (absl::Status s = sink(std::string_view(reinterpret_cast<const char*>(labels_.data()),
                                                   labels_.size() * sizeof(Label)));
            !s.ok()) {
          return s;
        }
        return sink(std::string_view(reinterpret_cast<const char*>(vectors_.data()),
                                     vectors_.size() * sizeof(float)));
      });
}

}  // namespace basalt::rag
