#include "protocol/mqtt/encoder.h"

#include "protocol/mqtt/encode_body.h"

namespace telemq::mqtt {
namespace {

using encode_body::Layout;

// Total size, or 0 when the body cannot be carried by a remaining length.
size_t TotalSize(const Layout& l) {
  if (!l.ok || l.body > wire::kMaxVarInt) return 0;
  return 1 + wire::VarIntSize(static_cast<uint32_t>(l.body)) + l.body;
}

uint8_t* WriteFixedHeader(uint8_t first, size_t body, uint8_t* p) {
  wire::Writer w(p);
  w.U8(first);
  w.VarInt(static_cast<uint32_t>(body));
  return w.pos();
}

}  // namespace

size_t EncodedSize(const Publish& publish, ProtocolVersion version) {
  return TotalSize(encode_body::PublishLayout(publish, version == ProtocolVersion::kV5));
}

size_t Encode(const Publish& publish, ProtocolVersion version, std::span<uint8_t> out) {
  const bool v5 = version == ProtocolVersion::kV5;
  const Layout l = encode_body::PublishLayout(publish, v5);
  const size_t total = TotalSize(l);
  if (total == 0 || total > out.size()) return 0;
  wire::Writer w(WriteFixedHeader(encode_body::PublishFirstByte(publish), l.body, out.data()));
  encode_body::WritePublishHeader(publish, v5, l, w);
  w.Bytes(publish.payload.data(), publish.payload.size());
  return total;
}

size_t PublishHeaderSize(const Publish& publish, ProtocolVersion version) {
  const size_t total = EncodedSize(publish, version);
  return total == 0 ? 0 : total - publish.payload.size();
}

size_t EncodePublishHeader(const Publish& publish, ProtocolVersion version,
                           std::span<uint8_t> out) {
  const bool v5 = version == ProtocolVersion::kV5;
  const Layout l = encode_body::PublishLayout(publish, v5);
  const size_t total = TotalSize(l);
  if (total == 0) return 0;
  const size_t header = total - publish.payload.size();
  if (header > out.size()) return 0;
  wire::Writer w(WriteFixedHeader(encode_body::PublishFirstByte(publish), l.body, out.data()));
  encode_body::WritePublishHeader(publish, v5, l, w);
  return header;
}

size_t EncodedSize(const Packet& packet, ProtocolVersion version) {
  if (const auto* pub = std::get_if<Publish>(&packet)) return EncodedSize(*pub, version);
  return TotalSize(encode_body::GetLayout(packet, version));
}

size_t Encode(const Packet& packet, ProtocolVersion version, std::span<uint8_t> out) {
  if (const auto* pub = std::get_if<Publish>(&packet)) return Encode(*pub, version, out);
  const Layout l = encode_body::GetLayout(packet, version);
  const size_t total = TotalSize(l);
  if (total == 0 || total > out.size()) return 0;
  wire::Writer w(WriteFixedHeader(encode_body::FirstByte(packet), l.body, out.data()));
  encode_body::WriteBody(packet, version, l, w);
  return total;
}

}  // namespace telemq::mqtt
