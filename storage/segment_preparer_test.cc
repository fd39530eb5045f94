// SegmentPreparer against MemEnv (failures) and the partition rolling into
// prepared segments on a real file system.
#include "storage/segment_preparer.h"

#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/file_names.h"
#include "storage/log_test_util.h"
#include "storage/mem_env.h"
#include "storage/partition.h"

namespace telemq::storage {
namespace {

using ::testing::HasSubstr;

class SegmentPreparerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(env_.CreateDir("/p").ok()); }
  MemEnv env_;
  const std::string prepared_ = JoinPath("/p", kPreparedFileName);
};

TEST_F(SegmentPreparerTest, PreparesASyncedZeroFileAndRenamesIt) {
  SegmentPreparer prep(&env_, "/p", (3 << 20) + 5);  // not a whole number of chunks
  absl::StatusOr<bool> taken = prep.Take("/p/x.log");
  ASSERT_TRUE(taken.ok());
  EXPECT_FALSE(*taken);  // nothing started
  prep.Start();
  prep.WaitIdle();
  EXPECT_TRUE(prep.ready());
  taken = prep.Take("/p/x.log");
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_TRUE(*taken);
  EXPECT_FALSE(env_.Exists(prepared_));
  ASSERT_TRUE(env_.SyncDir("/p").ok());
  env_.DropUnsyncedData();  // the zeroes were synced before the rename
  absl::StatusOr<std::string> contents = env_.Contents("/p/x.log");
  ASSERT_TRUE(contents.ok());
  EXPECT_EQ(*contents, std::string((3 << 20) + 5, '\0'));
  EXPECT_FALSE(prep.ready());
}

TEST_F(SegmentPreparerTest, NeverReplacesAnExistingSegment) {
  env_.SetContents("/p/x.log", "data");
  SegmentPreparer prep(&env_, "/p", 4096);
  prep.Start();
  prep.WaitIdle();
  absl::StatusOr<bool> taken = prep.Take("/p/x.log");
  EXPECT_EQ(taken.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(*env_.Contents("/p/x.log"), "data");
}

TEST_F(SegmentPreparerTest, AFailureIsReportedOnceThenRetried) {
  SegmentPreparer prep(&env_, "/p", 4 << 20);
  env_.FailNext(MemEnv::Op::kWrite, 1, ENOSPC);
  prep.Start();
  prep.WaitIdle();
  EXPECT_FALSE(*prep.Take("/p/x.log"));
  EXPECT_FALSE(env_.Exists(prepared_));  // removed
  prep.Start();                          // refused until the error is taken
  prep.WaitIdle();
  EXPECT_FALSE(prep.ready());
  const absl::Status error = prep.TakeError();
  EXPECT_EQ(error.code(), absl::StatusCode::kResourceExhausted) << error;
  EXPECT_THAT(error.message(), HasSubstr("next.zero"));
  EXPECT_TRUE(prep.TakeError().ok());
  prep.Start();
  prep.WaitIdle();
  EXPECT_TRUE(*prep.Take("/p/x.log"));
}

TEST_F(SegmentPreparerTest, ALeftoverFileIsRemovedOnOpen) {
  env_.SetContents(prepared_, std::string(100, '\0'));
  RecoveryReport report;
  auto p = Partition::Open(&env_, {.dir = "/p"}, &report);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(env_.Exists(prepared_));
}

// The broker's setting on a real file system: closed segments end with their
// data, the active one is a full-size zero-filled file being written over,
// and everything reads back after a reopen.
TEST(PreparedSegmentsTest, RollIntoPreparedFilesOnDisk) {
  char tmpl[] = "/tmp/telemq_prepared_segments_test.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  PartitionOptions options{
      .dir = root + "/p0", .segment_bytes = 16 << 10, .prepare_segments = true};
  {
    RecoveryReport report;
    auto p = Partition::Open(Env::Posix(), options, &report);
    ASSERT_TRUE(p.ok()) << p.status();
    for (int i = 0; i < 40; ++i) {
      testing::AppendRecords(**p, 50);
      ASSERT_TRUE((*p)->FlushNow(true).ok());
      (*p)->WaitForPreparation();  // so that every roll finds its file ready
    }
    const std::vector<SegmentInfo> segments = (*p)->Segments();
    ASSERT_GT(segments.size(), 3u);
    for (const SegmentInfo& s : segments) {
      const uint64_t size = std::filesystem::file_size(s.path);
      if (s.active) {
        EXPECT_EQ(size, options.segment_bytes) << s.path;  // prepared
      } else {
        EXPECT_EQ(size, s.bytes) << s.path;  // truncated at the roll
      }
    }
    EXPECT_TRUE((*p)->TakePreparationError().ok());
  }
  RecoveryReport report;
  auto p = Partition::Open(Env::Posix(), options, &report);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(report.torn_bytes, 0u);
  EXPECT_TRUE(report.quarantined.empty());
  EXPECT_EQ((*p)->next_offset(), 2000u);
  EXPECT_FALSE(std::filesystem::exists(root + "/p0/next.zero"));
  auto records = testing::ReadAll(**p, 0);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 2000u);
  for (const auto& r : *records) ASSERT_TRUE(testing::IsExpected(r)) << r.offset;
  p->reset();
  std::filesystem::remove_all(root);
}

TEST(PreparedSegmentsTest, AnUnpreparedSegmentIsLeftEarlyForAPreparedOne) {
  char tmpl[] = "/tmp/telemq_prepared_segments_test.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  PartitionOptions options{
      .dir = root + "/p0", .segment_bytes = 16 << 20, .prepare_segments = true};
  RecoveryReport report;
  auto p = Partition::Open(Env::Posix(), options, &report);
  ASSERT_TRUE(p.ok()) << p.status();
  // The first segment is created unprepared; 1 MiB into it, preparation starts.
  while ((*p)->size_bytes() < (1 << 20)) {
    testing::AppendRecords(**p, 500);
    ASSERT_TRUE((*p)->FlushNow(true).ok());
  }
  (*p)->WaitForPreparation();
  ASSERT_EQ((*p)->Segments().size(), 1u);
  const uint64_t first_bytes = (*p)->size_bytes();
  for (int i = 0; i < 3; ++i) {
    testing::AppendRecords(**p, 500);
    ASSERT_TRUE((*p)->FlushNow(true).ok());
  }
  const std::vector<SegmentInfo> segments = (*p)->Segments();
  ASSERT_EQ(segments.size(), 2u);
  EXPECT_EQ(segments[0].bytes, first_bytes);
  EXPECT_EQ(std::filesystem::file_size(segments[0].path), first_bytes);
  EXPECT_EQ(std::filesystem::file_size(segments[1].path), options.segment_bytes);
  const uint64_t next = (*p)->next_offset();
  p->reset();

  p = Partition::Open(Env::Posix(), options, &report);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(report.torn_bytes, 0u);
  EXPECT_EQ((*p)->next_offset(), next);
  auto records = testing::ReadAll(**p, 0);
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_EQ(records->size(), next);
  p->reset();
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace telemq::storage
