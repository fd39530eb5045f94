// telemq: mapping io_uring completions back to the operation that issued them.
//
// Every SQE a shard submits carries a 64-bit user_data that names the kind of
// operation and the slot it belongs to (a connection, the listener, a log
// partition). Slots are reused, so a generation counter makes a completion for
// a slot's previous occupant recognisable as stale:
//
//   63      56 55                32 31                               0
//   +---------+--------------------+----------------------------------+
//   |  kind   |  generation (24b)  |            slot index            |
//   +---------+--------------------+----------------------------------+
#pragma once

#include <cstdint>

namespace telemq::io {

enum class OpKind : uint8_t {
  kNone = 0,
  kAccept,         // multishot accept on a listener
  kRecv,           // multishot recv on a connection
  kSend,           // sendmsg of a connection's coalesced output
  kClose,          // close of a direct descriptor; nothing to act on
  kShutdown,       // shutdown of a direct descriptor
  kWake,           // read of the shard's eventfd (cross-shard wake-up)
  kTimer,          // the loop's timeout
  kCancel,         // cancel requests; their completions carry no information
  kLogWrite,       // log partition append
  kLogSync,        // log partition fdatasync
  kMailWake,       // MSG_RING from another shard (wake-up for its mail); no payload
  kSendSocket,     // MSG_RING moving a connection's direct descriptor to another shard
  kInstallSocket,  // a process descriptor for a connection's direct descriptor
};

struct OpTag {
  OpKind kind = OpKind::kNone;
  uint32_t generation = 0;  // only the low 24 bits are kept
  uint32_t index = 0;
};

inline constexpr uint32_t kGenerationMask = (1U << 24) - 1;

constexpr uint64_t EncodeOpTag(OpTag tag) {
  return (uint64_t{static_cast<uint8_t>(tag.kind)} << 56) |
         (uint64_t{tag.generation & kGenerationMask} << 32) | tag.index;
}

constexpr OpTag DecodeOpTag(uint64_t user_data) {
  return OpTag{static_cast<OpKind>(user_data >> 56),
               static_cast<uint32_t>(user_data >> 32) & kGenerationMask,
               static_cast<uint32_t>(user_data)};
}

}  // namespace telemq::io
