// telemq: a FIFO queue that allocates nothing while empty.
//
// libstdc++'s std::deque allocates its map and a 512-byte node as soon as it
// is constructed; a session holds two queues and a broker holds tens of
// thousands of idle sessions, so that would be most of an idle session's
// memory. Fifo is a vector with a moving head: push at the back, pop at the
// front, iterate in order; popped slots are reclaimed when the head passes
// half of the vector, and the storage is released when the queue empties.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace telemq {

template <typename T>
class Fifo {
 public:
  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }

  T& front() { return items_[head_]; }
  const T& front() const { return items_[head_]; }
  void push_back(T value) { items_.push_back(std::move(value)); }

  void pop_front() {
    items_[head_] = T();  // release what the element holds now
    ++head_;
    if (head_ == items_.size()) {
      std::vector<T>().swap(items_);
      head_ = 0;
    } else if (head_ > 32 && head_ * 2 > items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  // Removes the first element for which pred is true; false if none.
  template <typename Pred>
  bool EraseFirst(Pred pred) {
    for (size_t i = head_; i < items_.size(); ++i) {
      if (!pred(items_[i])) continue;
      if (i == head_) {
        pop_front();
      } else {
        items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(i));
      }
      return true;
    }
    return false;
  }

  auto begin() { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  auto end() { return items_.end(); }
  auto begin() const { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  auto end() const { return items_.end(); }

 private:
  std::vector<T> items_;
  size_t head_ = 0;
};

}  // namespace telemq
