// telemq: what shards send each other through their SPSC rings.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "broker/base/message.h"
#include "broker/router/topic.h"

namespace telemq::shard {

struct Mail {
  enum class Kind : uint8_t {
    kPublish,         // deliver `message` to the target's local subscribers
    kRetained,        // apply `message` to the target's retained replica
    kInterestAdd,     // shard `from` now has subscribers for `subscription`
    kInterestRemove,  // ... no longer has any
    kHandOff,         // take over connection `fd`; `bytes` were read already
  };
  Kind kind = Kind::kPublish;
  uint32_t from = 0;
  MessageRef message;
  // kPublish: the shared groups the target must serve (one member each).
  absl::InlinedVector<router::SharedGroupKey, 1> shared_keys;
  std::string subscription;
  int fd = -1;
  std::vector<uint8_t> bytes;
};

}  // namespace telemq::shard
