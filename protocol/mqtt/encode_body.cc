#include "protocol/mqtt/encode_body.h"

#include <type_traits>

namespace telemq::mqtt::encode_body {
namespace {

namespace pc = property_codec;

size_t Str(std::string_view s, Layout& l) {
  l.ok &= s.size() <= kMaxStringLength;
  return 2 + s.size();
}
size_t Bin(std::span<const uint8_t> b, Layout& l) {
  l.ok &= b.size() <= kMaxStringLength;
  return 2 + b.size();
}
size_t Props(const Properties& p, size_t* content) {
  *content = pc::ContentSize(p);
  return pc::BlockSize(*content);
}

Layout Of(const Connect& c, bool) {
  const bool v5 = c.version == ProtocolVersion::kV5;
  Layout l;
  l.body = 10 + Str(c.client_id, l);  // "MQTT", level, flags, keep alive
  if (v5) l.body += Props(c.properties, &l.props);
  if (c.will) {
    if (v5) l.body += Props(c.will->properties, &l.will_props);
    l.body += Str(c.will->topic, l) + Bin(c.will->payload, l);
  }
  if (c.username) l.body += Str(*c.username, l);
  if (c.password) l.body += Bin(*c.password, l);
  return l;
}

Layout Of(const Connack& c, bool v5) {
  Layout l;
  l.body = 2 + (v5 ? Props(c.properties, &l.props) : 0);
  return l;
}

template <PacketType kType>
Layout Of(const PublishAck<kType>& a, bool v5) {
  Layout l;
  l.body = 2;
  if (!v5) return l;
  l.props = pc::ContentSize(a.properties);
  if (l.props != 0) {
    l.form = 2;
    l.body += 1 + pc::BlockSize(l.props);
  } else {
    l.form = a.reason_code == ReasonCode::kSuccess ? 0 : 1;
    l.body += l.form;
  }
  return l;
}

Layout Of(const Subscribe& s, bool v5) {
  Layout l;
  l.body = 2 + (v5 ? Props(s.properties, &l.props) : 0);
  for (const Subscription& sub : s.subscriptions) l.body += Str(sub.filter, l) + 1;
  return l;
}

template <typename T>  // Suback, Unsuback
Layout OfCodes(const T& a, bool v5, bool v311_codes) {
  Layout l;
  l.body = 2;
  if (v5)
    l.body += Props(a.properties, &l.props) + a.reason_codes.size();
  else if (v311_codes)
    l.body += a.reason_codes.size();
  return l;
}
Layout Of(const Suback& a, bool v5) { return OfCodes(a, v5, true); }
Layout Of(const Unsuback& a, bool v5) { return OfCodes(a, v5, false); }

Layout Of(const Unsubscribe& u, bool v5) {
  Layout l;
  l.body = 2 + (v5 ? Props(u.properties, &l.props) : 0);
  for (std::string_view f : u.filters) l.body += Str(f, l);
  return l;
}

Layout Of(const Pingreq&, bool) { return {}; }
Layout Of(const Pingresp&, bool) { return {}; }

template <typename T>  // Disconnect, Auth: [reason code [properties]]
Layout OfReasonOnly(const T& d, bool v5) {
  Layout l;
  if (!v5) return l;
  l.props = pc::ContentSize(d.properties);
  if (l.props != 0) {
    l.form = 2;
    l.body = 1 + pc::BlockSize(l.props);
  } else {
    l.form = d.reason_code == ReasonCode::kSuccess ? 0 : 1;
    l.body = l.form;
  }
  return l;
}
Layout Of(const Disconnect& d, bool v5) { return OfReasonOnly(d, v5); }
Layout Of(const Auth& a, bool v5) {
  Layout l = OfReasonOnly(a, v5);
  l.ok &= v5;  // AUTH does not exist in 3.1.1
  return l;
}
Layout Of(const Publish& p, bool v5) { return PublishLayout(p, v5); }

void Write(const Connect& c, bool, const Layout& l, wire::Writer& w) {
  const bool v5 = c.version == ProtocolVersion::kV5;
  w.String("MQTT");
  w.U8(static_cast<uint8_t>(c.version));
  uint8_t flags = c.clean_start ? 0x02 : 0;
  if (c.will) {
    flags |= 0x04 | static_cast<uint8_t>(c.will->qos) << 3 | (c.will->retain ? 0x20 : 0);
  }
  if (c.password) flags |= 0x40;
  if (c.username) flags |= 0x80;
  w.U8(flags);
  w.U16(c.keep_alive);
  if (v5) pc::Write(c.properties, l.props, w);
  w.String(c.client_id);
  if (c.will) {
    if (v5) pc::Write(c.will->properties, l.will_props, w);
    w.String(c.will->topic);
    w.Binary(c.will->payload);
  }
  if (c.username) w.String(*c.username);
  if (c.password) w.Binary(*c.password);
}

void Write(const Connack& c, bool v5, const Layout& l, wire::Writer& w) {
  w.U8(c.session_present ? 1 : 0);
  if (!v5) {
    w.U8(static_cast<uint8_t>(ToConnackReturnCode(c.reason_code)));
    return;
  }
  w.U8(static_cast<uint8_t>(c.reason_code));
  pc::Write(c.properties, l.props, w);
}

void Write(const Publish& p, bool v5, const Layout& l, wire::Writer& w) {
  WritePublishHeader(p, v5, l, w);
  w.Bytes(p.payload.data(), p.payload.size());
}

template <PacketType kType>
void Write(const PublishAck<kType>& a, bool v5, const Layout& l, wire::Writer& w) {
  w.U16(a.packet_id);
  if (!v5 || l.form == 0) return;
  w.U8(static_cast<uint8_t>(a.reason_code));
  if (l.form == 2) pc::Write(a.properties, l.props, w);
}

void Write(const Subscribe& s, bool v5, const Layout& l, wire::Writer& w) {
  w.U16(s.packet_id);
  if (v5) pc::Write(s.properties, l.props, w);
  for (const Subscription& sub : s.subscriptions) {
    w.String(sub.filter);
    const SubscribeOptions& o = sub.options;
    uint8_t opts = static_cast<uint8_t>(o.max_qos);
    if (v5) {
      opts |= (o.no_local ? 0x04 : 0) | (o.retain_as_published ? 0x08 : 0) |
              static_cast<uint8_t>(o.retain_handling) << 4;
    }
    w.U8(opts);
  }
}

void Write(const Suback& a, bool v5, const Layout& l, wire::Writer& w) {
  w.U16(a.packet_id);
  if (v5) pc::Write(a.properties, l.props, w);
  for (ReasonCode rc : a.reason_codes) {
    w.U8(v5 ? static_cast<uint8_t>(rc) : ToV311SubackCode(rc));
  }
}

void Write(const Unsubscribe& u, bool v5, const Layout& l, wire::Writer& w) {
  w.U16(u.packet_id);
  if (v5) pc::Write(u.properties, l.props, w);
  for (std::string_view f : u.filters) w.String(f);
}

void Write(const Unsuback& a, bool v5, const Layout& l, wire::Writer& w) {
  w.U16(a.packet_id);
  if (!v5) return;
  pc::Write(a.properties, l.props, w);
  for (ReasonCode rc : a.reason_codes) w.U8(static_cast<uint8_t>(rc));
}

void Write(const Pingreq&, bool, const Layout&, wire::Writer&) {}
void Write(const Pingresp&, bool, const Layout&, wire::Writer&) {}

template <typename T>  // Disconnect, Auth
void WriteReasonOnly(const T& d, bool v5, const Layout& l, wire::Writer& w) {
  if (!v5 || l.form == 0) return;
  w.U8(static_cast<uint8_t>(d.reason_code));
  if (l.form == 2) pc::Write(d.properties, l.props, w);
}
void Write(const Disconnect& d, bool v5, const Layout& l, wire::Writer& w) {
  WriteReasonOnly(d, v5, l, w);
}
void Write(const Auth& a, bool v5, const Layout& l, wire::Writer& w) {
  WriteReasonOnly(a, v5, l, w);
}

}  // namespace

Layout GetLayout(const Packet& packet, ProtocolVersion version) {
  const bool v5 = version == ProtocolVersion::kV5;
  return std::visit([v5](const auto& p) { return Of(p, v5); }, packet);
}

uint8_t FirstByte(const Packet& packet) {
  if (const auto* pub = std::get_if<Publish>(&packet)) return PublishFirstByte(*pub);
  const PacketType type = TypeOf(packet);
  const bool flags_0010 = type == PacketType::kPubrel || type == PacketType::kSubscribe ||
                          type == PacketType::kUnsubscribe;
  return static_cast<uint8_t>(static_cast<uint8_t>(type) << 4 | (flags_0010 ? 0x02 : 0));
}

void WriteBody(const Packet& packet, ProtocolVersion version, const Layout& l, wire::Writer& w) {
  const bool v5 = version == ProtocolVersion::kV5;
  std::visit([&](const auto& p) { Write(p, v5, l, w); }, packet);
}

}  // namespace telemq::mqtt::encode_body
