// telemq: which shard owns a client id (DESIGN.md decision 2).
//
// FNV-1a of the id modulo the shard count: stable across threads, runs and
// restarts (unlike a per-process seeded hash), so every shard, and recovery
// before the shards start, computes the same owner.
#pragma once

#include <cstdint>
#include <string_view>

namespace telemq::shard {

inline uint32_t OwnerShardOf(std::string_view client_id, uint32_t shard_count) {
  uint32_t h = 2166136261u;
  for (unsigned char c : client_id) {
    h ^= c;
    h *= 16777619u;
  }
  return h % shard_count;
}

}  // namespace telemq::shard
