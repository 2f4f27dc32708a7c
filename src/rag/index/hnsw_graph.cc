#include "rag/index/hnsw_graph.h"

#include <hnswlib/hnswlib.h>

#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <queue>

#include "core/strings.h"
#include "rag/index/vector_math.h"

namespace basalt::rag {

using Graph = hnswlib::HierarchicalNSW<float>;
using hnswlib::tableint;

namespace {

template <DotFunction kDot>
float InnerProductDistance(const void* a, const void* b, const void* dimensions) {
  return 1.0f - kDot(static_cast<const float*>(a), static_cast<const float*>(b),
                     *static_cast<const size_t*>(dimensions));
}

// hnswlib's InnerProductSpace (distance 1 - a.b) with DotKernel's kernel:
// hnswlib picks its SIMD at compile time, and Debian builds for the baseline
// (SSE), which left two thirds of ingestion in its 4-wide distance. Bound
// directly, so a distance is one indirect call, as with hnswlib's own space.
class DotSpace final : public hnswlib::SpaceInterface<float> {
 public:
  explicit DotSpace(size_t dimensions) : dimensions_(dimensions) {
    const DotFunction kernel = DotKernel();
    distance_ = kernel == &DotAvx512 ? &InnerProductDistance<&DotAvx512>
                : kernel == &DotAvx2 ? &InnerProductDistance<&DotAvx2>
                                     : &InnerProductDistance<&DotPortable>;
  }
  size_t get_data_size() override { return dimensions_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return distance_; }
  void* get_dist_func_param() override { return &dimensions_; }

 private:
  size_t dimensions_;
  hnswlib::DISTFUNC<float> distance_;
};

}  // namespace

struct HnswGraph::State {
  explicit State(int dimensions) : space(static_cast<size_t>(dimensions)) {}
  DotSpace space;  // outlives graph, which points into it
  std::unique_ptr<Graph> graph;
};

namespace {

absl::Status Internal(std::string_view what, const std::exception& e) {
  return absl::InternalError(StrCat("hnswlib ", what, " failed: ", e.what()));
}

// The fields hnswlib's saveIndex writes first, in order (hnswalg.h).
struct SavedFields {
  size_t offset_level0, max_elements, count, size_data_per_element, label_offset, offset_data;
  int max_level;
  tableint entry_point;
  size_t max_m, max_m0, m;
  double mult;
  size_t ef_construction;
};

template <class T>
bool ReadPod(std::ifstream& in, T* value) {
  in.read(reinterpret_cast<char*>(value), sizeof(T));
  return static_cast<bool>(in);
}

absl::Status CheckSavedFields(const std::string& raw_path, int dimensions, uint64_t expected) {
  std::ifstream in(raw_path, std::ios::binary);
  SavedFields f{};
  bool ok = ReadPod(in, &f.offset_level0) && ReadPod(in, &f.max_elements) &&
            ReadPod(in, &f.count) && ReadPod(in, &f.size_data_per_element) &&
            ReadPod(in, &f.label_offset) && ReadPod(in, &f.offset_data) &&
            ReadPod(in, &f.max_level) && ReadPod(in, &f.entry_point) && ReadPod(in, &f.max_m) &&
            ReadPod(in, &f.max_m0) && ReadPod(in, &f.m) && ReadPod(in, &f.mult) &&
            ReadPod(in, &f.ef_construction);
  if (!ok) return absl::DataLossError("the HNSW payload is shorter than hnswlib's header");
  const size_t data_bytes = static_cast<size_t>(dimensions) * sizeof(float);
  const size_t links0 = f.max_m0 * sizeof(tableint) + sizeof(hnswlib::linklistsizeint);
  const bool consistent =
      f.offset_level0 == 0 && f.count == expected && f.count <= (size_t{1} << 32) && f.m >= 2 &&
      f.m <= 10000 && f.max_m == f.m && f.max_m0 == 2 * f.m && f.offset_data == links0 &&
      f.label_offset == links0 + data_bytes &&
      f.size_data_per_element == links0 + data_bytes + sizeof(hnswlib::labeltype) &&
      f.max_level >= -1 && f.max_level < 64 && (f.count == 0 || f.entry_point < f.count);
  if (!consistent) {
    return absl::DataLossError(StrCat("the HNSW payload's fields do not describe ", expected,
                                      " vectors of ", dimensions, " dimensions"));
  }
  return absl::OkStatus();
}

// Whether the loaded graph can be walked safely: every link names an element
// that exists and has the level the link is on, no list is longer than its
// level allows, and the entry point is on the top level. hnswlib's searches
// follow links unchecked, so a graph failing this would read out of bounds.
absl::Status CheckLinks(const Graph& g) {
  const size_t count = g.cur_element_count;
  if (count == 0) return absl::OkStatus();
  auto broken = [](std::string_view why, size_t id) {
    return absl::DataLossError(StrCat("the HNSW graph is damaged: ", why, " at element ", id));
  };
  if (g.element_levels_[g.enterpoint_node_] != g.maxlevel_) {
    return broken("the entry point is not on the top level", g.enterpoint_node_);
  }
  for (size_t id = 0; id < count; ++id) {
    const int levels = g.element_levels_[id];
    if (levels < 0 || levels > g.maxlevel_) return broken("a level out of range", id);
    for (int level = 0; level <= levels; ++level) {
      const unsigned int* list = g.get_linklist_at_level(static_cast<tableint>(id), level);
      const size_t size = g.getListCount(const_cast<unsigned int*>(list));
      if (size > (level == 0 ? g.maxM0_ : g.maxM_)) return broken("an overlong link list", id);
      for (size_t j = 1; j <= size; ++j) {
        if (list[j] >= count || g.element_levels_[list[j]] < level) {
          return broken("a link to a missing element", id);
        }
      }
    }
  }
  return absl::OkStatus();
}

using Candidate = std::pair<float, tableint>;  // (distance, id)
// Max-heap by distance: its top is the worst kept candidate.
using ResultQueue = std::priority_queue<Candidate, std::vector<Candidate>, Graph::CompareByFirst>;

// Greedy descent through the upper layers to the base layer's entry point,
// as hnswlib's searchKnn does.
tableint Descend(const Graph& g, const void* query) {
  tableint current = g.enterpoint_node_;
  float current_distance =
      g.fstdistfunc_(query, g.getDataByInternalId(current), g.dist_func_param_);
  for (int level = g.maxlevel_; level > 0; --level) {
    bool changed = true;
    while (changed) {
      changed = false;
      unsigned int* data = g.get_linklist(current, level);
      int size = g.getListCount(data);
      const tableint* links = data + 1;
      for (int i = 0; i < size; ++i) {
        float d = g.fstdistfunc_(query, g.getDataByInternalId(links[i]), g.dist_func_param_);
        if (d < current_distance) {
          current_distance = d;
          current = links[i];
          changed = true;
        }
      }
    }
  }
  return current;
}

// hnswlib's searchBaseLayerST with a label filter: every node is walked, only
// passing (and live) ones are kept, and the search runs until `ef` are kept
// and the frontier is farther than the worst of them, or until
// `max_distances` distances were computed (then *gave_up is set).
ResultQueue FilteredBaseLayer(const Graph& g, tableint entry, const void* query, size_t ef,
                              const LabelFilter& filter, size_t max_distances, bool* gave_up) {
  hnswlib::VisitedList* visited_list = g.visited_list_pool_->getFreeVisitedList();
  hnswlib::vl_type* visited = visited_list->mass;
  const hnswlib::vl_type tag = visited_list->curV;
  auto keep = [&](tableint id) { return !g.isMarkedDeleted(id) && filter(g.getExternalLabel(id)); };

  ResultQueue top;
  ResultQueue frontier;  // keyed by -distance: its top is the nearest unexpanded
  float bound = std::numeric_limits<float>::max();
  float d = g.fstdistfunc_(query, g.getDataByInternalId(entry), g.dist_func_param_);
  if (keep(entry)) {
    top.emplace(d, entry);
    bound = d;
  }
  frontier.emplace(-d, entry);
  visited[entry] = tag;
  size_t distances = 1;
  while (!frontier.empty()) {
    if (distances > max_distances) {
      *gave_up = true;
      break;
    }
    Candidate current = frontier.top();
    if (-current.first > bound && top.size() == ef) break;
    frontier.pop();
    unsigned int* data = g.get_linklist0(current.second);
    size_t size = g.getListCount(data);
    const tableint* links = data + 1;
    for (size_t j = 0; j < size; ++j) {
      tableint id = links[j];
#ifdef USE_SSE
      if (j + 1 < size) _mm_prefetch(g.getDataByInternalId(links[j + 1]), _MM_HINT_T0);
#endif
      if (visited[id] == tag) continue;
      visited[id] = tag;
      float dist = g.fstdistfunc_(query, g.getDataByInternalId(id), g.dist_func_param_);
      ++distances;
      if (top.size() < ef || dist < bound) {
        frontier.emplace(-dist, id);
        if (keep(id)) {
          top.emplace(dist, id);
          if (top.size() > ef) top.pop();
          bound = top.top().first;
        }
      }
    }
  }
  g.visited_list_pool_->releaseVisitedList(visited_list);
  return top;
}

}  // namespace

HnswGraph::HnswGraph(std::unique_ptr<State> state) : state_(std::move(state)) {}
HnswGraph::~HnswGraph() = default;

absl::StatusOr<std::unique_ptr<HnswGraph>> HnswGraph::Create(const Params& params) {
  auto state = std::make_unique<State>(params.dimensions);
  try {
    state->graph = std::make_unique<Graph>(&state->space, std::max<size_t>(params.capacity, 1),
                                           static_cast<size_t>(params.m),
                                           static_cast<size_t>(params.ef_construction));
  } catch (const std::exception& e) {
    return Internal("create", e);
  }
  return std::unique_ptr<HnswGraph>(new HnswGraph(std::move(state)));
}

absl::StatusOr<std::unique_ptr<HnswGraph>> HnswGraph::Load(const std::string& raw_path,
                                                           int dimensions,
                                                           uint64_t expected_count) {
  if (absl::Status s = CheckSavedFields(raw_path, dimensions, expected_count); !s.ok()) return s;
  auto state = std::make_unique<State>(dimensions);
  // The capacity is ours to choose (hnswlib would take the saved one, which a
  // damaged file could make huge): the elements plus room to grow.
  const size_t capacity = std::max<size_t>(expected_count + expected_count / 2, 1024);
  try {
    state->graph = std::make_unique<Graph>(&state->space, raw_path, false, capacity);
  } catch (const std::exception& e) {
    return absl::DataLossError(StrCat("hnswlib could not load the index: ", e.what()));
  }
  Graph& g = *state->graph;
  if (absl::Status s = CheckLinks(g); !s.ok()) return s;
  // hnswlib's loading constructor leaves num_deleted_ uninitialised before
  // adding to it; recount it from the delete marks.
  g.num_deleted_ = 0;
  for (size_t i = 0; i < g.cur_element_count; ++i) {
    if (g.isMarkedDeleted(static_cast<tableint>(i))) ++g.num_deleted_;
  }
  return std::unique_ptr<HnswGraph>(new HnswGraph(std::move(state)));
}

absl::Status HnswGraph::Save(const std::string& raw_path) const {
  const Graph& g = *state_->graph;
  uint64_t expected = 6 * sizeof(size_t) + sizeof(int) + sizeof(tableint) + 3 * sizeof(size_t) +
                      sizeof(double) + sizeof(size_t) +
                      g.cur_element_count * g.size_data_per_element_;
  for (size_t i = 0; i < g.cur_element_count; ++i) {
    expected += sizeof(unsigned int);
    if (g.element_levels_[i] > 0) expected += g.size_links_per_element_ * g.element_levels_[i];
  }
  try {
    // saveIndex is not const in 0.6.2 but only reads.
    const_cast<Graph&>(g).saveIndex(raw_path);
  } catch (const std::exception& e) {
    return Internal("save", e);
  }
  std::error_code error;
  uint64_t written = std::filesystem::file_size(raw_path, error);
  if (error || written != expected) {
    return absl::InternalError(StrCat("hnswlib wrote ", error ? 0 : written, " bytes to '",
                                      raw_path, "', expected ", expected));
  }
  return absl::OkStatus();
}

int HnswGraph::m() const { return static_cast<int>(state_->graph->M_); }
size_t HnswGraph::capacity() const { return state_->graph->max_elements_; }
size_t HnswGraph::count() const { return state_->graph->cur_element_count; }

absl::StatusOr<uint32_t> HnswGraph::Add(Label label, const float* vector) {
  try {
    return state_->graph->addPoint(vector, label, -1);
  } catch (const std::exception& e) {
    return Internal("add", e);
  }
}

absl::Status HnswGraph::Resize(size_t capacity) {
  try {
    state_->graph->resizeIndex(capacity);
  } catch (const std::exception& e) {
    return Internal("resize", e);
  }
  return absl::OkStatus();
}

absl::Status HnswGraph::MarkDeleted(uint32_t id) {
  try {
    state_->graph->markDeletedInternal(id);
  } catch (const std::exception& e) {
    return Internal("delete", e);
  }
  return absl::OkStatus();
}

bool HnswGraph::IsDeleted(uint32_t id) const { return state_->graph->isMarkedDeleted(id); }
Label HnswGraph::LabelOf(uint32_t id) const { return state_->graph->getExternalLabel(id); }
const float* HnswGraph::VectorOf(uint32_t id) const {
  return reinterpret_cast<const float*>(state_->graph->getDataByInternalId(id));
}

absl::StatusOr<HnswGraph::SearchResult> HnswGraph::Search(const float* query, size_t k, size_t ef,
                                                          const LabelFilter* filter,
                                                          size_t max_distances) const {
  const Graph& g = *state_->graph;
  SearchResult result;
  if (g.cur_element_count == 0) return result;
  try {
    tableint entry = Descend(g, query);
    ResultQueue top;
    if (filter != nullptr) {
      top = FilteredBaseLayer(g, entry, query, ef, *filter, max_distances, &result.gave_up);
      if (result.gave_up) return result;
    } else if (g.num_deleted_ > 0) {
      top = g.searchBaseLayerST<true>(entry, query, ef);
    } else {
      top = g.searchBaseLayerST<false>(entry, query, ef);
    }
    while (top.size() > k) top.pop();
    result.hits.resize(top.size());
    for (size_t i = top.size(); i > 0; --i) {
      result.hits[i - 1] = VectorHit{g.getExternalLabel(top.top().second), 1.0f - top.top().first};
      top.pop();
    }
  } catch (const std::exception& e) {
    return Internal("search", e);
  }
  return result;
}

}  // namespace basalt::rag
