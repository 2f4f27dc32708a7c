// FakeProvider: a scriptable in-memory ModelProvider for tests of anything that
// calls models (the router, the serving APIs, the patterns).
//
//   auto fake = std::make_unique<FakeProvider>("openai");
//   fake->Push(FakeProvider::Step::Fail(absl::UnavailableError("502")));  // 1st call
//   fake->Push(FakeProvider::Step::Answer("hello"));                      // 2nd call
//   fake->SetDefault(FakeProvider::Step::Slow(std::chrono::milliseconds(50)));  // later calls
//
// Every Chat, StreamChat and Embed call takes the next scripted Step (FIFO,
// shared by the three kinds) or, when the script is empty, the default Step
// (an immediate answer). A Step can fail, answer after a delay (an asio timer,
// so the io thread never blocks), return a given answer, or stream given deltas
// and then fail mid-stream. A delay that is cancelled (asio per-operation
// cancellation, e.g. the router's per-attempt timer) ends the call with
// kCancelled and is counted in cancellations().
//
// Unscripted answers are deterministic: the text is "<provider> answered
// <model>", usage counts words (input: every text block of the request; output:
// the answer), and embeddings are unit vectors of `dimensions` (default 4).
//
// Thread-safe: script and observe from the test thread while calls run anywhere.
// Streams it returns may outlive it.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "models/provider.h"

namespace basalt::models {

class FakeProvider final : public ModelProvider {
 public:
  struct Step {
    absl::Status status;                 // not OK: the call fails with it, after `delay`
    std::chrono::milliseconds delay{0};  // before answering (StreamChat: before the stream opens)
    std::optional<ChatResponse> chat;    // Chat's answer and StreamChat's deltas' source
    std::vector<ChatDelta> deltas;       // StreamChat: exactly these, when not empty
    std::chrono::milliseconds delta_delay{0};  // StreamChat: before each delta
    absl::Status stream_error;                 // StreamChat: not OK: after the deltas, fail with it
    std::optional<EmbeddingResponse> embedding;  // Embed's answer

    static Step Ok() { return Step{}; }
    static Step Fail(absl::Status status);
    static Step Slow(std::chrono::milliseconds delay);
    static Step Answer(std::string text);
  };

  explicit FakeProvider(std::string name);
  ~FakeProvider() override;

  // Scripting.
  void Push(Step step);
  void PushFailures(const absl::Status& status, int times);
  void SetDefault(Step step);
  void SetModels(std::vector<ModelInfo> models);  // ListModels' answer
  void SetListError(absl::Status status);         // ListModels fails with it when not OK

  // Observations.
  int calls() const;          // Chat + StreamChat + Embed calls started
  int cancellations() const;  // calls or stream reads that saw cancellation while waiting
  int in_flight() const;      // calls started and not yet answered
  int max_in_flight() const;  // the most ever in flight at once
  int open_streams() const;   // streams returned and not yet destroyed
  std::vector<ChatRequest> chat_requests() const;  // Chat and StreamChat, in call order
  std::vector<EmbeddingRequest> embed_requests() const;

  // ModelProvider.
  std::string_view name() const override { return name_; }
  boost::asio::awaitable<absl::StatusOr<ChatResponse>> Chat(const RequestContext& ctx,
                                                            const ChatRequest& request) override;
  boost::asio::awaitable<absl::StatusOr<std::unique_ptr<ChatStream>>> StreamChat(
      const RequestContext& ctx, const ChatRequest& request) override;
  boost::asio::awaitable<absl::StatusOr<EmbeddingResponse>> Embed(
      const RequestContext& ctx, const EmbeddingRequest& request) override;
  boost::asio::awaitable<absl::StatusOr<std::vector<ModelInfo>>> ListModels(
      const RequestContext& ctx) override;

  // The deltas a stream of `response` consists of (message start, one block per
  // text block, message stop, usage).
  static std::vector<ChatDelta> DeltasFor(const ChatResponse& response);

  struct Shared;  // counters shared with open streams

 private:
  Step Begin();
  ChatResponse DefaultAnswer(const ChatRequest& request) const;

  const std::string name_;
  std::shared_ptr<Shared> shared_;
  mutable absl::Mutex mu_;
  std::deque<Step> script_ ABSL_GUARDED_BY(mu_);
  Step default_step_ ABSL_GUARDED_BY(mu_);
  std::vector<ModelInfo> models_ ABSL_GUARDED_BY(mu_);
  absl::Status list_error_ ABSL_GUARDED_BY(mu_);
  std::vector<ChatRequest> chat_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<EmbeddingRequest> embed_requests_ ABSL_GUARDED_BY(mu_);
};

}  // namespace basalt::models
