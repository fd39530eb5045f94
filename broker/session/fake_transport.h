// telemq: an in-memory Transport for MqttEngine tests.
//
// Output bytes are kept per connection and decoded on demand with a client-
// role decoder; routing uses a real SubscriptionTrie on a single shard;
// closes and hand-offs are recorded. The owner of every client id is shard 0
// unless `foreign_ids` names it.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "broker/router/subscription_trie.h"
#include "broker/session/mqtt_engine.h"
#include "broker/session/transport.h"
#include "protocol/mqtt/decoder.h"
#include "protocol/mqtt/encoder.h"

namespace telemq::session::testing {

class FakeTransport : public Transport {
 public:
  void set_engine(MqttEngine* engine) { engine_ = engine; }

  std::span<uint8_t> ReserveOutput(ConnId c, size_t n) override {
    auto& buf = output_[c];
    reserved_at_ = buf.size();
    buf.resize(buf.size() + n);
    return {buf.data() + reserved_at_, n};
  }
  void CommitOutput(ConnId c, size_t n) override { output_[c].resize(reserved_at_ + n); }
  size_t OutputBytes(ConnId c) const override {
    auto it = output_.find(c);
    return it == output_.end() ? 0 : it->second.size();
  }
  void HoldOutput(ConnId c, uint64_t log_offset) override {
    holds.push_back({c, output_[c].size(), log_offset});
  }
  void CloseConnection(ConnId c, Closer by) override { closers_[c] = by; }
  void HandOff(ConnId c, uint32_t owner, std::span<const uint8_t> bytes) override {
    handoffs_.push_back({c, owner, std::vector<uint8_t>(bytes.begin(), bytes.end())});
  }
  uint32_t OwnerShard(std::string_view id) const override {
    return foreign_ids.count(std::string(id)) ? 1 : 0;
  }
  uint32_t shard_index() const override { return 0; }
  void Route(const MessageRef& m, SessionId publisher) override {
    routed.push_back(m);
    trie_.Match(m->topic(), publisher, &match_);
    engine_->Deliver(m, match_);
  }
  void RouteRetained(const MessageRef& m) override { engine_->ApplyRetained(m); }
  // A message mailed from another shard (no local publisher).
  void RouteFromElsewhere(const MessageRef& m) {
    trie_.Match(m->topic(), router::kNoSession, &match_);
    engine_->Deliver(m, match_);
  }
  router::SubscribeResult Subscribe(SessionId s, std::string_view f,
                                    const router::SubscriptionOptions& o) override {
    return trie_.Subscribe(s, f, o);
  }
  void Unsubscribe(SessionId s, std::string_view f) override { trie_.Unsubscribe(s, f); }
  void WakeAt(int64_t mono_ns) override { wake_at = std::min(wake_at, mono_ns); }

  // Decodes and removes every packet written to `c` so far.
  std::vector<mqtt::Packet> Take(ConnId c, mqtt::ProtocolVersion v) {
    std::vector<mqtt::Packet> out;
    auto& buf = output_[c];
    mqtt::Decoder d({.role = mqtt::Role::kClient, .version = v});
    std::span<const uint8_t> rest(buf);
    // Packets hold views into `buf`: keep the bytes alive in `kept_`.
    while (!rest.empty()) {
      mqtt::Packet p;
      mqtt::DecodeResult r = d.Decode(rest, &p);
      if (!r.ok()) {
        malformed_output_ += rest.size();  // an error, or a packet written in part
        break;
      }
      out.push_back(p);
      rest = rest.subspan(r.consumed);
    }
    kept_.push_back(std::move(buf));
    buf.clear();
    return out;
  }
  size_t PendingBytes(ConnId c) { return output_[c].size(); }
  // Bytes Take could not decode as whole server packets, over all calls.
  size_t malformed_output() const { return malformed_output_; }
  bool closed(ConnId c) const { return closers_.count(c) != 0; }
  // Who ended connection c (valid once closed(c)).
  Closer closed_by(ConnId c) const { return closers_.at(c); }

  struct HandOffRecord {
    ConnId conn;
    uint32_t owner;
    std::vector<uint8_t> bytes;
  };
  const std::vector<HandOffRecord>& handoffs() const { return handoffs_; }

  // Every HoldOutput: the connection, its output size then, the offset.
  struct Hold {
    ConnId conn;
    size_t at;
    uint64_t offset;
  };
  std::vector<Hold> holds;
  std::set<std::string> foreign_ids;
  std::vector<MessageRef> routed;
  int64_t wake_at = INT64_MAX;

 private:
  MqttEngine* engine_ = nullptr;
  std::map<ConnId, std::vector<uint8_t>> output_;
  std::vector<std::vector<uint8_t>> kept_;
  size_t reserved_at_ = 0;
  size_t malformed_output_ = 0;
  std::map<ConnId, Closer> closers_;
  std::vector<HandOffRecord> handoffs_;
  router::SubscriptionTrie trie_;
  router::MatchResult match_;
};

// Encodes a packet as a client would send it.
inline std::vector<uint8_t> Wire(const mqtt::Packet& p, mqtt::ProtocolVersion v) {
  std::vector<uint8_t> out(mqtt::EncodedSize(p, v));
  out.resize(mqtt::Encode(p, v, out));
  return out;
}

// Opens connection `c` of `engine` and feeds it a CONNECT for `client_id`;
// the CONNACK (and whatever follows it) stays in the transport's output.
inline void OpenAndConnect(MqttEngine& engine, ConnId c, std::string_view client_id,
                           mqtt::ProtocolVersion v, bool clean) {
  engine.OnConnectionOpened(c);
  mqtt::Connect p;
  p.version = v;
  p.client_id = client_id;
  p.clean_start = clean;
  engine.OnBytes(c, Wire(p, v));
}

}  // namespace telemq::session::testing
