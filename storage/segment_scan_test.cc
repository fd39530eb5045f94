#include "storage/segment_scan.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "storage/log_test_util.h"
#include "storage/mem_env.h"

namespace telemq::storage {
namespace {

using testing::MakeBatch;
using testing::SegmentPath;

TEST(SegmentScan, ReportsEveryBatchAndRecordOfAGoodSegment) {
  MemEnv env;
  const std::string path = SegmentPath("/p", 100);
  env.SetContents(path, MakeBatch(100, 5) + MakeBatch(105, 7));
  std::vector<uint64_t> positions;
  std::vector<uint64_t> offsets;
  absl::StatusOr<SegmentScanResult> r = ScanSegmentFile(
      &env, path,
      {.on_batch = [&](uint64_t pos, const BatchHeader&) { positions.push_back(pos); },
       .on_record = [&](const Record& rec) { offsets.push_back(rec.offset); }});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->damaged());
  EXPECT_EQ(r->batches, 2u);
  EXPECT_EQ(r->records, 12u);
  EXPECT_EQ(r->end_offset, 112u);
  EXPECT_EQ(r->valid_bytes, r->file_bytes);
  EXPECT_EQ(positions, (std::vector<uint64_t>{0, MakeBatch(100, 5).size()}));
  ASSERT_EQ(offsets.size(), 12u);
  EXPECT_EQ(offsets.front(), 100u);
  EXPECT_EQ(offsets.back(), 111u);
  EXPECT_EQ(r->Describe(), "2 batches, 12 records, offsets [100, 112), " +
                               std::to_string(r->valid_bytes) + " bytes: ok");
}

TEST(SegmentScan, FirstErrorWithItsBytePositionAndWhatFollows) {
  MemEnv env;
  const std::string path = SegmentPath("/p", 0);
  const std::string a = MakeBatch(0, 5), b = MakeBatch(5, 5), c = MakeBatch(10, 5);
  env.SetContents(path, a + b + c);
  testing::FlipByte(env, path, a.size() + 60);
  const SegmentScanResult r = *ScanSegmentFile(&env, path);
  EXPECT_EQ(r.stop, ReadError::kPayloadCrc);
  EXPECT_EQ(r.valid_bytes, a.size());
  EXPECT_EQ(r.end_offset, 5u);
  EXPECT_EQ(r.next_valid_position, a.size() + b.size());
  EXPECT_EQ(r.highest_offset_seen, 15u);
  EXPECT_EQ(r.Describe(), "payload crc mismatch at byte " + std::to_string(a.size()) +
                              " (valid batch follows at byte " +
                              std::to_string(a.size() + b.size()) + ")");
}

TEST(SegmentScan, TornTailHasNoValidBatchAfterIt) {
  MemEnv env;
  const std::string path = SegmentPath("/p", 0);
  const std::string a = MakeBatch(0, 5), b = MakeBatch(5, 5);
  env.SetContents(path, a + b.substr(0, b.size() - 1));
  const SegmentScanResult r = *ScanSegmentFile(&env, path);
  EXPECT_EQ(r.stop, ReadError::kTruncatedPayload);
  EXPECT_EQ(r.next_valid_position, kNoPosition);
}

TEST(SegmentScan, QuarantinedFilesCanBeScanned) {
  MemEnv env;
  env.SetContents(SegmentPath("/p", 7) + ".corrupt.2", MakeBatch(7, 1));
  EXPECT_EQ(ScanSegmentFile(&env, SegmentPath("/p", 7) + ".corrupt.2")->records, 1u);
  EXPECT_EQ(ScanSegmentFile(&env, "/p/notes.txt").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SegmentScan, ListPartitionFilesSortsByBaseThenKind) {
  MemEnv env;
  env.SetContents(SegmentPath("/p", 20), "abc");
  env.SetContents(testing::IndexPath("/p", 20), "");
  env.SetContents(SegmentPath("/p", 0) + ".corrupt", "");
  env.SetContents("/p/README", "");
  absl::StatusOr<std::vector<PartitionFileInfo>> files = ListPartitionFiles(&env, "/p");
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), 3u);
  EXPECT_EQ((*files)[0].kind, FileKind::kQuarantined);
  EXPECT_EQ((*files)[1].kind, FileKind::kSegment);
  EXPECT_EQ((*files)[1].base_offset, 20u);
  EXPECT_EQ((*files)[1].bytes, 3u);
  EXPECT_EQ((*files)[2].kind, FileKind::kIndex);
}

TEST(FileNames, SegmentNamesRoundTrip) {
  EXPECT_EQ(SegmentFileName(52113), "00000000000000052113.log");
  const ParsedFileName p = ParseFileName("00000000000000052113.log");
  EXPECT_EQ(p.kind, FileKind::kSegment);
  EXPECT_EQ(p.base_offset, 52113u);
  EXPECT_EQ(ParseFileName("0000000000000005211.log").kind, FileKind::kOther);
  EXPECT_EQ(ParseFileName("99999999999999999999.log").kind, FileKind::kOther);  // > kMaxOffset
  EXPECT_EQ(ParseFileName("00000000000000052113.log.corrupt.3").kind, FileKind::kQuarantined);
}

}  // namespace
}  // namespace telemq::storage
