// Fuzz target: arbitrary bytes as the segment files of a partition (MemEnv),
// through recovery and reading. Never crashes or hangs, and whatever
// recovery accepts reads back consistently:
//   - Open succeeds (damage is repaired and reported, not refused);
//   - every record from start_offset reads back, offsets strictly increasing,
//     dense inside a segment, below next_offset;
//   - records appended after recovery get next_offset on, are durable after
//     FlushNow(true), and the partition reopens clean with all of it.
// Any violation aborts.
//
// Input: a 5-byte header, then the segment bytes.
//   u8 mode    bit 0: two segments (the second starts at `split`, base `base2`)
//              bit 1: a .idx for the first segment made of the input's tail
//              bit 2: verify_all_segments
//   u16 split, u16 base2 (little-endian)
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "storage/file_names.h"
#include "storage/mem_env.h"
#include "storage/partition.h"
#include "storage/segment_scan.h"

namespace telemq::storage {
namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

constexpr char kDir[] = "/p";

PartitionOptions Options(bool verify_all) {
  return {.dir = kDir,
          .segment_bytes = 4096,
          .index_interval_bytes = 256,
          .max_batch_bytes = 512,
          .verify_all_segments = verify_all};
}

// Reads everything; returns the offsets, or aborts on inconsistency. A read
// error is tolerated only when `strict` is off (an index trusted on open
// without a scan may hide damage the reader then reports).
std::vector<uint64_t> ReadBack(const Partition& p, bool strict) {
  std::set<uint64_t> bases;
  for (const SegmentInfo& s : p.Segments()) bases.insert(s.base_offset);
  std::vector<uint64_t> offsets;
  absl::StatusOr<std::unique_ptr<LogReader>> reader = p.NewReader(p.start_offset());
  Check(reader.ok());
  Record r;
  while (true) {
    absl::StatusOr<bool> more = (*reader)->Next(&r);
    if (!more.ok()) {
      Check(!strict);
      break;
    }
    if (!*more) break;
    Check(r.offset >= p.start_offset() && r.offset < p.written_offset());
    if (!offsets.empty()) {
      Check(r.offset > offsets.back());
      Check(r.offset == offsets.back() + 1 || bases.contains(r.offset));
    }
    offsets.push_back(r.offset);
  }
  return offsets;
}

void Run(std::string_view input) {
  uint8_t mode = 0;
  size_t split = input.size();
  uint64_t base2 = 1;
  if (input.size() >= 5) {
    mode = static_cast<uint8_t>(input[0]);
    split = static_cast<uint8_t>(input[1]) | (static_cast<uint8_t>(input[2]) << 8);
    base2 = static_cast<uint8_t>(input[3]) | (static_cast<uint8_t>(input[4]) << 8);
    input.remove_prefix(5);
  }
  const bool two = (mode & 1) != 0;
  const bool with_index = (mode & 2) != 0;
  const bool verify_all = (mode & 4) != 0;
  split = two ? std::min(split, input.size()) : input.size();
  base2 = std::max<uint64_t>(base2, 1);

  MemEnv env;
  env.SetContents(JoinPath(kDir, SegmentFileName(0)), input.substr(0, split));
  if (two) env.SetContents(JoinPath(kDir, SegmentFileName(base2)), input.substr(split));
  if (with_index) {
    env.SetContents(JoinPath(kDir, IndexFileName(0)), input.substr(input.size() / 2));
  }
  // The tool's view of the raw files must not crash either.
  Check(ScanSegmentFile(&env, JoinPath(kDir, SegmentFileName(0))).ok());

  const bool strict = verify_all || !with_index;
  RecoveryReport report;
  uint64_t next = 0;
  std::vector<uint64_t> before;
  {
    absl::StatusOr<std::unique_ptr<Partition>> opened =
        Partition::Open(&env, Options(verify_all), &report);
    Check(opened.ok());
    Partition& p = **opened;
    Check(p.start_offset() <= p.next_offset());
    Check(p.durable_offset() == p.next_offset());
    before = ReadBack(p, strict);
    Check(!strict || before.empty() || before.back() < p.next_offset());
    (void)p.OffsetForTime(before.empty() ? 0 : static_cast<int64_t>(before.back()));
    next = p.next_offset();
    if (next > kMaxOffset - 5) return;  // a crafted header used up the offsets
    for (int i = 0; i < 5; ++i) {
      absl::StatusOr<uint64_t> off = p.Append(1, "k", "fuzz", 1000 + i);
      Check(off.ok() && *off == next + i);
    }
    Check(p.FlushNow(/*sync=*/true).ok());
    Check(p.durable_offset() == next + 5);
  }
  absl::StatusOr<std::unique_ptr<Partition>> reopened =
      Partition::Open(&env, Options(verify_all), &report);
  Check(reopened.ok());
  Check(report.torn_bytes == 0 && report.quarantined.empty());
  Check((*reopened)->next_offset() == next + 5);
  if (strict) {
    const std::vector<uint64_t> after = ReadBack(**reopened, true);
    Check(after.size() == before.size() + 5);
    Check(std::equal(before.begin(), before.end(), after.begin()));
    Check(after.back() == next + 4);
  }
}

}  // namespace
}  // namespace telemq::storage

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  telemq::storage::Run(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
