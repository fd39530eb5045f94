#include "bench/loadgen/mqtt_wire.h"

#include <array>
#include <cstring>
#include <variant>

#include "absl/strings/str_cat.h"
#include "bench/loadgen/absl_compat.h"
#include "protocol/mqtt/encoder.h"
#include "protocol/mqtt/property_id.h"
#include "protocol/mqtt/types.h"

namespace telemq::bench {
namespace {

mqtt::ProtocolVersion Version(int v) {
  return v == 5 ? mqtt::ProtocolVersion::kV5 : mqtt::ProtocolVersion::kV311;
}

// Encodes a packet built by the caller at the end of `out`.
void Append(OutBuffer& out, const mqtt::Packet& packet, int version) {
  const size_t size = mqtt::EncodedSize(packet, Version(version));
  uint8_t* dst = out.Reserve(size);
  out.Commit(mqtt::Encode(packet, Version(version), {dst, size}));
}

}  // namespace

absl::string_view CodeName(uint8_t code) {
  return Sv(mqtt::ReasonCodeName(static_cast<mqtt::ReasonCode>(code)));
}

void EncodeConnect(OutBuffer& out, const ConnectArgs& args) {
  mqtt::Connect c;
  c.version = Version(args.version);
  c.clean_start = args.clean_start;
  c.keep_alive = args.keepalive;
  c.client_id = args.client_id;
  if (args.version == 5 && args.session_expiry > 0) {
    c.properties.SetInt(mqtt::PropertyId::kSessionExpiryInterval, args.session_expiry);
  }
  Append(out, c, args.version);
}

void EncodeSubscribe(OutBuffer& out, int version, uint16_t packet_id, std::string_view filter,
                     int qos) {
  mqtt::Subscribe s;
  s.packet_id = packet_id;
  mqtt::Subscription sub;
  sub.filter = filter;
  sub.options.max_qos = static_cast<mqtt::QoS>(qos);
  s.subscriptions.push_back(sub);
  Append(out, s, version);
}

uint8_t* EncodePublish(OutBuffer& out, int version, std::string_view topic, int qos, bool retain,
                       uint16_t packet_id, size_t payload_size) {
  return PublishEncoder(version, topic, qos, retain, payload_size).Append(out, packet_id);
}

PublishEncoder::PublishEncoder(int version, std::string_view topic, int qos, bool retain,
                               size_t payload_size)
    : payload_size_(payload_size) {
  mqtt::Publish p;
  p.qos = static_cast<mqtt::QoS>(qos);
  p.retain = retain;
  p.topic = topic;
  // The header encoder reads only the payload's size: a span of the right
  // length over nothing in particular (never dereferenced).
  static const uint8_t kNothing = 0;
  p.payload = {&kNothing, payload_size};
  p.packet_id = qos > 0 ? 1 : 0;
  header_.resize(mqtt::PublishHeaderSize(p, Version(version)));
  header_.resize(mqtt::EncodePublishHeader(p, Version(version), header_));
  if (qos > 0) {
    // Fixed header (type byte + remaining length), then the topic's length
    // and bytes, then the packet id.
    size_t varint_end = 1;
    while (header_[varint_end] & 0x80) ++varint_end;
    packet_id_at_ = varint_end + 1 + 2 + topic.size();
  }
}

uint8_t* PublishEncoder::Append(OutBuffer& out, uint16_t packet_id) {
  uint8_t* dst = out.Reserve(header_.size() + payload_size_);
  std::memcpy(dst, header_.data(), header_.size());
  if (packet_id_at_ != 0) {
    dst[packet_id_at_] = static_cast<uint8_t>(packet_id >> 8);
    dst[packet_id_at_ + 1] = static_cast<uint8_t>(packet_id);
  }
  out.Commit(header_.size() + payload_size_);
  return dst + header_.size();
}

void EncodeAck(OutBuffer& out, AckKind kind, uint16_t packet_id) {
  // A success acknowledgement is the same four bytes in both versions: 5.0
  // omits reason code 0 when there are no properties (3.4.2.1). Written
  // directly: the client sends one per QoS 1/2 message it receives.
  static constexpr uint8_t kFirstByte[] = {0x40, 0x50, 0x62, 0x70};  // PUBREL: flags 0010
  uint8_t* dst = out.Reserve(4);
  dst[0] = kFirstByte[static_cast<size_t>(kind)];
  dst[1] = 2;
  dst[2] = static_cast<uint8_t>(packet_id >> 8);
  dst[3] = static_cast<uint8_t>(packet_id);
  out.Commit(4);
}

void EncodePingreq(OutBuffer& out, int version) { Append(out, mqtt::Pingreq{}, version); }

void EncodeDisconnect(OutBuffer& out, int version) { Append(out, mqtt::Disconnect{}, version); }

FrameReader::FrameReader(int version)
    : v5_(version == 5),
      decoder_(mqtt::DecoderOptions{.role = mqtt::Role::kClient, .version = Version(version)}) {}

bool FrameReader::DecodePublish311(std::span<const uint8_t> bytes, InPacket* out, size_t* used) {
  if (bytes.size() < 2 || (bytes[0] >> 4) != 3) return false;
  const uint8_t qos = (bytes[0] >> 1) & 3;
  if (qos == 3) return false;
  size_t remaining = 0;
  size_t i = 1;
  for (int shift = 0;; shift += 7, ++i) {
    if (i >= bytes.size() || i > 4) return false;
    remaining |= size_t{bytes[i] & 0x7fu} << shift;
    if ((bytes[i] & 0x80) == 0) break;
  }
  const size_t body = i + 1;
  if (bytes.size() - body < remaining) return false;  // incomplete: the codec says so
  if (remaining < 2) return false;
  const size_t topic_size = size_t{bytes[body]} << 8 | bytes[body + 1];
  const size_t header = 2 + topic_size + (qos > 0 ? 2 : 0);
  if (remaining < header) return false;
  const uint8_t* p = bytes.data() + body;
  out->kind = InKind::kPublish;
  out->qos = qos;
  out->retain = (bytes[0] & 1) != 0;
  out->dup = (bytes[0] & 8) != 0;
  out->topic = {reinterpret_cast<const char*>(p + 2), topic_size};
  out->packet_id = qos > 0 ? static_cast<uint16_t>(p[2 + topic_size] << 8 | p[3 + topic_size]) : 0;
  if (qos > 0 && out->packet_id == 0) return false;
  out->payload = {p + header, remaining - header};
  *used = body + remaining;
  return true;
}

bool FrameReader::DecodeShortAck(std::span<const uint8_t> bytes, InPacket* out, size_t* used) {
  if (bytes.size() < 4 || bytes[1] != 2) return false;
  static constexpr InKind kKinds[] = {InKind::kPuback, InKind::kPubrec, InKind::kPubrel,
                                      InKind::kPubcomp};
  const uint8_t type = bytes[0] >> 4;
  if (type < 4 || type > 7) return false;
  const uint8_t flags = type == 6 ? 0x2 : 0x0;
  if ((bytes[0] & 0x0f) != flags) return false;
  const uint16_t id = static_cast<uint16_t>(bytes[2] << 8 | bytes[3]);
  if (id == 0) return false;
  *out = {.kind = kKinds[type - 4], .code = 0, .packet_id = id};
  *used = 4;
  return true;
}

absl::Status FrameReader::DecodeOne(std::span<const uint8_t> bytes, InPacket* out, size_t* used) {
  *used = 0;
  if (!v5_ && DecodePublish311(bytes, out, used)) return absl::OkStatus();
  if (DecodeShortAck(bytes, out, used)) return absl::OkStatus();
  const mqtt::DecodeResult r = decoder_.Decode(bytes, &packet_);
  if (r.status == mqtt::DecodeStatus::kNeedMore) return absl::OkStatus();
  if (r.status == mqtt::DecodeStatus::kError) {
    return absl::DataLossError(
        absl::StrCat("malformed MQTT packet: ", Sv(mqtt::DecodeErrorName(r.error))));
  }
  *used = r.consumed;
  auto code = [](mqtt::ReasonCode c) { return static_cast<uint8_t>(c); };
  if (const auto* p = std::get_if<mqtt::Publish>(&packet_)) {
    out->kind = InKind::kPublish;
    out->qos = static_cast<uint8_t>(p->qos);
    out->retain = p->retain;
    out->dup = p->dup;
    out->packet_id = p->packet_id;
    out->topic = p->topic;
    out->payload = p->payload;
  } else if (const auto* a = std::get_if<mqtt::Puback>(&packet_)) {
    *out = {.kind = InKind::kPuback, .code = code(a->reason_code), .packet_id = a->packet_id};
  } else if (const auto* a = std::get_if<mqtt::Pubrec>(&packet_)) {
    *out = {.kind = InKind::kPubrec, .code = code(a->reason_code), .packet_id = a->packet_id};
  } else if (const auto* a = std::get_if<mqtt::Pubrel>(&packet_)) {
    *out = {.kind = InKind::kPubrel, .code = code(a->reason_code), .packet_id = a->packet_id};
  } else if (const auto* a = std::get_if<mqtt::Pubcomp>(&packet_)) {
    *out = {.kind = InKind::kPubcomp, .code = code(a->reason_code), .packet_id = a->packet_id};
  } else if (const auto* c = std::get_if<mqtt::Connack>(&packet_)) {
    out->kind = InKind::kConnack;
    out->code = code(c->reason_code);
    out->session_present = c->session_present;
    out->receive_maximum =
        static_cast<uint16_t>(c->properties.GetInt(mqtt::PropertyId::kReceiveMaximum));
  } else if (const auto* s = std::get_if<mqtt::Suback>(&packet_)) {
    out->kind = InKind::kSuback;
    out->packet_id = s->packet_id;
    out->code = s->reason_codes.empty() ? 0x80 : code(s->reason_codes.front());
  } else if (std::holds_alternative<mqtt::Pingresp>(packet_)) {
    out->kind = InKind::kPingresp;
  } else if (const auto* d = std::get_if<mqtt::Disconnect>(&packet_)) {
    out->kind = InKind::kDisconnect;
    out->code = code(d->reason_code);
  } else {
    out->kind = InKind::kOther;
  }
  return absl::OkStatus();
}

}  // namespace telemq::bench
