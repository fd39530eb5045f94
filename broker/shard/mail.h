// telemq: what shards send each other through their SPSC rings.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "broker/base/message.h"
#include "broker/net/client_socket.h"
#include "broker/router/topic.h"

namespace telemq::shard {

// Rare payloads of a Mail, kept out of line so the ring slots stay small
// (a routed PUBLISH is the common item).
struct MailExtra {
  std::string subscription;    // kInterestAdd / kInterestRemove
  std::vector<uint8_t> bytes;  // kHandOff: read before the hand-off
};

struct Mail {
  enum class Kind : uint8_t {
    kPublish,         // deliver `message` to the target's local subscribers
    kRetained,        // apply `message` to the target's retained replica
    kInterestAdd,     // shard `from` now has subscribers for `subscription`
    kInterestRemove,  // ... no longer has any
    kHandOff,         // take over connection `socket`; `bytes` were read already
  };
  Kind kind = Kind::kPublish;
  uint32_t from = 0;
  MessageRef message;
  // kPublish: the shared groups the target must serve (one member each).
  absl::InlinedVector<router::SharedGroupKey, 1> shared_keys;
  // kHandOff. A direct descriptor is already in the target's ring table
  // (moved with IORING_OP_MSG_RING before the mail was sent).
  net::ClientSocket socket;
  std::unique_ptr<MailExtra> extra;
};

}  // namespace telemq::shard
