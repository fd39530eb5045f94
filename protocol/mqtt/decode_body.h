// telemq: internal per-packet body decoders used by Decoder::Decode.
//
// Each gets a Reader over exactly the packet's body (the remaining length),
// fills its packet and returns kNone or the first rule it finds broken. Each
// must consume the whole body; the caller does not check for trailing bytes.
#pragma once

#include <cstdint>

#include "protocol/mqtt/decode_error.h"
#include "protocol/mqtt/decoder.h"
#include "protocol/mqtt/packets.h"
#include "protocol/mqtt/wire.h"

namespace telemq::mqtt::decode_body {

struct Context {
  ProtocolVersion version;  // meaningless for CONNECT, which carries its own
  Role role;
  uint8_t flags;  // low nibble of the first byte
  bool v5() const { return version == ProtocolVersion::kV5; }
};

DecodeError Connect(wire::Reader& r, mqtt::Connect* out);
DecodeError Connack(const Context& c, wire::Reader& r, mqtt::Connack* out);
DecodeError Publish(const Context& c, wire::Reader& r, mqtt::Publish* out);
template <PacketType kType>
DecodeError Ack(const Context& c, wire::Reader& r, PublishAck<kType>* out);
DecodeError Subscribe(const Context& c, wire::Reader& r, mqtt::Subscribe* out);
DecodeError Suback(const Context& c, wire::Reader& r, mqtt::Suback* out);
DecodeError Unsubscribe(const Context& c, wire::Reader& r, mqtt::Unsubscribe* out);
DecodeError Unsuback(const Context& c, wire::Reader& r, mqtt::Unsuback* out);
DecodeError Disconnect(const Context& c, wire::Reader& r, mqtt::Disconnect* out);
DecodeError Auth(wire::Reader& r, mqtt::Auth* out);

// Maps a failed topic filter check to the decoder's error.
DecodeError FilterError(std::string_view filter);

inline DecodeError EndOfBody(const wire::Reader& r) {
  return r.remaining() == 0 ? DecodeError::kNone : DecodeError::kTrailingBytes;
}

}  // namespace telemq::mqtt::decode_body
