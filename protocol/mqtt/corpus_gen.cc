// Writes the fuzz seed corpus: one file per golden packet (both versions,
// every packet type), plus a few multi-packet streams.
//
//   mqtt_corpus_gen tests/fuzz/mqtt_corpus
#include <cstdio>
#include <fstream>
#include <string>

#include "protocol/mqtt/golden_packets.h"

int main(int argc, char** argv) {
  using telemq::mqtt::Role;
  using telemq::mqtt::testing::GoldenPackets;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  int files = 0;
  auto write = [&](const std::string& name, const std::vector<uint8_t>& bytes) {
    std::ofstream out(dir + "/" + name, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    ++files;
  };
  for (const auto& g : GoldenPackets()) write(std::string(g.name), g.bytes);
  // A server-side session per version: CONNECT followed by client packets.
  for (auto version : {telemq::mqtt::ProtocolVersion::kV311, telemq::mqtt::ProtocolVersion::kV5}) {
    std::vector<uint8_t> stream;
    for (const auto& g : GoldenPackets()) {
      const bool connect = TypeOf(g.packet) == telemq::mqtt::PacketType::kConnect;
      if (g.role != Role::kServer || g.version != version || connect != stream.empty()) continue;
      stream.insert(stream.end(), g.bytes.begin(), g.bytes.end());
    }
    write(
        version == telemq::mqtt::ProtocolVersion::kV5 ? "stream_v5_session" : "stream_v311_session",
        stream);
  }
  std::printf("wrote %d files to %s\n", files, dir.c_str());
  return 0;
}
