// IdleWaiter: how a background loop on one io_context sleeps until either a
// poll interval passes or someone wakes it. Wake() may be called from any
// thread, thousands of times a second (it fires on commits): at most one
// wake-up is in flight at a time. A wake that arrives while the loop is busy
// (not waiting) is remembered, so the loop's next Wait returns at once.
//
// The state is shared with posted wake-ups, so waking after the owner is gone
// is harmless as long as the io_context lives.
#pragma once

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>

namespace basalt::async {

class IdleWaiter {
 public:
  explicit IdleWaiter(boost::asio::io_context& io)
      : io_(io), state_(std::make_shared<State>(io)) {}

  // Any thread.
  void Wake() { Waker()(); }
  // A Wake() that stays safe to call after this IdleWaiter is gone (for
  // callbacks registered with something that outlives the loop).
  std::function<void()> Waker() const {
    return [io = &io_, state = state_] {
      if (state->posted.exchange(true)) return;
      boost::asio::post(*io, [state] {
        state->posted.store(false);
        state->woken = true;
        state->timer.cancel();
      });
    };
  }

  // On the io thread: forget wake-ups that came before now.
  void Reset() { state_->woken = false; }
  // On the io thread: whether a wake-up came since the last Reset.
  bool woken() const { return state_->woken; }

  // On the io thread: sleeps for `interval` or until woken (at once when a
  // wake-up came since the last Reset).
  boost::asio::awaitable<void> Wait(std::chrono::steady_clock::duration interval) {
    if (state_->woken) {
      state_->woken = false;
      co_return;
    }
    state_->timer.expires_after(interval);
    co_await state_->timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    state_->woken = false;
  }

 private:
  struct State {
    explicit State(boost::asio::io_context& io) : timer(io) {}
    boost::asio::steady_timer timer;
    std::atomic<bool> posted{false};
    bool woken = false;  // io thread only
  };
  boost::asio::io_context& io_;
  std::shared_ptr<State> state_;
};

}  // namespace basalt::async
