// The fixture of recovery's tests (recovery_test.cc, recovery_checkpoint_test.cc):
// partitions in a MemEnv, written record by record with explicit broker times,
// and recovered.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/persist/records.h"
#include "broker/persist/recovery.h"
#include "gtest/gtest.h"
#include "storage/mem_env.h"
#include "storage/partition.h"

namespace telemq::persist {

inline std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string Payload(const MessageRef& m) {
  return {reinterpret_cast<const char*>(m->payload().data()), m->payload().size()};
}

class RecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override { AddPartitions(2); }

  // Two partitions whose segments roll at 4 KiB, replacing the default ones:
  // for tests of what retention leaves behind.
  void UseSmallSegments() {
    partitions_.clear();
    for (int k = 0; k < 2; ++k) {
      storage::RecoveryReport report;
      auto p = storage::Partition::Open(
          &env_, {.dir = "/data/small" + std::to_string(k), .segment_bytes = 4096}, &report);
      ASSERT_TRUE(p.ok()) << p.status();
      partitions_.push_back(*std::move(p));
    }
  }

  void AddPartitions(int n) {
    for (int i = 0; i < n; ++i) {
      storage::RecoveryReport report;
      auto p = storage::Partition::Open(
          &env_, {.dir = "/data/p" + std::to_string(partitions_.size())}, &report);
      ASSERT_TRUE(p.ok()) << p.status();
      partitions_.push_back(*std::move(p));
    }
  }

  uint64_t Message(uint32_t p, int64_t ts, std::string_view topic, std::string_view payload,
                   uint8_t qos, bool retain = false, std::string_view origin = "",
                   uint16_t packet_id = 0, int64_t expiry_ns = 0) {
    MessageValueParts parts;
    EncodeMessageValue({.topic = topic,
                        .payload = Bytes(payload),
                        .qos = qos,
                        .retain = retain,
                        .expiry_ns = expiry_ns},
                       origin, packet_id, &parts);
    return *partitions_[p]->Append(kRecordMessage, topic, parts.parts, ts);
  }
  void Session(uint32_t p, int64_t ts, std::string_view client,
               std::vector<std::pair<std::string, router::SubscriptionOptions>> subs,
               uint32_t expiry = UINT32_MAX) {
    session::SessionState s;
    s.client_id = std::string(client);
    s.expiry_s = expiry;
    s.subscriptions = std::move(subs);
    ASSERT_TRUE(partitions_[p]->Append(kRecordSession, client, EncodeSessionValue(s), ts).ok());
  }
  void End(uint32_t p, int64_t ts, std::string_view client) {
    ASSERT_TRUE(partitions_[p]->Append(kRecordSessionEnd, client, "", ts).ok());
  }
  void Consumed(uint32_t p, int64_t ts, std::string_view client, std::vector<uint64_t> c) {
    ASSERT_TRUE(partitions_[p]->Append(kRecordConsumed, client, EncodeConsumedValue(c), ts).ok());
  }
  void Record(uint32_t p, int64_t ts, uint8_t type, std::string_view key, std::string_view value) {
    ASSERT_TRUE(partitions_[p]->Append(type, key, value, ts).ok());
  }
  void RetainedCopy(uint32_t p, int64_t ts, std::string_view topic, std::string_view payload) {
    MessageValueParts parts;
    EncodeMessageValue({.topic = topic, .payload = Bytes(payload), .qos = 1, .retain = true}, "", 0,
                       &parts);
    ASSERT_TRUE(partitions_[p]->Append(kRecordRetainedCopy, topic, parts.parts, ts).ok());
  }
  void Release(uint32_t p, int64_t ts, std::string_view client, uint16_t id) {
    ASSERT_TRUE(
        partitions_[p]->Append(kRecordQos2Release, client, EncodeQos2ReleaseValue(id), ts).ok());
  }

  // The state stays in the fixture, so pointers into it stay valid.
  RecoveredState& Run(uint32_t shards = 1, int64_t now_ns = 1'000'000, size_t max_queued = 0) {
    std::vector<storage::Partition*> views;
    for (auto& p : partitions_) {
      EXPECT_TRUE(p->FlushNow(/*sync=*/true).ok());
      views.push_back(p.get());
    }
    auto state = Recover(views, {.shard_count = shards,
                                 .owner =
                                     [shards](std::string_view id) {
                                       return static_cast<uint32_t>(id.size()) % shards;
                                     },
                                 .now_ns = now_ns,
                                 .max_queued_messages = max_queued});
    EXPECT_TRUE(state.ok()) << state.status();
    last_ = *std::move(state);
    return last_;
  }

  static const session::RestoredSession* Find(const RecoveredState& s, std::string_view id) {
    for (const auto& shard : s.sessions) {
      for (const auto& r : shard) {
        if (r.state.client_id == id) return &r;
      }
    }
    return nullptr;
  }

  storage::MemEnv env_;
  std::vector<std::unique_ptr<storage::Partition>> partitions_;
  RecoveredState last_;
};

}  // namespace telemq::persist
