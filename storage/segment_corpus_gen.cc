// Writes the seed corpus of segment_fuzz (tests/fuzz/segment_corpus): good
// segments and every kind of damage, in segment_fuzz's input layout.
//
//   segment_corpus_gen tests/fuzz/segment_corpus
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "storage/batch_format.h"

namespace telemq::storage {
namespace {

std::string Batch(uint64_t base, uint32_t count) {
  BatchBuilder b(base);
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t off = base + i;
    b.Add(static_cast<uint8_t>(off % 3), "t/" + std::to_string(off % 4),
          std::string(10 + off % 50, static_cast<char>('a' + off % 26)),
          1'700'000'000'000'000'000 + static_cast<int64_t>(off) * 1000);
  }
  return b.Finish();
}

std::string Segment(uint64_t base, int batches, uint32_t per_batch) {
  std::string s;
  for (int i = 0; i < batches; ++i) s += Batch(base + uint64_t(i) * per_batch, per_batch);
  return s;
}

// segment_fuzz's 5-byte header.
std::string Input(uint8_t mode, size_t split, uint16_t base2, const std::string& body) {
  std::string h(5, '\0');
  h[0] = static_cast<char>(mode);
  h[1] = static_cast<char>(split & 0xff);
  h[2] = static_cast<char>((split >> 8) & 0xff);
  h[3] = static_cast<char>(base2 & 0xff);
  h[4] = static_cast<char>(base2 >> 8);
  return h + body;
}

void Write(const std::string& dir, const std::string& name, const std::string& bytes) {
  std::ofstream(dir + "/" + name, std::ios::binary) << bytes;
}

}  // namespace
}  // namespace telemq::storage

int main(int argc, char** argv) {
  using namespace telemq::storage;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const std::string good = Segment(0, 4, 5);
  const size_t batch = Batch(0, 5).size();
  Write(dir, "empty", Input(0, 0, 0, ""));
  Write(dir, "good", Input(0, 0, 0, good));
  Write(dir, "torn_payload", Input(0, 0, 0, good.substr(0, good.size() - 9)));
  Write(dir, "torn_header", Input(0, 0, 0, good + Batch(20, 3).substr(0, 30)));
  Write(dir, "zero_tail", Input(0, 0, 0, good + std::string(300, '\0')));
  std::string middle = good;
  middle[batch + 70] ^= 0x20;  // payload of the second batch: valid batches follow
  Write(dir, "damage_before_tail", Input(0, 0, 0, middle));
  std::string header = good;
  header[batch + 12] ^= 0x01;  // a damaged length
  Write(dir, "header_crc", Input(0, 0, 0, header));
  Write(dir, "wrong_offsets", Input(0, 0, 0, Batch(0, 5) + Batch(9, 5)));
  const std::string second = Segment(20, 3, 4);
  Write(dir, "two_segments", Input(1, good.size(), 20, good + second));
  Write(dir, "two_segments_verify", Input(5, good.size(), 20, middle + second));
  Write(dir, "two_segments_gap", Input(1, good.size(), 40, good + Segment(40, 2, 3)));
  Write(dir, "with_index", Input(2, 0, 0, good + good));
  Write(dir, "big_batch", Input(0, 0, 0, Batch(0, 400)));
  return 0;
}
