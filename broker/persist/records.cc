#include "broker/persist/records.h"

#include "protocol/mqtt/property_codec.h"
#include "protocol/mqtt/topic.h"
#include "protocol/mqtt/utf8.h"
#include "protocol/mqtt/wire.h"
#include "storage/coding.h"

namespace telemq::persist {

using storage::GetVarint32;
using storage::GetVarint64;
using storage::PutVarint64;

namespace {

constexpr uint8_t kQosMask = 0x03;
constexpr uint8_t kRetainBit = 0x04;
constexpr uint8_t kExpiryBit = 0x08;
constexpr uint8_t kPropertiesBit = 0x10;
constexpr uint8_t kKnownMessageFlags = 0x1f;

constexpr uint8_t kNoLocalBit = 0x04;
constexpr uint8_t kRetainAsPublishedBit = 0x08;
constexpr uint8_t kKnownOptionBits = 0x0f;

// A bounded cursor over a record value.
class Reader {
 public:
  explicit Reader(std::string_view v) : p_(v.data()), limit_(v.data() + v.size()) {}
  bool U8(uint8_t* out) {
    if (p_ >= limit_) return false;
    *out = static_cast<uint8_t>(*p_++);
    return true;
  }
  bool Varint(uint64_t* out) {
    p_ = p_ == nullptr ? nullptr : GetVarint64(p_, limit_, out);
    return p_ != nullptr;
  }
  bool Varint32(uint32_t* out) {
    p_ = p_ == nullptr ? nullptr : GetVarint32(p_, limit_, out);
    return p_ != nullptr;
  }
  bool Bytes(size_t n, std::string_view* out) {
    if (p_ == nullptr || static_cast<size_t>(limit_ - p_) < n) return false;
    *out = std::string_view(p_, n);
    p_ += n;
    return true;
  }
  bool LengthPrefixed(std::string_view* out) {
    uint32_t n;
    return Varint32(&n) && Bytes(n, out);
  }
  std::string_view Rest() const { return {p_, static_cast<size_t>(limit_ - p_)}; }
  bool AtEnd() const { return p_ == limit_; }

 private:
  const char* p_;
  const char* limit_;
};

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::string_view AsChars(std::span<const uint8_t> s) {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}

// What MqttEngine::MakeMessage stores: a PUBLISH property block, length
// prefix included, without the properties set per delivery (Topic Alias,
// Message Expiry Interval, Subscription Identifier), and a payload that is
// UTF-8 when the block says so. Anything else would reach subscribers as a
// protocol error or as identifiers that are not theirs.
bool ValidProperties(std::span<const uint8_t> block, std::span<const uint8_t> payload) {
  using mqtt::PropertyId;
  mqtt::wire::Reader r(block.data(), block.size());
  mqtt::Properties p;
  if (mqtt::property_codec::Decode(r, mqtt::PacketBit(mqtt::PacketType::kPublish), &p) !=
          mqtt::DecodeError::kNone ||
      r.remaining() != 0) {
    return false;
  }
  if (p.Has(PropertyId::kTopicAlias) || p.Has(PropertyId::kMessageExpiryInterval) ||
      p.Has(PropertyId::kSubscriptionIdentifier)) {
    return false;
  }
  return p.GetInt(PropertyId::kPayloadFormatIndicator) != 1 ||
         mqtt::IsValidUtf8Payload(payload.data(), payload.size());
}

}  // namespace

const char* RecordTypeName(uint8_t type) {
  switch (type) {
    case kRecordMessage:
      return "message";
    case kRecordSession:
      return "session";
    case kRecordSessionEnd:
      return "session-end";
    case kRecordConsumed:
      return "consumed";
    case kRecordQos2Release:
      return "qos2-release";
    case kRecordRetainedCopy:
      return "retained-copy";
    case kRecordQos2Pending:
      return "qos2-pending";
    case kRecordCheckpointBegin:
      return "checkpoint-begin";
    case kRecordCheckpointEnd:
      return "checkpoint-end";
    case kRecordQos2Out:
      return "qos2-out";
    case kRecordQos2OutComplete:
      return "qos2-out-complete";
    case kRecordQos2OutPending:
      return "qos2-out-pending";
    default:
      return "unknown";
  }
}

void EncodeMessageValue(const MessageInit& m, std::string_view origin_client, uint16_t packet_id,
                        MessageValueParts* out) {
  std::string& h = out->header;
  h.clear();
  uint8_t flags = m.qos & kQosMask;
  if (m.retain) flags |= kRetainBit;
  if (m.expiry_ns != 0) flags |= kExpiryBit;
  if (!m.properties.empty()) flags |= kPropertiesBit;
  h.push_back(static_cast<char>(flags));
  PutVarint64(&h, origin_client.size());
  h.append(origin_client);
  PutVarint64(&h, packet_id);
  if (m.expiry_ns != 0) PutVarint64(&h, static_cast<uint64_t>(m.expiry_ns));
  if (!m.properties.empty()) PutVarint64(&h, m.properties.size());
  out->parts[0] = h;
  out->parts[1] = AsChars(m.properties);
  out->parts[2] = AsChars(m.payload);
}

bool DecodeMessage(std::string_view key, std::string_view value, MessageRecord* out) {
  Reader r(value);
  uint8_t flags;
  uint64_t packet_id;
  if (!r.U8(&flags) || (flags & ~kKnownMessageFlags) != 0 || (flags & kQosMask) == 3) return false;
  if (!r.LengthPrefixed(&out->origin_client) || !r.Varint(&packet_id) || packet_id > 65535) {
    return false;
  }
  out->topic = key;
  out->qos = flags & kQosMask;
  out->retain = (flags & kRetainBit) != 0;
  out->packet_id = static_cast<uint16_t>(packet_id);
  out->expiry_ns = 0;
  if (flags & kExpiryBit) {
    uint64_t expiry;
    if (!r.Varint(&expiry) || expiry == 0 || expiry > INT64_MAX) return false;
    out->expiry_ns = static_cast<int64_t>(expiry);
  }
  std::string_view properties;
  if (flags & kPropertiesBit) {
    if (!r.LengthPrefixed(&properties) || properties.empty()) return false;
  }
  out->properties = AsBytes(properties);
  out->payload = AsBytes(r.Rest());
  // The topic and properties as a PUBLISH brought them, or the record is
  // not one the broker wrote: sent on, they would break the subscribers'
  // connections.
  return mqtt::ValidateTopicName(key) == mqtt::TopicError::kOk &&
         (properties.empty() || ValidProperties(out->properties, out->payload));
}

std::string EncodeSessionValue(const session::SessionState& state) {
  std::string v;
  v.push_back(static_cast<char>(state.version));
  PutVarint64(&v, state.expiry_s);
  PutVarint64(&v, state.subscriptions.size());
  for (const auto& [filter, o] : state.subscriptions) {
    PutVarint64(&v, filter.size());
    v.append(filter);
    uint8_t bits = o.qos & kQosMask;
    if (o.no_local) bits |= kNoLocalBit;
    if (o.retain_as_published) bits |= kRetainAsPublishedBit;
    v.push_back(static_cast<char>(bits));
    PutVarint64(&v, o.subscription_id);
  }
  return v;
}

bool DecodeSessionValue(std::string_view value, session::SessionState* out) {
  Reader r(value);
  uint8_t level;
  uint32_t expiry;
  uint64_t count;
  if (!r.U8(&level) || (level != 4 && level != 5)) return false;
  if (!r.Varint32(&expiry) || !r.Varint(&count) || count > value.size()) return false;
  out->version = static_cast<mqtt::ProtocolVersion>(level);
  out->expiry_s = expiry;
  out->subscriptions.clear();
  out->subscriptions.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view filter;
    uint8_t bits;
    uint32_t id;
    // Filters and identifiers as a SUBSCRIBE brought them: the router
    // takes them unchecked (broker/router/topic.h).
    if (!r.LengthPrefixed(&filter) || mqtt::ValidateTopicFilter(filter) != mqtt::TopicError::kOk ||
        !r.U8(&bits) || (bits & ~kKnownOptionBits) != 0 || (bits & kQosMask) == 3 ||
        !r.Varint32(&id) || id > mqtt::wire::kMaxVarInt) {
      return false;
    }
    router::SubscriptionOptions o;
    o.qos = bits & kQosMask;
    o.no_local = (bits & kNoLocalBit) != 0;
    o.retain_as_published = (bits & kRetainAsPublishedBit) != 0;
    o.subscription_id = id;
    out->subscriptions.emplace_back(std::string(filter), o);
  }
  return r.AtEnd();
}

bool DecodeSession(std::string_view client_id, std::string_view value, session::SessionState* out) {
  if (client_id.empty() || !mqtt::IsValidMqttUtf8(client_id)) return false;
  if (!DecodeSessionValue(value, out)) return false;
  out->client_id = std::string(client_id);
  return true;
}

std::string EncodeConsumedValue(std::span<const uint64_t> consumed) {
  std::string v;
  PutVarint64(&v, consumed.size());
  for (uint64_t c : consumed) PutVarint64(&v, c);
  return v;
}

bool DecodeConsumedValue(std::string_view value, std::vector<uint64_t>* out) {
  Reader r(value);
  uint64_t n;
  // A partition per shard: at most 64 (router::ShardMask).
  if (!r.Varint(&n) || n > 64) return false;
  out->resize(n);
  for (uint64_t i = 0; i < n; ++i) {
    if (!r.Varint(&(*out)[i])) return false;
  }
  return r.AtEnd();
}

std::string EncodeQos2ReleaseValue(uint16_t packet_id) {
  std::string v;
  PutVarint64(&v, packet_id);
  return v;
}

bool DecodeQos2ReleaseValue(std::string_view value, uint16_t* packet_id) {
  Reader r(value);
  uint64_t id;
  if (!r.Varint(&id) || id == 0 || id > 65535 || !r.AtEnd()) return false;
  *packet_id = static_cast<uint16_t>(id);
  return true;
}

namespace {

void PutQos2Out(std::string* v, const session::OutboundQos2& out) {
  PutVarint64(v, out.packet_id);
  v->push_back(out.released ? 1 : 0);
  if (!out.released) {
    PutVarint64(v, out.partition);
    PutVarint64(v, out.offset);
  }
}

bool ReadQos2Out(Reader& r, session::OutboundQos2* out) {
  uint64_t id, partition = 0, offset = 0;
  uint8_t phase;
  if (!r.Varint(&id) || id == 0 || id > 65535 || !r.U8(&phase) || phase > 1) return false;
  if (phase == 0 && (!r.Varint(&partition) || partition > UINT32_MAX || !r.Varint(&offset))) {
    return false;
  }
  *out = {.packet_id = static_cast<uint16_t>(id),
          .released = phase == 1,
          .partition = static_cast<uint32_t>(partition),
          .offset = offset};
  return true;
}

}  // namespace

std::string EncodeQos2OutValue(const session::OutboundQos2& out) {
  std::string v;
  PutQos2Out(&v, out);
  return v;
}

bool DecodeQos2OutValue(std::string_view value, session::OutboundQos2* out) {
  Reader r(value);
  return ReadQos2Out(r, out) && r.AtEnd();
}

std::string EncodeQos2OutPendingValue(std::span<const session::OutboundQos2> entries) {
  std::string v;
  PutVarint64(&v, entries.size());
  for (const session::OutboundQos2& e : entries) PutQos2Out(&v, e);
  return v;
}

bool DecodeQos2OutPendingValue(std::string_view value, std::vector<session::OutboundQos2>* out) {
  Reader r(value);
  uint64_t n;
  if (!r.Varint(&n) || n > 65535) return false;
  out->clear();
  for (uint64_t i = 0; i < n; ++i) {
    session::OutboundQos2 e;
    if (!ReadQos2Out(r, &e)) return false;
    out->push_back(e);
  }
  return r.AtEnd();
}

std::string EncodeQos2PendingValue(std::span<const uint16_t> packet_ids) {
  std::string v;
  PutVarint64(&v, packet_ids.size());
  for (uint16_t id : packet_ids) PutVarint64(&v, id);
  return v;
}

bool DecodeQos2PendingValue(std::string_view value, std::vector<uint16_t>* packet_ids) {
  Reader r(value);
  uint64_t n;
  if (!r.Varint(&n) || n > 65535) return false;
  packet_ids->clear();
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t id;
    if (!r.Varint(&id) || id == 0 || id > 65535) return false;
    packet_ids->push_back(static_cast<uint16_t>(id));
  }
  return r.AtEnd();
}

}  // namespace telemq::persist
