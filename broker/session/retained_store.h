// telemq: one shard's replica of the retained messages.
//
// Every shard keeps every retained message (the bytes are shared between
// replicas through MessageRef), so a SUBSCRIBE is answered from local memory
// without a cross-shard round trip. A retained PUBLISH is applied to all
// replicas through the shard mailboxes; because two shards may receive
// updates of one topic in different orders, each replica keeps the update
// with the highest (arrival time, origin shard) version (updates from one
// shard keep their order): last writer wins and every replica converges.
//
// A message with an empty payload clears the topic (MQTT 3.3.1.3). An
// expired message (5.0 Message Expiry Interval) is not returned and is
// dropped when found.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "broker/base/message.h"

namespace telemq::session {

class RetainedStore {
 public:
  // Applies a retained PUBLISH (set, replace or clear). Returns false when a
  // newer update of the topic is already held (the message is ignored).
  bool Apply(const MessageRef& message);

  // Appends the live retained messages matching `filter` (a plain filter, not
  // $share) to *out. Exact filters are one lookup; wildcard filters scan.
  void Match(std::string_view filter, int64_t now_ns, std::vector<MessageRef>* out);

  size_t size() const { return by_topic_.size(); }

  // Calls fn(const MessageRef&) for every retained message held (expired
  // ones included; clears are not messages).
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const auto& [topic, e] : by_topic_) {
      if (e.message) fn(e.message);
    }
  }

 private:
  struct Entry {
    MessageRef message;  // null: a clear we remember for versioning
    int64_t version_ns = 0;
    int32_t version_shard = -1;
  };
  // Updates from one shard arrive in the order that shard made them (its
  // mailbox is FIFO), and one loop turn stamps them all with the same time:
  // from the same origin the later update always wins. Across origins the
  // (arrival time, shard) pair decides, identically on every replica.
  static bool Newer(const MessageRef& m, const Entry& e) {
    if (m->origin_shard() == e.version_shard) return true;
    return m->arrival_ns() != e.version_ns ? m->arrival_ns() > e.version_ns
                                           : m->origin_shard() > e.version_shard;
  }
  bool Live(const Entry& e, int64_t now_ns) const {
    return e.message && (e.message->expiry_ns() == 0 || e.message->expiry_ns() > now_ns);
  }

  absl::flat_hash_map<std::string, Entry> by_topic_;
};

}  // namespace telemq::session
