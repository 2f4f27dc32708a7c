#include "models/fake_provider.h"

#include <atomic>
#include <cmath>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/strings.h"

namespace basalt::models {

namespace asio = boost::asio;

struct FakeProvider::Shared {
  std::atomic<int> calls{0};
  std::atomic<int> cancellations{0};
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
  std::atomic<int> open_streams{0};
};

namespace {

// Waits `delay` on the calling coroutine's executor. False when cancelled first.
asio::awaitable<bool> Wait(std::chrono::milliseconds delay, FakeProvider::Shared& shared) {
  if (delay <= std::chrono::milliseconds(0)) co_return true;
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (ec) {
    ++shared.cancellations;
    co_return false;
  }
  co_return true;
}

class InFlight {
 public:
  explicit InFlight(FakeProvider::Shared& shared) : shared_(shared) {
    ++shared_.calls;
    const int now = ++shared_.in_flight;
    int seen = shared_.max_in_flight.load();
    while (now > seen && !shared_.max_in_flight.compare_exchange_weak(seen, now)) {
    }
  }
  ~InFlight() { --shared_.in_flight; }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  FakeProvider::Shared& shared_;
};

int64_t CountWords(std::string_view text) {
  int64_t words = 0;
  bool in_word = false;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

class FakeChatStream final : public ChatStream {
 public:
  FakeChatStream(std::vector<ChatDelta> deltas, std::chrono::milliseconds delta_delay,
                 absl::Status error, std::shared_ptr<FakeProvider::Shared> shared)
      : deltas_(std::move(deltas)),
        delta_delay_(delta_delay),
        error_(std::move(error)),
        shared_(std::move(shared)) {
    ++shared_->open_streams;
  }
  ~FakeChatStream() override { --shared_->open_streams; }

  asio::awaitable<absl::StatusOr<std::optional<ChatDelta>>> Next() override {
    if (next_ < deltas_.size()) {
      // The result is named, not tested inside `if (co_await ...)`: g++ 12 emitted a
      // trap for that form here (nested in another if).
      const bool waited = co_await Wait(delta_delay_, *shared_);
      if (!waited) co_return absl::CancelledError("fake stream read cancelled");
      std::optional<ChatDelta> delta = deltas_[next_++];
      co_return delta;
    }
    if (!error_.ok()) co_return error_;
    co_return std::optional<ChatDelta>();
  }

 private:
  std::vector<ChatDelta> deltas_;
  size_t next_ = 0;
  std::chrono::milliseconds delta_delay_;
  absl::Status error_;
  std::shared_ptr<FakeProvider::Shared> shared_;
};

}  // namespace

FakeProvider::Step FakeProvider::Step::Fail(absl::Status status) {
  Step step;
  step.status = std::move(status);
  return step;
}

FakeProvider::Step FakeProvider::Step::Slow(std::chrono::milliseconds delay) {
  Step step;
  step.delay = delay;
  return step;
}

FakeProvider::Step FakeProvider::Step::Answer(std::string text) {
  Step step;
  ChatResponse response;
  response.content.push_back(ContentBlock::Text(text));
  response.usage.output_tokens = CountWords(text);
  step.chat = std::move(response);
  return step;
}

FakeProvider::FakeProvider(std::string name)
    : name_(std::move(name)), shared_(std::make_shared<Shared>()) {
  models_.push_back(ModelInfo{"fake-1", name_, "fake"});
}

FakeProvider::~FakeProvider() = default;

void FakeProvider::Push(Step step) {
  absl::MutexLock lock(&mu_);
  script_.push_back(std::move(step));
}

void FakeProvider::PushFailures(const absl::Status& status, int times) {
  for (int i = 0; i < times; ++i) Push(Step::Fail(status));
}

void FakeProvider::SetDefault(Step step) {
  absl::MutexLock lock(&mu_);
  default_step_ = std::move(step);
}

void FakeProvider::SetModels(std::vector<ModelInfo> models) {
  absl::MutexLock lock(&mu_);
  models_ = std::move(models);
}

void FakeProvider::SetListError(absl::Status status) {
  absl::MutexLock lock(&mu_);
  list_error_ = std::move(status);
}

int FakeProvider::calls() const { return shared_->calls.load(); }
int FakeProvider::cancellations() const { return shared_->cancellations.load(); }
int FakeProvider::in_flight() const { return shared_->in_flight.load(); }
int FakeProvider::max_in_flight() const { return shared_->max_in_flight.load(); }
int FakeProvider::open_streams() const { return shared_->open_streams.load(); }

std::vector<ChatRequest> FakeProvider::chat_requests() const {
  absl::MutexLock lock(&mu_);
  return chat_requests_;
}

std::vector<EmbeddingRequest> FakeProvider::embed_requests() const {
  absl::MutexLock lock(&mu_);
  return embed_requests_;
}

FakeProvider::Step FakeProvider::Begin() {
  absl::MutexLock lock(&mu_);
  if (script_.empty()) return default_step_;
  Step step = std::move(script_.front());
  script_.pop_front();
  return step;
}

ChatResponse FakeProvider::DefaultAnswer(const ChatRequest& request) const {
  ChatResponse response;
  const std::string text = StrCat(name_, " answered ", request.model);
  response.content.push_back(ContentBlock::Text(text));
  response.usage.output_tokens = CountWords(text);
  return response;
}

std::vector<ChatDelta> FakeProvider::DeltasFor(const ChatResponse& response) {
  std::vector<ChatDelta> deltas;
  ChatDelta start;
  start.type = ChatDelta::Type::kMessageStart;
  start.id = response.id;
  start.model = response.model;
  deltas.push_back(start);
  int index = 0;
  for (const ContentBlock& block : response.content) {
    if (block.type != ContentBlock::Type::kText) continue;
    ChatDelta open;
    open.type = ChatDelta::Type::kBlockStart;
    open.index = index;
    deltas.push_back(open);
    ChatDelta text;
    text.type = ChatDelta::Type::kTextDelta;
    text.index = index;
    text.text = block.text;
    deltas.push_back(text);
    ChatDelta close;
    close.type = ChatDelta::Type::kBlockStop;
    close.index = index++;
    deltas.push_back(close);
  }
  ChatDelta stop;
  stop.type = ChatDelta::Type::kMessageStop;
  stop.stop_reason = response.stop_reason;
  deltas.push_back(stop);
  ChatDelta usage;
  usage.type = ChatDelta::Type::kUsage;
  usage.usage = response.usage;
  deltas.push_back(usage);
  return deltas;
}

asio::awaitable<absl::StatusOr<ChatResponse>> FakeProvider::Chat(const RequestContext& ctx,
                                                                 const ChatRequest& request) {
  InFlight in_flight(*shared_);
  {
    absl::MutexLock lock(&mu_);
    chat_requests_.push_back(request);
  }
  Step step = Begin();
  const bool waited = co_await Wait(step.delay, *shared_);
  if (!waited) co_return absl::CancelledError("fake call cancelled");
  if (!step.status.ok()) co_return step.status;
  ChatResponse response = step.chat ? *step.chat : DefaultAnswer(request);
  if (response.model.empty()) response.model = request.model;
  if (response.id.empty()) response.id = StrCat("fake-", shared_->calls.load());
  if (response.usage.input_tokens == 0) {
    for (const Message& m : request.messages) {
      for (const ContentBlock& b : m.content) response.usage.input_tokens += CountWords(b.text);
    }
  }
  co_return response;
}

asio::awaitable<absl::StatusOr<std::unique_ptr<ChatStream>>> FakeProvider::StreamChat(
    const RequestContext& ctx, const ChatRequest& request) {
  Step step;
  {
    InFlight in_flight(*shared_);
    {
      absl::MutexLock lock(&mu_);
      chat_requests_.push_back(request);
    }
    step = Begin();
    const bool waited = co_await Wait(step.delay, *shared_);
    if (!waited) co_return absl::CancelledError("fake call cancelled");
    if (!step.status.ok()) co_return step.status;
  }
  std::vector<ChatDelta> deltas = step.deltas;
  if (deltas.empty()) {
    ChatResponse response = step.chat ? *step.chat : DefaultAnswer(request);
    if (response.model.empty()) response.model = request.model;
    deltas = DeltasFor(response);
  }
  co_return std::make_unique<FakeChatStream>(std::move(deltas), step.delta_delay, step.stream_error,
                                             shared_);
}

asio::awaitable<absl::StatusOr<EmbeddingResponse>> FakeProvider::Embed(
    const RequestContext& ctx, const EmbeddingRequest& request) {
  InFlight in_flight(*shared_);
  {
    absl::MutexLock lock(&mu_);
    embed_requests_.push_back(request);
  }
  Step step = Begin();
  const bool waited = co_await Wait(step.delay, *shared_);
  if (!waited) co_return absl::CancelledError("fake call cancelled");
  if (!step.status.ok()) co_return step.status;
  if (step.embedding) co_return *step.embedding;
  EmbeddingResponse response;
  response.model = request.model;
  const int dims = request.dimensions.value_or(4) > 0 ? request.dimensions.value_or(4) : 4;
  const float value = 1.0f / std::sqrt(static_cast<float>(dims));
  for (const std::string& input : request.inputs) {
    response.embeddings.emplace_back(static_cast<size_t>(dims), value);
    response.usage.input_tokens += CountWords(input);
  }
  co_return response;
}

asio::awaitable<absl::StatusOr<std::vector<ModelInfo>>> FakeProvider::ListModels(
    const RequestContext& ctx) {
  absl::Status error;
  std::vector<ModelInfo> models;
  {
    absl::MutexLock lock(&mu_);
    error = list_error_;
    models = models_;
  }
  if (!error.ok()) co_return error;
  co_return models;
}

}  // namespace basalt::models
