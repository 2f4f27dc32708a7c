#include "models/fake_provider.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

namespace basalt::models {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

template <class T>
T Drive(asio::awaitable<T> op) {
  asio::io_context io;
  std::optional<T> result;
  asio::co_spawn(io, std::move(op), [&](std::exception_ptr e, T value) {
    EXPECT_FALSE(e);
    result = std::move(value);
  });
  io.run();
  return std::move(*result);
}

ChatRequest Req(std::string model) {
  ChatRequest request;
  request.model = std::move(model);
  Message m;
  m.content.push_back(ContentBlock::Text("one two three"));
  request.messages.push_back(std::move(m));
  return request;
}

TEST(FakeProvider, FollowsItsScriptThenTheDefault) {
  FakeProvider fake("p");
  fake.Push(FakeProvider::Step::Fail(absl::UnavailableError("down")));
  fake.Push(FakeProvider::Step::Answer("scripted"));
  RequestContext ctx;
  EXPECT_EQ(Drive(fake.Chat(ctx, Req("m1"))).status(), absl::UnavailableError("down"));
  auto second = Drive(fake.Chat(ctx, Req("m2")));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->content[0].text, "scripted");
  EXPECT_EQ(second->model, "m2");
  auto third = Drive(fake.Chat(ctx, Req("m3")));
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->content[0].text, "p answered m3");
  EXPECT_EQ(third->usage.input_tokens, 3);
  EXPECT_EQ(third->usage.output_tokens, 3);
  EXPECT_EQ(fake.calls(), 3);
  ASSERT_EQ(fake.chat_requests().size(), 3u);
  EXPECT_EQ(fake.chat_requests()[2].model, "m3");
}

TEST(FakeProvider, StreamsDeltasThenFailsMidStreamWhenScripted) {
  FakeProvider fake("p");
  FakeProvider::Step step = FakeProvider::Step::Answer("hello");
  step.stream_error = absl::UnavailableError("reset");
  fake.Push(step);
  RequestContext ctx;
  auto stream = Drive(fake.StreamChat(ctx, Req("m")));
  ASSERT_TRUE(stream.ok());
  EXPECT_EQ(fake.open_streams(), 1);
  std::vector<ChatDelta::Type> types;
  absl::Status end = Drive([&]() -> asio::awaitable<absl::Status> {
    while (true) {
      auto delta = co_await (*stream)->Next();
      if (!delta.ok()) co_return delta.status();
      if (!delta->has_value()) co_return absl::OkStatus();
      types.push_back((*delta)->type);
    }
  }());
  EXPECT_EQ(end, absl::UnavailableError("reset"));
  using T = ChatDelta::Type;
  EXPECT_EQ(types, (std::vector<T>{T::kMessageStart, T::kBlockStart, T::kTextDelta, T::kBlockStop,
                                   T::kMessageStop, T::kUsage}));
  stream->reset();
  EXPECT_EQ(fake.open_streams(), 0);
}

TEST(FakeProvider, ACancelledDelayIsObserved) {
  FakeProvider fake("p");
  fake.SetDefault(FakeProvider::Step::Slow(milliseconds(5000)));
  const auto start = std::chrono::steady_clock::now();
  int winner = Drive([&]() -> asio::awaitable<int> {
    using namespace asio::experimental::awaitable_operators;
    RequestContext ctx;
    ChatRequest request = Req("m");
    asio::steady_timer timer(co_await asio::this_coro::executor, milliseconds(5));
    auto r = co_await (fake.Chat(ctx, request) || timer.async_wait(asio::use_awaitable));
    co_return static_cast<int>(r.index());
  }());
  EXPECT_EQ(winner, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(fake.cancellations(), 1);
  EXPECT_EQ(fake.in_flight(), 0);
}

TEST(FakeProvider, EmbedsAndListsModels) {
  FakeProvider fake("p");
  EmbeddingRequest request;
  request.model = "e";
  request.inputs = {"a b", "c"};
  request.dimensions = 16;
  RequestContext ctx;
  auto r = Drive(fake.Embed(ctx, request));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->embeddings.size(), 2u);
  EXPECT_EQ(r->embeddings[0].size(), 16u);
  EXPECT_EQ(r->usage.input_tokens, 3);
  auto models = Drive(fake.ListModels(ctx));
  ASSERT_TRUE(models.ok());
  EXPECT_EQ(models->at(0).id, "fake-1");
  fake.SetListError(absl::UnavailableError("down"));
  EXPECT_FALSE(Drive(fake.ListModels(ctx)).ok());
}

}  // namespace
}  // namespace basalt::models
