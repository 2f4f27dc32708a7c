// CancelRegistry: the model calls running in this process, so a cancel request
// (from any io thread) or a drain can interrupt them. Each running job parks a
// timer on its own executor; cancelling posts `timer.cancel()` there, which ends
// the job's wait and with it (through `||`) its model call.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"

namespace basalt::async {

class CancelRegistry {
 public:
  void Add(const std::string& id, std::shared_ptr<boost::asio::steady_timer> timer) {
    std::lock_guard<std::mutex> lock(mu_);
    timers_[id] = std::move(timer);
  }
  void Remove(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    timers_.erase(id);
  }
  // True when the job was running here.
  bool Cancel(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = timers_.find(id);
    if (it == timers_.end()) return false;
    Interrupt(it->second);
    return true;
  }
  void CancelAll() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, timer] : timers_) Interrupt(timer);
  }
  size_t Running() const {
    std::lock_guard<std::mutex> lock(mu_);
    return timers_.size();
  }

 private:
  static void Interrupt(const std::shared_ptr<boost::asio::steady_timer>& timer) {
    boost::asio::post(timer->get_executor(), [timer] { timer->cancel(); });
  }
  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<boost::asio::steady_timer>> timers_;
};

}  // namespace basalt::async
