// Partition::Open after clean shutdowns, torn writes and corruption
// (docs/log_format.md, "Recovery"), against MemEnv files shaped byte by byte.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/log_test_util.h"
#include "storage/mem_env.h"
#include "storage/partition.h"
#include "storage/segment_index.h"

namespace telemq::storage {
namespace {

using testing::AppendRecords;
using ::testing::HasSubstr;
using testing::IndexPath;
using testing::MakeBatch;
using testing::ReadAll;
using testing::SegmentPath;

class RecoveryTest : public ::testing::Test {
 protected:
  std::unique_ptr<Partition> Open() {
    absl::StatusOr<std::unique_ptr<Partition>> p = Partition::Open(&env_, options_, &report_);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *std::move(p) : nullptr;
  }
  // Writes `batches` batches of 10 records each as one flushed, synced
  // partition, and closes it.
  void Populate(int batches) {
    auto p = Open();
    for (int i = 0; i < batches; ++i) {
      AppendRecords(*p, 10);
      ASSERT_TRUE(p->FlushNow(true).ok());
    }
  }
  std::vector<uint64_t> Offsets(const Partition& p, uint64_t from) {
    std::vector<uint64_t> offsets;
    auto records = ReadAll(p, from);
    EXPECT_TRUE(records.ok()) << records.status();
    if (!records.ok()) return offsets;
    for (const auto& r : *records) {
      EXPECT_TRUE(testing::IsExpected(r)) << r.offset;
      offsets.push_back(r.offset);
    }
    return offsets;
  }
  uint64_t Size(const std::string& path) { return env_.Contents(path)->size(); }

  MemEnv env_;
  PartitionOptions options_{.dir = "/p", .segment_bytes = 1 << 20};
  RecoveryReport report_;
  const std::string seg0_ = SegmentPath("/p", 0);
};

TEST_F(RecoveryTest, EmptyDirectoryStartsAtOffsetZero) {
  auto p = Open();
  EXPECT_EQ(p->next_offset(), 0u);
  EXPECT_EQ(report_.segments, 1u);
  EXPECT_TRUE(env_.Exists(seg0_));
  EXPECT_THAT(report_.ToString("/p"), HasSubstr("clean"));
}

TEST_F(RecoveryTest, CleanReopenKeepsEveryRecordAndRebuildsNothing) {
  options_.segment_bytes = 4096;
  Populate(30);
  auto p = Open();
  EXPECT_GT(report_.segments, 3u);
  EXPECT_EQ(report_.indexes_rebuilt, 0u);
  EXPECT_EQ(report_.torn_bytes, 0u);
  EXPECT_TRUE(report_.quarantined.empty());
  EXPECT_EQ(p->next_offset(), 300u);
  EXPECT_EQ(p->durable_offset(), 300u);
  EXPECT_EQ(Offsets(*p, 0).size(), 300u);
  // Only the last segment was scanned.
  EXPECT_EQ(report_.bytes_scanned, p->Segments().back().bytes);
}

TEST_F(RecoveryTest, TornTailIsTruncatedAndReportedWithTheByteCount) {
  Populate(3);
  const uint64_t size = Size(seg0_);
  const uint64_t last_batch = size - MakeBatch(20, 10).size();
  testing::TruncateFile(env_, seg0_, size - 7);  // the last batch lost its 7 last bytes
  auto p = Open();
  EXPECT_EQ(report_.torn_bytes, size - 7 - last_batch);
  EXPECT_EQ(report_.torn_reason, "truncated payload at byte " + std::to_string(last_batch));
  EXPECT_TRUE(report_.quarantined.empty());
  EXPECT_EQ(Size(seg0_), last_batch);
  EXPECT_EQ(p->next_offset(), 20u);  // never acknowledged: reused
  AppendRecords(*p, 1);
  ASSERT_TRUE(p->FlushNow(true).ok());
  EXPECT_EQ(Offsets(*p, 0).size(), 21u);
}

TEST_F(RecoveryTest, GarbageAfterTheLastBatchIsATornTail) {
  Populate(2);
  const uint64_t size = Size(seg0_);
  testing::StoreBytes(env_, seg0_, size, std::string(64, 'j'));  // no magic anywhere
  auto p = Open();
  EXPECT_EQ(report_.torn_bytes, 64u);
  EXPECT_EQ(report_.torn_reason, "bad magic at byte " + std::to_string(size));
  EXPECT_EQ(p->next_offset(), 20u);
}

TEST_F(RecoveryTest, ZeroesAfterTheLastBatchAreKeptAndWrittenOver) {
  // A prepared segment (segment_preparer.h): zeroes to the end of the file.
  Populate(2);
  const uint64_t size = Size(seg0_);
  testing::StoreBytes(env_, seg0_, size, std::string(4096, '\0'));
  {
    auto p = Open();
    EXPECT_EQ(report_.torn_bytes, 0u);
    EXPECT_EQ(Size(seg0_), size + 4096);  // not truncated: the next writes go over it
    EXPECT_EQ(p->next_offset(), 20u);
    AppendRecords(*p, 10);
    ASSERT_TRUE(p->FlushNow(true).ok());
    EXPECT_EQ(Size(seg0_), size + 4096);
  }
  env_.DropUnsyncedData();
  auto p = Open();
  EXPECT_EQ(report_.torn_bytes, 0u);
  EXPECT_TRUE(report_.quarantined.empty());
  EXPECT_EQ(Offsets(*p, 0).size(), 30u);
}

TEST_F(RecoveryTest, ZeroesFollowedByGarbageAreATornTail) {
  Populate(2);
  const uint64_t size = Size(seg0_);
  testing::StoreBytes(env_, seg0_, size, std::string(4096, '\0') + std::string(64, 'j'));
  auto p = Open();
  EXPECT_EQ(report_.torn_bytes, 4096u + 64);
  EXPECT_EQ(report_.torn_reason, "zeroes at byte " + std::to_string(size));
  EXPECT_EQ(Size(seg0_), size);
  EXPECT_EQ(p->next_offset(), 20u);
}

TEST_F(RecoveryTest, ClosedSegmentWithAZeroTailIsCutNotQuarantined) {
  // A crash after a roll, before the old segment's truncation reached the
  // disk: the closed segment is complete, then zeroes.
  options_.segment_bytes = 2000;
  Populate(6);
  const uint64_t size = Size(seg0_);
  testing::StoreBytes(env_, seg0_, size, std::string(1000, '\0'));
  auto p = Open();
  ASSERT_GT(p->Segments().size(), 1u);
  EXPECT_TRUE(report_.quarantined.empty());
  EXPECT_EQ(report_.torn_bytes, 0u);
  EXPECT_EQ(Size(seg0_), size);
  EXPECT_EQ(Offsets(*p, 0).size(), 60u);
}

TEST_F(RecoveryTest, ClosedSegmentWithAZeroTailAndMissingRecordsIsQuarantined) {
  // The zeroes hide records the next segment's base says were there.
  options_.segment_bytes = 2000;
  Populate(6);
  const uint64_t batch = MakeBatch(0, 10).size();
  testing::StoreBytes(env_, seg0_, batch, std::string(Size(seg0_) - batch, '\0'));
  options_.verify_all_segments = true;  // the saved index still matches the size
  auto p = Open();
  ASSERT_EQ(report_.quarantined.size(), 1u);
  EXPECT_EQ(report_.quarantined[0].lost_from, 10u);
}

TEST_F(RecoveryTest, CorruptionBeforeTheTailIsQuarantinedAndOffsetsAreNotReused) {
  Populate(3);
  const uint64_t batch = MakeBatch(0, 10).size();
  testing::FlipByte(env_, seg0_, batch + 100);  // inside the second batch's payload
  auto p = Open();
  ASSERT_EQ(report_.quarantined.size(), 1u);
  const RecoveryReport::Quarantined& q = report_.quarantined[0];
  EXPECT_EQ(q.file, "/p/00000000000000000000.log.corrupt");
  EXPECT_EQ(q.lost_from, 10u);
  EXPECT_EQ(q.lost_to, 30u);
  EXPECT_THAT(q.reason, HasSubstr("payload crc mismatch at byte " + std::to_string(batch)));
  EXPECT_THAT(q.reason, HasSubstr("valid batch follows"));
  EXPECT_TRUE(env_.Exists(q.file));
  EXPECT_EQ(Size(seg0_), batch);  // the valid prefix, in a fresh file
  EXPECT_EQ(report_.torn_bytes, 0u);
  // The batch after the damage held offsets up to 30: they are never reused.
  EXPECT_EQ(p->next_offset(), 30u);
  EXPECT_EQ(p->Segments().back().base_offset, 30u);
  AppendRecords(*p, 5);
  ASSERT_TRUE(p->FlushNow(true).ok());
  const std::vector<uint64_t> offsets = Offsets(*p, 0);
  ASSERT_EQ(offsets.size(), 15u);
  EXPECT_EQ(offsets[9], 9u);
  EXPECT_EQ(offsets[10], 30u);
  EXPECT_THAT(report_.ToString("/p"), HasSubstr("offsets [10, 30) may be lost"));
}

TEST_F(RecoveryTest, MisplacedBatchInTheLastSegmentIsQuarantinedNotTruncated) {
  env_.SetContents(seg0_, MakeBatch(0, 10) + MakeBatch(50, 10));  // a complete batch, wrong offset
  auto p = Open();
  ASSERT_EQ(report_.quarantined.size(), 1u);
  EXPECT_THAT(report_.quarantined[0].reason, HasSubstr("offset sequence error"));
  EXPECT_EQ(p->next_offset(), 60u);
}

TEST_F(RecoveryTest, DamagedClosedSegmentIsQuarantined) {
  options_.segment_bytes = 2048;
  Populate(20);
  auto segments = Open()->Segments();
  ASSERT_GT(segments.size(), 2u);
  const SegmentInfo first = segments[0];
  testing::FlipByte(env_, first.path, first.bytes - 1);
  env_.Remove(IndexPath("/p", 0)).IgnoreError();  // no index: it gets scanned
  auto p = Open();
  ASSERT_EQ(report_.quarantined.size(), 1u);
  EXPECT_EQ(report_.quarantined[0].lost_to, first.end_offset);
  EXPECT_LT(report_.quarantined[0].lost_from, first.end_offset);
  EXPECT_EQ(p->start_offset(), 0u);
  EXPECT_EQ(p->next_offset(), 200u);
  EXPECT_EQ(Offsets(*p, 0).size(),
            200u - (report_.quarantined[0].lost_to - report_.quarantined[0].lost_from));
}

TEST_F(RecoveryTest, MissingIndexIsRebuilt) {
  options_.segment_bytes = 2048;
  Populate(10);
  const std::string saved = *env_.Contents(IndexPath("/p", 0));
  ASSERT_TRUE(env_.Remove(IndexPath("/p", 0)).ok());
  auto p = Open();
  EXPECT_EQ(report_.indexes_rebuilt, 1u);
  EXPECT_EQ(*env_.Contents(IndexPath("/p", 0)), saved);
  EXPECT_THAT(report_.ToString("/p"), HasSubstr("1 index rebuilt"));
}

TEST_F(RecoveryTest, DamagedIndexIsRebuilt) {
  options_.segment_bytes = 2048;
  Populate(10);
  const std::string saved = *env_.Contents(IndexPath("/p", 0));
  testing::FlipByte(env_, IndexPath("/p", 0), 30);
  auto p = Open();
  EXPECT_EQ(report_.indexes_rebuilt, 1u);
  EXPECT_EQ(*env_.Contents(IndexPath("/p", 0)), saved);
  EXPECT_EQ(Offsets(*p, 0).size(), 100u);
}

TEST_F(RecoveryTest, StaleIndexIsRebuilt) {
  Populate(2);
  const std::string stale = *env_.Contents(IndexPath("/p", 0));  // covers 2 batches
  Populate(2);  // reopens and adds 2 more; the destructor saves the index
  env_.SetContents(IndexPath("/p", 0), stale);
  auto p = Open();
  EXPECT_EQ(report_.indexes_rebuilt, 1u);
  EXPECT_EQ(p->next_offset(), 40u);
}

TEST_F(RecoveryTest, FullLastSegmentStartsANewOne) {
  Populate(3);
  options_.segment_bytes = 100;  // the existing segment is already beyond it
  auto p = Open();
  EXPECT_EQ(report_.segments, 2u);
  EXPECT_EQ(p->Segments().back().base_offset, 30u);
  EXPECT_TRUE(env_.Exists(IndexPath("/p", 0)));
}

TEST_F(RecoveryTest, InterruptedQuarantineIsFinished) {
  const std::string prefix = MakeBatch(0, 10);
  env_.SetContents(seg0_ + ".repair", prefix);  // crash between the two renames
  env_.SetContents(seg0_ + ".corrupt", prefix + "damage");
  auto p = Open();
  EXPECT_FALSE(env_.Exists(seg0_ + ".repair"));
  EXPECT_EQ(*env_.Contents(seg0_), prefix);
  EXPECT_EQ(p->next_offset(), 10u);
}

TEST_F(RecoveryTest, RepairBesideItsSegmentIsDiscarded) {
  env_.SetContents(seg0_, MakeBatch(0, 10));
  env_.SetContents(seg0_ + ".repair", "partial copy");
  auto p = Open();
  EXPECT_FALSE(env_.Exists(seg0_ + ".repair"));
  EXPECT_EQ(p->next_offset(), 10u);
}

TEST_F(RecoveryTest, LeftoverTempAndOrphanIndexesAreRemoved) {
  env_.SetContents(IndexPath("/p", 0) + ".tmp", "x");
  env_.SetContents(IndexPath("/p", 500), "orphan");
  auto p = Open();
  EXPECT_FALSE(env_.Exists(IndexPath("/p", 0) + ".tmp"));
  EXPECT_FALSE(env_.Exists(IndexPath("/p", 500)));
}

TEST_F(RecoveryTest, VerifyAllSegmentsFindsDamageBehindAMatchingIndex) {
  options_.segment_bytes = 2048;
  Populate(10);
  testing::FlipByte(env_, seg0_, 200);
  Open();
  EXPECT_TRUE(report_.quarantined.empty());  // the index matches: not scanned
  options_.verify_all_segments = true;
  Open();
  ASSERT_EQ(report_.quarantined.size(), 1u);
  EXPECT_EQ(report_.quarantined[0].lost_from, 0u);
}

TEST_F(RecoveryTest, AQuarantineNeverOverwritesAnEarlierOne) {
  env_.SetContents(seg0_ + ".corrupt", "an earlier quarantine");
  std::string data = MakeBatch(0, 10) + MakeBatch(10, 10) + MakeBatch(20, 10);
  data[MakeBatch(0, 10).size() + 60] ^= 1;
  env_.SetContents(seg0_, data);
  Open();
  ASSERT_EQ(report_.quarantined.size(), 1u);
  EXPECT_EQ(report_.quarantined[0].file, seg0_ + ".corrupt.1");
  EXPECT_EQ(*env_.Contents(seg0_ + ".corrupt"), "an earlier quarantine");
}

TEST_F(RecoveryTest, OffsetsOfAQuarantinedSegmentAreNeverReused) {
  env_.SetContents(SegmentPath("/p", 100) + ".corrupt", "whatever it held");
  auto p = Open();
  EXPECT_EQ(p->next_offset(), 100u);
}

TEST_F(RecoveryTest, LastSegmentDamagedAtByteZeroIsReplaced) {
  env_.SetContents(SegmentPath("/p", 40), "garbage" + MakeBatch(40, 10));
  auto p = Open();
  ASSERT_EQ(report_.quarantined.size(), 1u);
  EXPECT_EQ(report_.quarantined[0].lost_from, 40u);
  EXPECT_EQ(report_.quarantined[0].lost_to, 50u);
  EXPECT_EQ(p->next_offset(), 50u);
  EXPECT_EQ(p->start_offset(), 50u);
}

TEST_F(RecoveryTest, UnusableDirectoryFailsWithTheFileAndTheCause) {
  Populate(1);
  env_.FailNext(MemEnv::Op::kOpen, 1, EACCES);
  absl::StatusOr<std::unique_ptr<Partition>> p = Partition::Open(&env_, options_, &report_);
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(std::string(p.status().message()), HasSubstr(seg0_));
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("Permission denied"));
}

TEST_F(RecoveryTest, ReportToStringIsPrecise) {
  Populate(2);
  testing::StoreBytes(env_, seg0_, Size(seg0_), "junk");
  ASSERT_TRUE(env_.Remove(IndexPath("/p", 0)).ok());
  Open();
  const std::string s = report_.ToString("/p");
  EXPECT_THAT(s, HasSubstr("partition /p: 1 segment, "));
  EXPECT_THAT(s, HasSubstr("offsets [0, 20)"));
  EXPECT_THAT(s, HasSubstr("torn tail: 4 bytes cut (truncated header at byte "));
  EXPECT_THAT(s, HasSubstr("1 index rebuilt"));
}

}  // namespace
}  // namespace telemq::storage
