// telemq: the broker's records in the log (docs/persistence.md).
//
// storage/ keeps records opaque (a type byte, a key, a value); this file
// gives them their meaning. Every value starts with what is fixed and ends
// with what is variable, varints throughout (storage/coding.h):
//
//   type 1  message       key = topic
//     u8      flags: bits 0-1 QoS, bit 2 retain, bit 3 expiry present,
//             bit 4 properties present
//     varint  origin client id length, then its bytes
//     varint  packet id (QoS 2: the publisher's, for exactly-once after a
//             restart; else 0)
//     varint  expiry, ns since the Unix epoch      (if bit 3)
//     varint  properties length                   (if bit 4)
//     bytes   properties (an MQTT 5 PUBLISH property block, its own length
//             prefix included, as MqttEngine::MakeMessage encodes it)
//     bytes   payload (the rest)
//   type 2  session       key = client id
//     u8      protocol level (4 or 5)
//     varint  session expiry, s (UINT32_MAX: never)
//     varint  subscription count, then per subscription:
//             varint length + filter bytes, u8 options (bits 0-1 QoS, bit 2
//             no local, bit 3 retain as published), varint subscription id
//   type 3  session end   key = client id, empty value
//   type 4  consumed      key = client id
//     varint  partition count n, then n varints: the offsets below which
//             each partition is settled for the session
//   type 5  QoS 2 release key = client id
//     varint  packet id
//   type 6  retained copy key = topic, value as a message record: a retained
//           message re-written by a checkpoint (restores the retained store
//           only; never owed to a session)
//   type 7  QoS 2 pending key = client id
//     varint  count, then count varints: the publisher's unreleased packet ids
//             (replaces what earlier records said)
//   type 8  checkpoint begin, type 9 checkpoint end: key and value empty.
//           Between them, a shard re-writes the state it owns (session,
//           consumed, QoS 2 pending, QoS 2 out pending, retained copy
//           records) so that older segments can be deleted
//           (docs/persistence.md, Retention).
//   type 10 QoS 2 out     key = client id: a QoS 2 PUBLISH sent to the client
//     varint  packet id
//     u8      0: PUBLISH sent (the message follows), 1: PUBREC received
//     varint  message partition, varint message offset   (if 0)
//   type 11 QoS 2 out complete  key = client id: PUBCOMP received
//     varint  packet id
//   type 12 QoS 2 out pending   key = client id (replaces what earlier
//           records said)
//     varint  count, then count entries as in type 10
//
// Decoders validate every length against the value and return false on
// anything malformed; the caller reports the record's offset. Malformed
// includes what no client could have sent: a topic name or filter the MQTT
// codec rejects, a subscription identifier over 268435455, properties that
// are not a PUBLISH's (or hold the per-delivery Topic Alias, Message Expiry
// Interval or Subscription Identifier, or a payload format the payload
// breaks). The router and the engine take these unchecked.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/base/message.h"
#include "broker/session/persistence.h"

namespace telemq::persist {

enum RecordType : uint8_t {
  kRecordMessage = 1,
  kRecordSession = 2,
  kRecordSessionEnd = 3,
  kRecordConsumed = 4,
  kRecordQos2Release = 5,
  kRecordRetainedCopy = 6,
  kRecordQos2Pending = 7,
  kRecordCheckpointBegin = 8,
  kRecordCheckpointEnd = 9,
  kRecordQos2Out = 10,
  kRecordQos2OutComplete = 11,
  kRecordQos2OutPending = 12,
};

// Stable name for tools ("message", "session", ...); "unknown" otherwise.
const char* RecordTypeName(uint8_t type);

// A decoded message record; views into the record it came from.
struct MessageRecord {
  std::string_view topic;
  std::span<const uint8_t> payload;
  std::span<const uint8_t> properties;
  uint8_t qos = 0;
  bool retain = false;
  int64_t expiry_ns = 0;  // 0: never
  std::string_view origin_client;
  uint16_t packet_id = 0;
};

// The value of a message record is three parts (header, properties,
// payload), so the payload is copied once, into the log batch. `header`
// receives the first part; the returned parts view it and `m`.
struct MessageValueParts {
  std::string header;
  std::string_view parts[3];
};
void EncodeMessageValue(const MessageInit& m, std::string_view origin_client, uint16_t packet_id,
                        MessageValueParts* out);
bool DecodeMessage(std::string_view key, std::string_view value, MessageRecord* out);

std::string EncodeSessionValue(const session::SessionState& state);
// Fills everything but client_id (the key).
bool DecodeSessionValue(std::string_view value, session::SessionState* out);
// A whole session record: also refuses a client id no CONNECT could carry
// (empty, not MQTT UTF-8), whose session no client could resume.
bool DecodeSession(std::string_view client_id, std::string_view value, session::SessionState* out);

std::string EncodeConsumedValue(std::span<const uint64_t> consumed);
bool DecodeConsumedValue(std::string_view value, std::vector<uint64_t>* out);

std::string EncodeQos2ReleaseValue(uint16_t packet_id);
bool DecodeQos2ReleaseValue(std::string_view value, uint16_t* packet_id);

std::string EncodeQos2OutValue(const session::OutboundQos2& out);
bool DecodeQos2OutValue(std::string_view value, session::OutboundQos2* out);
std::string EncodeQos2OutPendingValue(std::span<const session::OutboundQos2> entries);
bool DecodeQos2OutPendingValue(std::string_view value, std::vector<session::OutboundQos2>* out);
// Type 11 uses the value of type 5 (EncodeQos2ReleaseValue).

std::string EncodeQos2PendingValue(std::span<const uint16_t> packet_ids);
bool DecodeQos2PendingValue(std::string_view value, std::vector<uint16_t>* packet_ids);

}  // namespace telemq::persist
