#include "rag/index/hnsw_index.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/strings.h"
#include "rag/index/hnsw_graph.h"
#include "rag/index/index_file.h"
#include "rag/index/vector_math.h"

namespace basalt::rag {
namespace {

constexpr std::string_view kMagic = "BSLTHNSW";

// hnswlib saves to and loads from a path; this gives it one without touching
// the disk: an anonymous memory file reached as /proc/self/fd/N, or, where
// memfd is unavailable, a temporary file beside the index, removed on close.
class ScratchFile {
 public:
  static absl::StatusOr<std::unique_ptr<ScratchFile>> Create(const std::string& beside) {
    int fd = ::memfd_create("basalt-hnsw", MFD_CLOEXEC);
    if (fd >= 0) {
      return std::unique_ptr<ScratchFile>(new ScratchFile(fd, StrCat("/proc/self/fd/", fd), ""));
    }
    static std::atomic<uint64_t> counter{0};
    std::string path = StrCat(beside, ".scratch-", ::getpid(), "-", counter.fetch_add(1));
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
      return absl::InternalError(StrCat("cannot create '", path, "': ", std::strerror(errno)));
    }
    return std::unique_ptr<ScratchFile>(new ScratchFile(fd, path, path));
  }
  ~ScratchFile() {
    ::close(fd_);
    if (!remove_.empty()) ::unlink(remove_.c_str());
  }
  const std::string& path() const { return path_; }

  absl::Status Append(std::string_view chunk) {
    while (!chunk.empty()) {
      ssize_t n = ::write(fd_, chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0)
        return absl::InternalError(StrCat("cannot write scratch file: ", std::strerror(errno)));
      chunk.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }

  // Streams the whole file from its start into `sink`.
  absl::Status CopyTo(const ChunkSink& sink) const {
    std::unique_ptr<char[]> buffer(new char[1 << 20]);
    for (off_t offset = 0;;) {
      ssize_t n = ::pread(fd_, buffer.get(), 1 << 20, offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0)
        return absl::InternalError(StrCat("cannot read scratch file: ", std::strerror(errno)));
      if (n == 0) return absl::OkStatus();
      if (absl::Status s = sink(std::string_view(buffer.get(), static_cast<size_t>(n))); !s.ok()) {
        return s;
      }
      offset += n;
    }
  }

 private:
  ScratchFile(int fd, std::string path, std::string remove)
      : fd_(fd), path_(std::move(path)), remove_(std::move(remove)) {}
  int fd_;
  std::string path_;
  std::string remove_;
};

absl::Status CheckOptions(const HnswOptions& o) {
  auto out_of_range = [](std::string_view name, int value, std::string_view range) {
    return absl::InvalidArgumentError(StrCat(name, " must be ", range, ", not ", value));
  };
  if (o.dimensions < 1) return out_of_range("dimensions", o.dimensions, "at least 1");
  if (o.m < 2 || o.m > 256) return out_of_range("m", o.m, "in [2, 256]");
  if (o.ef_construction < 1)
    return out_of_range("ef_construction", o.ef_construction, "at least 1");
  if (o.ef_search < 1) return out_of_range("ef_search", o.ef_search, "at least 1");
  return absl::OkStatus();
}

}  // namespace

size_t HnswVectorIndex::ExactScanLimit(size_t live) { return std::max<size_t>(2000, live / 4); }

size_t HnswVectorIndex::GraphBudget(size_t live) { return std::max<size_t>(4000, live / 20); }

absl::StatusOr<std::unique_ptr<HnswVectorIndex>> HnswVectorIndex::Open(const HnswOptions& options) {
  if (absl::Status s = CheckOptions(options); !s.ok()) return s;
  std::unique_ptr<HnswGraph> graph;
  if (!options.path.empty()) {
    absl::StatusOr<std::unique_ptr<ScratchFile>> scratch = ScratchFile::Create(options.path);
    if (!scratch.ok()) return scratch.status();
    absl::StatusOr<IndexFileInfo> info =
        ReadIndexFile(options.path, kMagic, static_cast<uint32_t>(options.dimensions),
                      [&](std::string_view chunk) { return (*scratch)->Append(chunk); });
    if (info.ok()) {
      absl::StatusOr<std::unique_ptr<HnswGraph>> loaded =
          HnswGraph::Load((*scratch)->path(), options.dimensions, info->count);
      if (!loaded.ok()) {
        return absl::Status(loaded.status().code(),
                            StrCat("index file '", options.path, "': ", loaded.status().message()));
      }
      graph = *std::move(loaded);
    } else if (!absl::IsNotFound(info.status())) {
      return info.status();
    }
  }
  if (graph == nullptr) {
    absl::StatusOr<std::unique_ptr<HnswGraph>> created = HnswGraph::Create(
        {options.dimensions, options.m, options.ef_construction, options.initial_capacity});
    if (!created.ok()) return created.status();
    graph = *std::move(created);
  }
  return std::unique_ptr<HnswVectorIndex>(new HnswVectorIndex(options, std::move(graph)));
}

HnswVectorIndex::HnswVectorIndex(const HnswOptions& options, std::unique_ptr<HnswGraph> graph)
    : options_(options), graph_(std::move(graph)) {
  absl::WriterMutexLock lock(&mutex_);
  capacity_ = graph_->capacity();
  const size_t d = static_cast<size_t>(options_.dimensions);
  labels_.reset(new Label[capacity_]);
  live_.reset(new std::atomic<uint8_t>[capacity_]);
  codes_.reset(new int8_t[capacity_ * d]);
  scales_.reset(new float[capacity_]);
  const size_t count = graph_->count();
  absl::MutexLock ids_lock(&ids_mutex_);
  ids_.reserve(count);
  size_t live = 0;
  for (size_t id = 0; id < capacity_; ++id) {
    const bool is_live = id < count && !graph_->IsDeleted(static_cast<uint32_t>(id));
    live_[id].store(is_live ? 1 : 0, std::memory_order_relaxed);
    if (id >= count) continue;
    labels_[id] = graph_->LabelOf(static_cast<uint32_t>(id));
    scales_[id] = QuantizeInt8(graph_->VectorOf(static_cast<uint32_t>(id)), d, &codes_[id * d]);
    ids_[labels_[id]] = static_cast<uint32_t>(id);
    live += is_live;
  }
  reserved_.store(count);
  live_count_.store(live);
}

HnswVectorIndex::~HnswVectorIndex() = default;

absl::Status HnswVectorIndex::Add(Label label, std::span<const float> vector) {
  if (absl::Status s = CheckVector(vector, options_.dimensions, "vector"); !s.ok()) return s;
  absl::ReaderMutexLock gate(&add_gate_);
  while (true) {
    {
      absl::ReaderMutexLock lock(&mutex_);
      bool known;
      {
        absl::MutexLock ids_lock(&ids_mutex_);
        known = ids_.contains(label);
      }
      if (known) break;
      if (reserved_.fetch_add(1) < capacity_) {
        absl::StatusOr<uint32_t> id = graph_->Add(label, vector.data());
        if (!id.ok()) return id.status();
        Publish(label, *id, vector.data());
        return absl::OkStatus();
      }
      reserved_.fetch_sub(1);
    }
    absl::WriterMutexLock lock(&mutex_);
    if (reserved_.load() >= capacity_) {
      if (absl::Status s = Grow(); !s.ok()) return s;
    }
  }
  return Replace(label, vector);
}

void HnswVectorIndex::Publish(Label label, uint32_t id, const float* vector) {
  absl::MutexLock ids_lock(&ids_mutex_);
  // Two Adds of the same new label both reach hnswlib, which updates the
  // second in place; the first to get here publishes the id.
  if (!ids_.emplace(label, id).second) return;
  const size_t d = static_cast<size_t>(options_.dimensions);
  labels_[id] = label;
  scales_[id] = QuantizeInt8(vector, d, &codes_[id * d]);
  live_[id].store(1, std::memory_order_release);
  live_count_.fetch_add(1, std::memory_order_relaxed);
}

absl::Status HnswVectorIndex::Replace(Label label, std::span<const float> vector) {
  absl::WriterMutexLock lock(&mutex_);
  absl::StatusOr<uint32_t> id = graph_->Add(label, vector.data());
  if (!id.ok()) return id.status();
  const size_t d = static_cast<size_t>(options_.dimensions);
  scales_[*id] = QuantizeInt8(vector.data(), d, &codes_[*id * d]);
  if (live_[*id].load(std::memory_order_relaxed) == 0) {
    live_[*id].store(1, std::memory_order_release);
    live_count_.fetch_add(1, std::memory_order_relaxed);
  }
  return absl::OkStatus();
}

absl::Status HnswVectorIndex::Grow() {
  const size_t count = graph_->count();
  const size_t capacity = std::max(capacity_ * 2, count + 1);
  if (absl::Status s = graph_->Resize(capacity); !s.ok()) return s;
  const size_t d = static_cast<size_t>(options_.dimensions);
  std::unique_ptr<Label[]> labels(new Label[capacity]);
  std::unique_ptr<std::atomic<uint8_t>[]> live(new std::atomic<uint8_t>[capacity]);
  std::unique_ptr<int8_t[]> codes(new int8_t[capacity * d]);
  std::unique_ptr<float[]> scales(new float[capacity]);
  for (size_t id = 0; id < capacity; ++id) {
    const uint8_t value = id < capacity_ ? live_[id].load(std::memory_order_relaxed) : 0;
    live[id].store(value, std::memory_order_relaxed);
  }
  std::copy(labels_.get(), labels_.get() + count, labels.get());
  std::copy(codes_.get(), codes_.get() + count * d, codes.get());
  std::copy(scales_.get(), scales_.get() + count, scales.get());
  labels_ = std::move(labels);
  live_ = std::move(live);
  codes_ = std::move(codes);
  scales_ = std::move(scales);
  capacity_ = capacity;
  // No Add is in flight under the exclusive lock, so the reservations are
  // exactly the elements hnswlib holds.
  reserved_.store(count);
  return absl::OkStatus();
}

absl::Status HnswVectorIndex::Remove(Label label) {
  absl::WriterMutexLock lock(&mutex_);
  uint32_t id;
  {
    absl::MutexLock ids_lock(&ids_mutex_);
    auto it = ids_.find(label);
    if (it == ids_.end()) return absl::OkStatus();
    id = it->second;
  }
  if (live_[id].load(std::memory_order_relaxed) == 0) return absl::OkStatus();
  if (absl::Status s = graph_->MarkDeleted(id); !s.ok()) return s;
  live_[id].store(0, std::memory_order_relaxed);
  live_count_.fetch_sub(1, std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<VectorHit>> HnswVectorIndex::Search(const VectorQuery& query) const {
  if (absl::Status s = CheckQuery(query, options_.dimensions); !s.ok()) return s;
  const size_t k = static_cast<size_t>(query.k);
  const size_t ef = std::max<size_t>(query.ef > 0 ? query.ef : options_.ef_search, k);
  const float* q = query.vector.data();
  absl::ReaderMutexLock lock(&mutex_);
  const size_t live = live_count_.load(std::memory_order_relaxed);
  if (live == 0) return std::vector<VectorHit>();
  const size_t passing = query.filter == nullptr ? live : std::min(query.passing, live);
  if (passing == 0) return std::vector<VectorHit>();
  if (query.filter != nullptr && passing <= ExactScanLimit(live)) {
    if (!query.passing_labels.empty() && query.passing_labels.size() <= ExactScanLimit(live)) {
      return ScanLabels(q, k, query.passing_labels, *query.filter);
    }
    return Scan(q, k, *query.filter);
  }
  absl::StatusOr<HnswGraph::SearchResult> result =
      graph_->Search(q, k, ef, query.filter, GraphBudget(live));
  if (!result.ok()) return result.status();
  if (!result->gave_up && result->hits.size() >= std::min(k, passing)) {
    return std::move(result->hits);
  }
  // The graph did not reach enough passing labels cheaply (a selective filter
  // whose estimate was missing or overstated, or nodes cut off by removals):
  // the scan answers.
  static const LabelFilter kAll = [](Label) { return true; };
  return Scan(q, k, query.filter != nullptr ? *query.filter : kAll);
}

std::vector<VectorHit> HnswVectorIndex::Scan(const float* query, size_t k,
                                             const LabelFilter& filter) const {
  const size_t bound = std::min(reserved_.load(std::memory_order_acquire), capacity_);
  // The passing ids first (a sequential pass over labels_ and live_), so the
  // scoring pass can prefetch the codes it reads next.
  std::vector<uint32_t> ids;
  for (size_t id = 0; id < bound; ++id) {
    if (live_[id].load(std::memory_order_acquire) != 0 && filter(labels_[id])) {
      ids.push_back(static_cast<uint32_t>(id));
    }
  }
  return ScoreIds(query, k, ids);
}

std::vector<VectorHit> HnswVectorIndex::ScanLabels(const float* query, size_t k,
                                                   std::span<const Label> labels,
                                                   const LabelFilter& filter) const {
  const size_t bound = std::min(reserved_.load(std::memory_order_acquire), capacity_);
  std::vector<uint32_t> ids;
  ids.reserve(labels.size());
  {
    absl::MutexLock ids_lock(&ids_mutex_);
    for (Label label : labels) {
      auto it = ids_.find(label);
      if (it != ids_.end() && it->second < bound) ids.push_back(it->second);
    }
  }
  // Ascending ids read the codes in memory order; the filter still decides.
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::erase_if(ids, [&](uint32_t id) {
    return live_[id].load(std::memory_order_acquire) == 0 || !filter(labels_[id]);
  });
  return ScoreIds(query, k, ids);
}

std::vector<VectorHit> HnswVectorIndex::ScoreIds(const float* query, size_t k,
                                                 const std::vector<uint32_t>& ids) const {
  const size_t d = static_cast<size_t>(options_.dimensions);
  std::vector<int8_t> query_code(d);
  const float query_scale = QuantizeInt8(query, d, query_code.data());
  // Candidates by the int8 score, keyed by internal id; then the float rescore.
  constexpr size_t kAhead = 4;
  TopK candidates(4 * k + 32);
  for (size_t j = 0; j < ids.size(); ++j) {
    if (j + kAhead < ids.size()) {
      const int8_t* next = &codes_[ids[j + kAhead] * d];
      for (size_t offset = 0; offset < d; offset += 64) __builtin_prefetch(next + offset);
    }
    const size_t id = ids[j];
    const float score = static_cast<float>(DotInt8(query_code.data(), &codes_[id * d], d)) *
                        scales_[id] * query_scale;
    if (candidates.Accepts(score, id)) candidates.Offer(score, id);
  }
  TopK top(k);
  for (const VectorHit& candidate : candidates.Take()) {
    const uint32_t id = static_cast<uint32_t>(candidate.label);
    top.Offer(Dot(query, graph_->VectorOf(id), d), labels_[id]);
  }
  return top.Take();
}

absl::Status HnswVectorIndex::Save(const std::string& path) const {
  absl::WriterMutexLock gate(&add_gate_);
  absl::ReaderMutexLock lock(&mutex_);
  absl::StatusOr<std::unique_ptr<ScratchFile>> scratch = ScratchFile::Create(path);
  if (!scratch.ok()) return scratch.status();
  if (absl::Status s = graph_->Save((*scratch)->path()); !s.ok()) return s;
  return WriteIndexFile(path, kMagic, static_cast<uint32_t>(options_.dimensions), graph_->count(),
                        [&](const ChunkSink& sink) { return (*scratch)->CopyTo(sink); });
}

}  // namespace basalt::rag
