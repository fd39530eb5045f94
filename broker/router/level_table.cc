// Copyright telemq authors.
#include "broker/router/level_table.h"

namespace telemq::router {

LevelTable::LevelTable() : ids_(0, IdHash{&entries_}, IdEq{&entries_}) {}

uint32_t LevelTable::Acquire(std::string_view level) {
  auto it = ids_.find(level);
  if (it != ids_.end()) {
    ++entries_[*it].refs;
    return *it;
  }
  uint32_t id;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    id = static_cast<uint32_t>(entries_.size());
    entries_.emplace_back();
  }
  entries_[id].name.assign(level);
  entries_[id].refs = 1;
  ids_.insert(id);  // hashes through entries_[id].name, set just above
  return id;
}

void LevelTable::Release(uint32_t id) {
  Entry& e = entries_[id];
  if (--e.refs != 0) return;
  ids_.erase(id);  // before clearing the name the hash reads
  std::string().swap(e.name);
  free_ids_.push_back(id);
  if (ids_.empty()) {  // everything released: give all memory back
    std::vector<Entry>().swap(entries_);
    std::vector<uint32_t>().swap(free_ids_);
    ids_ = decltype(ids_)(0, IdHash{&entries_}, IdEq{&entries_});
  }
}

size_t LevelTable::MemoryUsage() const {
  size_t bytes = entries_.capacity() * sizeof(Entry) + free_ids_.capacity() * sizeof(uint32_t) +
                 ids_.capacity() * (sizeof(uint32_t) + 1);
  for (const Entry& e : entries_) {
    if (e.name.capacity() > 15) bytes += e.name.capacity() + 1;  // beyond libstdc++ SSO
  }
  return bytes;
}

}  // namespace telemq::router
