#include "broker/persist/recovery_fuzz_restart.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <utility>
#include <variant>
#include <vector>

#include "broker/persist/shard_log.h"
#include "broker/persist/shard_log_testing.h"
#include "broker/router/interest_trie.h"
#include "broker/session/fake_transport.h"
#include "broker/session/mqtt_engine.h"
#include "broker/shard/ownership.h"
#include "protocol/mqtt/decoder.h"
#include "protocol/mqtt/topic.h"
#include "protocol/mqtt/utf8.h"

namespace telemq::persist::fuzz {

void Check(bool condition, const char* file, int line) {
  if (condition) return;
  std::fprintf(stderr, "recovery_fuzz: check failed at %s:%d\n", file, line);
  std::abort();
}

namespace {

using mqtt::ProtocolVersion;
using session::ConnId;
using session::testing::Wire;

constexpr int64_t kSecond = 1'000'000'000;
constexpr size_t kMaxClientsPerShard = 8;

// Set by LogSink: a persistent session's backlog could not be read back from
// the log. In a MemEnv nothing fails but reading what retention deleted.
bool backlog_read_failed = false;

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

storage::PartitionOptions PartitionOptions(uint32_t p) {
  // Small segments, so that the input's flushes roll them and retention
  // has closed segments to delete.
  return {.dir = Log::Dir(p),
          .segment_bytes = 1024,
          .index_interval_bytes = 256,
          .max_batch_bytes = 768,
          .preallocate = false};
}

// Performs the log's write requests synchronously, as the shard does with
// io_uring.
void Drive(ShardLog* log) {
  if (log == nullptr) return;
  while (testing::PerformNextWrite(*log)) {
  }
}

// What each shard's sessions still need of each partition, as the shards
// publish it for retention (ShardGroup::needed): [shard][partition], 0 until
// the shard has said.
using Needed = std::vector<std::array<uint64_t, 2>>;

// One shard: its interest replica, retained store and engine.
class ShardSim {
 public:
  ShardSim(uint32_t index, const RestartOptions& options, ShardLog* log)
      : index_(index), engine_(EngineOptions(options), &transport_, log), log_(log) {
    transport_.set_engine(&engine_);
    SetClock();
  }

  // Shard::Restore, then the checkpoint Shard::Init writes.
  void Restore(RecoveredState& state) {
    for (const auto& [filter, owner] : state.interest) interest_.Add(filter, owner);
    router::InterestMatch match;
    for (const MessageRef& m : state.retained) {
      interest_.Match(m->topic(), &match);
      engine_.ApplyRetained(m);
    }
    for (session::RestoredSession& s : state.sessions[index_]) {
      if (restored_.size() < kMaxClientsPerShard) {
        const size_t n = std::min<size_t>(s.inbound_qos2.size(), 4);
        restored_.push_back(
            {s.state.client_id,
             s.state.version,
             s.state.expiry_s,
             {s.inbound_qos2.begin(), s.inbound_qos2.begin() + static_cast<ptrdiff_t>(n)}});
      }
      engine_.Restore(std::move(s));
    }
    if (log_ != nullptr) engine_.WriteCheckpoint();
    Drive(log_);
  }

  // The restored clients come back for their sessions.
  void Reconnect() {
    for (const Returning& r : restored_) {
      // An id no client can send: the session waits for nobody.
      if (r.client_id.empty() || !mqtt::IsValidMqttUtf8(r.client_id)) continue;
      mqtt::Connect connect;
      connect.version = r.version;
      connect.client_id = r.client_id;
      connect.clean_start = false;
      if (r.version == ProtocolVersion::kV5) {
        connect.properties.SetInt(mqtt::PropertyId::kSessionExpiryInterval, r.expiry_s);
      }
      const Client c = Open(r.version);
      engine_.OnBytes(c.id, Wire(connect, r.version));
      std::vector<mqtt::Packet> out = Take(c);
      Check(!out.empty());
      const auto* ack = std::get_if<mqtt::Connack>(&out[0]);
      Check(ack != nullptr && ack->reason_code == mqtt::ReasonCode::kSuccess);
      Check(ack->session_present);  // restored, so resumed
      Acknowledge(c, out);
      // QoS 2 it had published and not released: a resend is recognised,
      // then the release.
      for (uint16_t id : r.inbound_qos2) {
        Feed(c, mqtt::Publish{.dup = true,
                              .qos = mqtt::QoS::kExactlyOnce,
                              .topic = "a/b",
                              .packet_id = id,
                              .payload = Bytes("again")});
        Feed(c, mqtt::Pubrel{.packet_id = id});
      }
    }
    Settle();
  }

  // A fresh client gets the retained messages and publishes to everyone.
  void Observe() {
    const Client c = Open(ProtocolVersion::kV5);
    mqtt::Connect connect;
    connect.client_id = "~observer";
    engine_.OnBytes(c.id, Wire(connect, c.version));
    mqtt::Subscribe subscribe{.packet_id = 1};
    subscribe.subscriptions.push_back({"#", {.max_qos = mqtt::QoS::kExactlyOnce}});
    subscribe.subscriptions.push_back({"$SYS/#", {.max_qos = mqtt::QoS::kAtLeastOnce}});
    Feed(c, subscribe);
    const std::span<const uint8_t> bytes = Bytes("observed");
    Feed(c, mqtt::Publish{
                .qos = mqtt::QoS::kAtLeastOnce, .topic = "a/b", .packet_id = 1, .payload = bytes});
    Feed(c, mqtt::Publish{.qos = mqtt::QoS::kExactlyOnce,
                          .retain = true,
                          .topic = "a",
                          .packet_id = 2,
                          .payload = bytes});
    Feed(c, mqtt::Pubrel{.packet_id = 2});
    Settle();
  }

  // Every client acknowledges what it got; a second of broker time passes;
  // log maintenance runs (Shard::MaintainLog), retention deleting whatever
  // the sessions of every shard do not need.
  void Round(Needed* needed) {
    for (const Client& c : clients_) {
      if (transport_.closed(c.id)) continue;
      Acknowledge(c, Take(c));
      engine_.OnOutputDrained(c.id);
    }
    Settle();
    mono_ns_ += kSecond;
    real_ns_ += kSecond;
    SetClock();
    engine_.OnTimer();
    Settle();
    if (log_ == nullptr) return;
    engine_.NeededOffsets(&scratch_needed_);
    for (uint32_t p = 0; p < 2; ++p) {
      (*needed)[index_][p] = p < scratch_needed_.size() ? scratch_needed_[p] : UINT64_MAX;
    }
    uint64_t need = UINT64_MAX;
    for (const auto& shard : *needed) need = std::min(need, shard[index_]);
    log_->Maintain(need, real_ns_);
  }

  void Shutdown() {
    engine_.ShutdownAll();
    for (const Client& c : clients_) Take(c);
    Settle();
  }

 private:
  struct Returning {
    std::string client_id;
    ProtocolVersion version;
    uint32_t expiry_s;
    std::vector<uint16_t> inbound_qos2;
  };
  struct Client {
    ConnId id;
    ProtocolVersion version;
  };

  static session::EngineOptions EngineOptions(const RestartOptions& options) {
    session::EngineOptions o;
    o.max_packet_size = 4096;
    o.max_inflight = 4;
    o.max_queued_messages = options.max_queued != 0 ? options.max_queued : 16;
    o.max_queued_bytes = 16384;
    o.topic_alias_max = 4;
    o.receive_maximum = 8;
    return o;
  }

  void SetClock() {
    engine_.SetClock(mono_ns_, real_ns_);
    if (log_ != nullptr) log_->SetClock(real_ns_, mono_ns_);
  }

  Client Open(ProtocolVersion version) {
    const Client c{next_conn_++, version};
    engine_.OnConnectionOpened(c.id);
    clients_.push_back(c);
    return c;
  }

  void Feed(const Client& c, const mqtt::Packet& p) {
    if (transport_.closed(c.id)) return;
    const std::vector<uint8_t> wire = Wire(p, c.version);
    engine_.OnBytes(c.id, wire);
    Acknowledge(c, Take(c));
  }

  // Everything written to the client decodes as server packets, and passes
  // what a 5.0 client may check besides: a payload as its format indicator
  // says, no Topic Alias when it allowed none (these clients allow none).
  std::vector<mqtt::Packet> Take(const Client& c) {
    const size_t before = transport_.malformed_output();
    std::vector<mqtt::Packet> out = transport_.Take(c.id, c.version);
    Check(transport_.malformed_output() == before);
    for (const mqtt::Packet& p : out) {
      if (const auto* publish = std::get_if<mqtt::Publish>(&p)) {
        Check(mqtt::CheckPayloadFormat(*publish) == mqtt::DecodeError::kNone);
        Check(!publish->properties.Has(mqtt::PropertyId::kTopicAlias));
      }
    }
    return out;
  }

  void Acknowledge(const Client& c, const std::vector<mqtt::Packet>& packets) {
    std::vector<uint8_t> acks;
    auto add = [&](const mqtt::Packet& p) {
      const std::vector<uint8_t> wire = Wire(p, c.version);
      acks.insert(acks.end(), wire.begin(), wire.end());
    };
    for (const mqtt::Packet& p : packets) {
      if (const auto* publish = std::get_if<mqtt::Publish>(&p)) {
        if (publish->qos == mqtt::QoS::kAtLeastOnce) add(mqtt::Puback{publish->packet_id});
        if (publish->qos == mqtt::QoS::kExactlyOnce) add(mqtt::Pubrec{publish->packet_id});
      } else if (const auto* pubrel = std::get_if<mqtt::Pubrel>(&p)) {
        add(mqtt::Pubcomp{pubrel->packet_id});
      }
    }
    if (acks.empty() || transport_.closed(c.id)) return;
    // Acknowledgements may free in-flight slots: more may follow.
    engine_.OnBytes(c.id, acks);
  }

  // Writes what the engine logged this turn, as the shard's loop does.
  void Settle() {
    engine_.FlushConsumed();
    if (log_ != nullptr && log_->TakeRolled()) engine_.WriteCheckpoint();
    Drive(log_);
  }

  const uint32_t index_;
  session::testing::FakeTransport transport_;
  session::MqttEngine engine_;
  ShardLog* log_;
  router::InterestTrie interest_;
  std::vector<Returning> restored_;
  std::vector<Client> clients_;
  ConnId next_conn_ = 0;
  std::vector<uint64_t> scratch_needed_;
  int64_t mono_ns_ = kSecond;
  int64_t real_ns_ = kNowNs;
};

}  // namespace

void LogSink(const std::string& line) {
  if (line.find("reading its backlog from the log failed") != std::string::npos) {
    backlog_read_failed = true;
  }
}

void Log::Open() {
  for (uint32_t p = 0; p < 2; ++p) {
    storage::RecoveryReport report;
    absl::StatusOr<std::unique_ptr<storage::Partition>> opened =
        storage::Partition::Open(&env_, PartitionOptions(p), &report);
    Check(opened.ok());
    partitions_[p] = *std::move(opened);
  }
}

void Log::Close() {
  for (auto& p : partitions_) {
    if (p != nullptr) Check(p->FlushNow(/*sync=*/true).ok());
    p.reset();
  }
}

absl::StatusOr<RecoveredState> Log::Recover(const RestartOptions& options) {
  storage::Partition* views[] = {partitions_[0].get(), partitions_[1].get()};
  const uint32_t shards = options.shards;
  return persist::Recover(
      views, {.shard_count = shards,
              .owner = [shards](std::string_view id) { return shard::OwnerShardOf(id, shards); },
              .now_ns = kNowNs,
              .max_queued_messages = options.max_queued});
}

void CheckRecovered(const RecoveredState& state, const RestartOptions& options) {
  Check(state.sessions.size() == options.shards);
  for (uint32_t k = 0; k < options.shards; ++k) {
    for (const session::RestoredSession& s : state.sessions[k]) {
      Check(shard::OwnerShardOf(s.state.client_id, options.shards) == k);
      Check(s.consumed.size() == 2);
      Check(s.spill_from.empty() || s.spill_from.size() == 2);
      for (const auto& [filter, o] : s.state.subscriptions) {
        Check(mqtt::ValidateTopicFilter(filter) == mqtt::TopicError::kOk);
      }
      for (const session::RestoredSession::Owed& owed : s.queue) {
        Check(owed.message && owed.message->logged());
        Check(owed.message->log_partition() < 2);
        Check(owed.qos >= 1 && owed.qos <= owed.message->qos());
        Check(mqtt::ValidateTopicName(owed.message->topic()) == mqtt::TopicError::kOk);
      }
    }
  }
  for (const auto& [filter, owner] : state.interest) Check(owner < options.shards);
  for (const MessageRef& m : state.retained) {
    Check(m && m->retain() && !m->payload().empty());
    Check(mqtt::ValidateTopicName(m->topic()) == mqtt::TopicError::kOk);
  }
}

void Restart(Log* log, RecoveredState state, const RestartOptions& options) {
  std::vector<std::unique_ptr<ShardLog>> logs;
  for (uint32_t k = 0; options.log && k < options.shards; ++k) {
    LogOptions o{.durability = Durability::kSync,
                 .retention_bytes = 1,  // all that the sessions do not need
                 .partition_dirs = {Log::Dir(0), Log::Dir(1)},
                 .env = log->env()};
    logs.push_back(std::make_unique<ShardLog>(k, log->Take(k), o));
  }
  std::vector<std::unique_ptr<ShardSim>> shards;
  for (uint32_t k = 0; k < options.shards; ++k) {
    shards.push_back(std::make_unique<ShardSim>(k, options, options.log ? logs[k].get() : nullptr));
  }
  // Every shard restores before any accepts a connection.
  for (auto& shard : shards) shard->Restore(state);
  backlog_read_failed = false;
  for (auto& shard : shards) {
    shard->Reconnect();
    if (options.observer) shard->Observe();
  }
  Needed needed(options.shards, {0, 0});
  for (int i = 0; i < options.rounds; ++i) {
    for (auto& shard : shards) shard->Round(&needed);
  }
  for (auto& shard : shards) shard->Shutdown();
  shards.clear();
  Check(!backlog_read_failed);
  for (auto& l : logs) Check(l->Close().ok());
}

}  // namespace telemq::persist::fuzz
