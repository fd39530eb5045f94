#include "protocol/mqtt/random_packet.h"

#include "protocol/mqtt/property_id.h"

namespace telemq::mqtt::testing {
namespace {

// Multi-byte characters exercise the UTF-8 slow paths.
constexpr std::string_view kPieces[] = {
    "a", "b", "z", "0", "_", "-", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "$", " "};

}  // namespace

std::string_view RandomPacketGenerator::Keep(std::string s) {
  arena_.push_back(std::move(s));
  return arena_.back();
}

std::string_view RandomPacketGenerator::RandomString(size_t max_len, bool allow_slash) {
  std::string s;
  const size_t n = Uniform(0, static_cast<uint32_t>(max_len));
  for (size_t i = 0; i < n; ++i) {
    if (allow_slash && Uniform(0, 4) == 0)
      s += '/';
    else
      s += kPieces[Uniform(0, std::size(kPieces) - 1)];
  }
  return Keep(std::move(s));
}

std::string_view RandomPacketGenerator::TopicName() {
  std::string_view t;
  do t = RandomString(12, true);
  while (t.empty());
  return t;
}

std::string_view RandomPacketGenerator::TopicFilter() {
  std::string f;
  const int levels = static_cast<int>(Uniform(1, 4));
  for (int i = 0; i < levels; ++i) {
    if (i) f += '/';
    const uint32_t kind = Uniform(0, 5);
    if (kind == 0)
      f += '+';
    else if (kind == 1 && i == levels - 1)
      f += '#';
    else
      f += RandomString(4, false);
  }
  if (f.empty()) f.push_back('x');  // a filter has at least one character
  if (Uniform(0, 5) == 0) {
    std::string shared = "$share/g";
    shared += static_cast<char>('0' + Uniform(0, 9));
    shared += '/';
    shared += f;
    f = std::move(shared);
  }
  return Keep(std::move(f));
}

std::span<const uint8_t> RandomPacketGenerator::RandomBytes(size_t max_len) {
  std::string s(Uniform(0, static_cast<uint32_t>(max_len)), '\0');
  for (char& c : s) c = static_cast<char>(Uniform(0, 255));
  const std::string_view v = Keep(std::move(s));
  return {reinterpret_cast<const uint8_t*>(v.data()), v.size()};
}

void RandomPacketGenerator::FillProperties(Properties& p, uint16_t packet_bit, bool from_server) {
  for (int i = 0; i < kPropertyCount; ++i) {
    const PropertyInfo& info = AllProperties()[i];
    if (!AllowedIn(info, packet_bit) || Uniform(0, 3) != 0) continue;
    const bool publish = packet_bit == PacketBit(PacketType::kPublish);
    const bool disconnect = packet_bit == PacketBit(PacketType::kDisconnect);
    if (info.id == PropertyId::kSubscriptionIdentifier && publish && !from_server) continue;
    if (info.id == PropertyId::kSessionExpiryInterval && disconnect && from_server) continue;
    switch (info.type) {
      case PropertyType::kByte:
        p.SetInt(info.id, Uniform(0, 1));
        break;
      case PropertyType::kTwoByteInt:
        p.SetInt(info.id, Uniform(1, 0xFFFF));
        break;
      case PropertyType::kFourByteInt:
        p.SetInt(info.id, Uniform(1, 0xFFFFFFFF));
        break;
      case PropertyType::kUtf8String:
        p.SetString(info.id,
                    info.id == PropertyId::kResponseTopic ? TopicName() : RandomString(6, true));
        break;
      case PropertyType::kBinary:
        p.SetBinary(info.id, RandomBytes(8));
        if (info.id == PropertyId::kAuthenticationData) {
          p.SetString(PropertyId::kAuthenticationMethod, RandomString(6, false));
        }
        break;
      case PropertyType::kVarInt: {
        auto& ids = ids_.emplace_back();
        const int n = publish ? static_cast<int>(Uniform(1, 3)) : 1;
        for (int k = 0; k < n; ++k) ids.push_back(Uniform(1, 268'435'455));
        p.set_subscription_ids(ids);
        break;
      }
      case PropertyType::kStringPair: {
        auto& pairs = pairs_.emplace_back();
        const int n = static_cast<int>(Uniform(1, 3));
        for (int k = 0; k < n; ++k)
          pairs.push_back({RandomString(4, false), RandomString(4, true)});
        p.set_user_properties(pairs);
        break;
      }
    }
  }
}

ReasonCode RandomPacketGenerator::RandomReason(PacketType type, bool v5) {
  if (!v5) return ReasonCode::kSuccess;
  for (;;) {
    const auto rc = static_cast<ReasonCode>(Uniform(0, 0xA2));
    if (IsReasonCodeAllowed(type, rc)) return rc;
  }
}

Packet RandomPacketGenerator::Next(Role sender, ProtocolVersion version) {
  using PT = PacketType;
  const bool v5 = version == ProtocolVersion::kV5;
  const bool server = sender == Role::kServer;
  static constexpr PT kFromClient[] = {
      PT::kConnect,   PT::kPublish,     PT::kPuback,  PT::kPubrec,     PT::kPubrel, PT::kPubcomp,
      PT::kSubscribe, PT::kUnsubscribe, PT::kPingreq, PT::kDisconnect, PT::kAuth};
  static constexpr PT kFromServer[] = {PT::kConnack,  PT::kPublish,    PT::kPuback, PT::kPubrec,
                                       PT::kPubrel,   PT::kPubcomp,    PT::kSuback, PT::kUnsuback,
                                       PT::kPingresp, PT::kDisconnect, PT::kAuth};
  PT type;
  do {
    type = server ? kFromServer[Uniform(0, 10)] : kFromClient[Uniform(0, 10)];
  } while (!v5 && (type == PT::kAuth || (server && type == PT::kDisconnect)));
  const uint16_t bit = PacketBit(type);
  const auto id = static_cast<uint16_t>(Uniform(1, 0xFFFF));
  auto props = [&](Properties& p) {
    if (v5) FillProperties(p, bit, server);
  };
  switch (type) {
    case PT::kConnect: {
      Connect c{.version = version,
                .clean_start = Coin(),
                .keep_alive = static_cast<uint16_t>(Uniform(0, 0xFFFF)),
                .client_id = RandomString(10, false)};
      props(c.properties);
      if (Coin()) {
        Will& w = c.will.emplace();
        w.qos = static_cast<QoS>(Uniform(0, 2));
        w.retain = Coin();
        w.topic = TopicName();
        w.payload = RandomBytes(20);
        if (v5) FillProperties(w.properties, kWillPropertiesBit, false);
      }
      if (Coin()) c.username = RandomString(8, false);
      if ((v5 || c.username) && Coin()) c.password = RandomBytes(8);
      return c;
    }
    case PT::kConnack: {
      Connack c{.reason_code = v5 ? RandomReason(type, true)
                                  : FromConnackReturnCode(ConnackReturnCode(Uniform(0, 5)))};
      c.session_present = c.reason_code == ReasonCode::kSuccess && Coin();
      props(c.properties);
      return c;
    }
    case PT::kPublish: {
      Publish p{.qos = static_cast<QoS>(Uniform(0, 2)), .retain = Coin(), .topic = TopicName()};
      p.dup = p.qos != QoS::kAtMostOnce && Coin();
      if (p.qos != QoS::kAtMostOnce) p.packet_id = id;
      props(p.properties);
      p.payload = RandomBytes(Uniform(0, 1) ? 16 : 600);
      return p;
    }
    case PT::kPuback: {
      Puback a{.packet_id = id, .reason_code = RandomReason(type, v5)};
      props(a.properties);
      return a;
    }
    case PT::kPubrec: {
      Pubrec a{.packet_id = id, .reason_code = RandomReason(type, v5)};
      props(a.properties);
      return a;
    }
    case PT::kPubrel: {
      Pubrel a{.packet_id = id, .reason_code = RandomReason(type, v5)};
      props(a.properties);
      return a;
    }
    case PT::kPubcomp: {
      Pubcomp a{.packet_id = id, .reason_code = RandomReason(type, v5)};
      props(a.properties);
      return a;
    }
    case PT::kSubscribe: {
      Subscribe s{.packet_id = id};
      props(s.properties);
      const int n = static_cast<int>(Uniform(1, 6));
      for (int i = 0; i < n; ++i) {
        Subscription sub{TopicFilter(), {static_cast<QoS>(Uniform(0, 2))}};
        if (v5) {
          sub.options.no_local = !sub.filter.starts_with("$share/") && Coin();
          sub.options.retain_as_published = Coin();
          sub.options.retain_handling = static_cast<RetainHandling>(Uniform(0, 2));
        }
        s.subscriptions.push_back(sub);
      }
      return s;
    }
    case PT::kSuback: {
      Suback s{.packet_id = id};
      props(s.properties);
      const int n = static_cast<int>(Uniform(1, 12));
      for (int i = 0; i < n; ++i) {
        const ReasonCode rc = RandomReason(type, v5);
        s.reason_codes.push_back(v5 ? rc : static_cast<ReasonCode>(ToV311SubackCode(rc)));
      }
      if (!v5) s.reason_codes[0] = static_cast<ReasonCode>(Uniform(0, 2));
      return s;
    }
    case PT::kUnsubscribe: {
      Unsubscribe u{.packet_id = id};
      props(u.properties);
      const int n = static_cast<int>(Uniform(1, 6));
      for (int i = 0; i < n; ++i) u.filters.push_back(TopicFilter());
      return u;
    }
    case PT::kUnsuback: {
      Unsuback u{.packet_id = id};
      props(u.properties);
      if (v5) {
        const int n = static_cast<int>(Uniform(1, 12));
        for (int i = 0; i < n; ++i) u.reason_codes.push_back(RandomReason(type, true));
      }
      return u;
    }
    case PT::kPingreq:
      return Pingreq{};
    case PT::kPingresp:
      return Pingresp{};
    case PT::kDisconnect: {
      Disconnect d{.reason_code = RandomReason(type, v5)};
      props(d.properties);
      return d;
    }
    case PT::kAuth: {
      Auth a{.reason_code = RandomReason(type, v5)};
      props(a.properties);
      return a;
    }
  }
  return Pingreq{};
}

}  // namespace telemq::mqtt::testing
