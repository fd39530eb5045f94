// Fuzz target: the MQTT decoder on arbitrary bytes, in every role and
// version state, with differential checks against the encoder:
//   - a decoded packet re-encodes to EncodedSize bytes, which decode to an
//     equal packet;
//   - every strict prefix of a decoded packet is "need more";
//   - a prefix of an invalid input is "need more" or the same error.
// Any violation aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <vector>

#include "protocol/mqtt/decoder.h"
#include "protocol/mqtt/encoder.h"

namespace telemq::mqtt {
namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

Decoder Fresh(Role role, std::optional<ProtocolVersion> version) {
  return Decoder({.role = role, .version = version, .max_packet_size = 1 << 20});
}

// Prefixes of `bytes` (all of them for short inputs, a sample otherwise)
// must say "need more" or, when the whole input is an error, that error.
void CheckPrefixes(Role role, std::optional<ProtocolVersion> version,
                   std::span<const uint8_t> bytes, const DecodeResult& whole) {
  const size_t end = whole.ok() ? whole.consumed : bytes.size();
  const size_t step = end <= 64 ? 1 : end / 32;
  for (size_t n = 0; n < end; n += step) {
    Decoder d = Fresh(role, version);
    Packet p;
    const DecodeResult r = d.Decode(bytes.first(n), &p);
    Check(r.status == DecodeStatus::kNeedMore ||
          (r.status == DecodeStatus::kError && r.error == whole.error));
  }
}

void ReEncode(const Packet& packet, Role role, ProtocolVersion version) {
  const size_t size = EncodedSize(packet, version);
  Check(size != 0);
  std::vector<uint8_t> out(size);
  Check(Encode(packet, version, out) == size);
  const bool connect = TypeOf(packet) == PacketType::kConnect;
  Decoder d = Fresh(role, connect ? std::nullopt : std::optional(version));
  Packet back;
  const DecodeResult r = d.Decode(out, &back);
  Check(r.ok() && r.consumed == size);
  Check(back == packet);
  if (const auto* pub = std::get_if<Publish>(&packet)) {
    std::vector<uint8_t> header(PublishHeaderSize(*pub, version));
    Check(EncodePublishHeader(*pub, version, header) == header.size());
    Check(std::equal(header.begin(), header.end(), out.begin()));
  }
}

void Run(Role role, std::optional<ProtocolVersion> version, std::span<const uint8_t> bytes) {
  Decoder d = Fresh(role, version);
  bool first = true;
  while (!bytes.empty()) {
    const std::optional<ProtocolVersion> before = d.version();
    Packet p;
    const DecodeResult r = d.Decode(bytes, &p);
    if (first) CheckPrefixes(role, before, bytes, r);
    first = false;
    if (!r.ok()) return;
    Check(r.consumed > 0 && r.consumed <= bytes.size());
    Check(d.version().has_value());
    ReEncode(p, role, *d.version());
    if (const auto* pub = std::get_if<Publish>(&p)) (void)CheckPayloadFormat(*pub);
    bytes = bytes.subspan(r.consumed);
  }
}

}  // namespace
}  // namespace telemq::mqtt

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace telemq::mqtt;
  const std::span<const uint8_t> bytes(data, size);
  Run(Role::kServer, std::nullopt, bytes);
  for (ProtocolVersion v : {ProtocolVersion::kV311, ProtocolVersion::kV5}) {
    Run(Role::kServer, v, bytes);
    Run(Role::kClient, v, bytes);
  }
  return 0;
}
