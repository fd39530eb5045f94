// telemq: internal per-packet layouts and writers used by encoder.cc.
//
// Encoding is two passes: a Layout (body size, property sizes, which short
// form) and then a write into a buffer already known to be large enough.
#pragma once

#include <cstddef>
#include <cstdint>

#include "protocol/mqtt/packets.h"
#include "protocol/mqtt/property_codec.h"
#include "protocol/mqtt/wire.h"

namespace telemq::mqtt::encode_body {

struct Layout {
  size_t body = 0;        // remaining length
  size_t props = 0;       // property content size (5.0)
  size_t will_props = 0;  // CONNECT will property content size (5.0)
  bool ok = true;         // false: a field exceeds its wire limit
  // PUBACK family, DISCONNECT, AUTH in 5.0: 0 = no reason code, 1 = reason
  // code only, 2 = reason code and properties.
  uint8_t form = 2;
};

inline uint8_t PublishFirstByte(const Publish& p) {
  return static_cast<uint8_t>(0x30 | (p.dup ? 0x08 : 0) | static_cast<uint8_t>(p.qos) << 1 |
                              (p.retain ? 0x01 : 0));
}

inline Layout PublishLayout(const Publish& p, bool v5) {
  Layout l;
  l.ok = p.topic.size() <= kMaxStringLength;
  l.body = 2 + p.topic.size() + (p.qos != QoS::kAtMostOnce ? 2 : 0) + p.payload.size();
  if (v5) {
    l.props = property_codec::ContentSize(p.properties);
    l.body += property_codec::BlockSize(l.props);
  }
  return l;
}

// Topic, packet id and properties: everything after the fixed header but
// the payload.
inline void WritePublishHeader(const Publish& p, bool v5, const Layout& l, wire::Writer& w) {
  w.String(p.topic);
  if (p.qos != QoS::kAtMostOnce) w.U16(p.packet_id);
  if (v5) property_codec::Write(p.properties, l.props, w);
}

// Every packet but PUBLISH (which the callers handle first).
Layout GetLayout(const Packet& packet, ProtocolVersion version);
uint8_t FirstByte(const Packet& packet);
void WriteBody(const Packet& packet, ProtocolVersion version, const Layout& l, wire::Writer& w);

}  // namespace telemq::mqtt::encode_body
