// ordered_pool.h - run jobs on worker threads, consume results in the order
// they were submitted. The writer compresses records this way, and the image
// scanner scans segments this way. Submit/Drain are called from one thread;
// the consume callback runs on that thread. A job that throws (say
// std::bad_alloc) does not end the process from a worker: the exception is
// rethrown from the Submit or Drain that would have consumed its result, on
// the submitting thread, where the command's catch-all (ddloop/main.cc)
// turns it into one line.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "deltafile/status.h"

namespace ddl {

template <typename T>
class OrderedPool {
 public:
  using Job = std::function<T()>;
  using Consume = std::function<Status(T&&)>;

  // threads == 0 runs every job inline in Submit.
  OrderedPool(int threads, size_t max_inflight, Consume consume)
      : max_inflight_(max_inflight < 1 ? 1 : max_inflight), consume_(std::move(consume)) {
    try {
      for (int i = 0; i < threads; i++) workers_.emplace_back([this] { Work(); });
    } catch (...) {  // no thread: stop the ones started, then let it through
      Stop();
      throw;
    }
  }
  ~OrderedPool() { Stop(); }
  OrderedPool(const OrderedPool&) = delete;
  OrderedPool& operator=(const OrderedPool&) = delete;

  Status Submit(Job job) {
    if (!status_.ok()) return status_;
    if (workers_.empty()) {
      status_ = consume_(job());
      return status_;
    }
    auto slot = std::make_shared<Slot>();
    slot->job = std::move(job);
    {
      std::lock_guard<std::mutex> l(mu_);
      slots_.push_back(slot);
      pending_.push_back(slot);
    }
    cv_work_.notify_one();
    return DrainUntil(max_inflight_);
  }

  // Waits for every submitted job and consumes its result.
  Status Drain() { return DrainUntil(1); }

 private:
  struct Slot {
    Job job;
    bool done = false;
    std::unique_ptr<T> result;
    std::exception_ptr error;  // what the job threw instead
  };

  void Stop() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_work_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  // Consumes finished results in order until fewer than `limit` are in flight.
  Status DrainUntil(size_t limit) {
    for (;;) {
      std::shared_ptr<Slot> front;
      {
        std::unique_lock<std::mutex> l(mu_);
        if (slots_.size() < limit || slots_.empty()) return status_;
        front = slots_.front();
        cv_done_.wait(l, [&] { return front->done; });
        slots_.pop_front();
      }
      if (front->error) std::rethrow_exception(front->error);
      if (status_.ok()) status_ = consume_(std::move(*front->result));
    }
  }

  void Work() {
    for (;;) {
      std::shared_ptr<Slot> s;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_work_.wait(l, [&] { return stop_ || !pending_.empty(); });
        if (pending_.empty()) return;
        s = pending_.front();
        pending_.pop_front();
      }
      std::unique_ptr<T> r;
      std::exception_ptr error;
      try {
        r = std::make_unique<T>(s->job());
      } catch (...) {
        error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> l(mu_);
        s->result = std::move(r);
        s->error = error;
        s->done = true;
        s->job = nullptr;
      }
      cv_done_.notify_all();
    }
  }

  const size_t max_inflight_;
  Consume consume_;
  Status status_;
  std::mutex mu_;
  std::condition_variable cv_work_, cv_done_;
  std::deque<std::shared_ptr<Slot>> slots_;    // submitted, not yet consumed
  std::deque<std::shared_ptr<Slot>> pending_;  // submitted, not yet started
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace ddl
