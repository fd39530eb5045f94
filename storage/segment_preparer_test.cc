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

// The broker's setting on a real file system (a temporary directory).
class PreparedSegmentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/telemq_prepared_segments_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    options_.dir = root_ + "/p0";
  }
  void TearDown() override {
    p_.reset();
    std::filesystem::remove_all(root_);
  }
  void Open() {
    p_.reset();
    absl::StatusOr<std::unique_ptr<Partition>> p =
        Partition::Open(Env::Posix(), options_, &report_);
    ASSERT_TRUE(p.ok()) << p.status();
    p_ = *std::move(p);
  }
  void AppendAndSync(int records) {
    testing::AppendRecords(*p_, records);
    ASSERT_TRUE(p_->FlushNow(true).ok());
  }
  void ExpectAllRecords() {
    auto records = testing::ReadAll(*p_, 0);
    ASSERT_TRUE(records.ok()) << records.status();
    ASSERT_EQ(records->size(), p_->next_offset());
    for (const auto& r : *records) ASSERT_TRUE(testing::IsExpected(r)) << r.offset;
  }

  std::string root_;
  PartitionOptions options_{.prepare_segments = true};
  RecoveryReport report_;
  std::unique_ptr<Partition> p_;
};

// Closed segments end with their data, the active one is a full-size
// zero-filled file being written over, and everything reads back after a
// reopen.
TEST_F(PreparedSegmentsTest, RollIntoPreparedFiles) {
  options_.segment_bytes = 16 << 10;
  Open();
  for (int i = 0; i < 40; ++i) {
    AppendAndSync(50);
    p_->WaitForPreparation();  // so that every roll finds its file ready
  }
  const std::vector<SegmentInfo> segments = p_->Segments();
  ASSERT_GT(segments.size(), 3u);
  for (const SegmentInfo& s : segments) {
    const uint64_t size = std::filesystem::file_size(s.path);
    if (s.active) {
      EXPECT_EQ(size, options_.segment_bytes) << s.path;  // prepared
    } else {
      EXPECT_EQ(size, s.bytes) << s.path;  // truncated at the roll
    }
  }
  EXPECT_TRUE(p_->TakePreparationError().ok());

  Open();
  EXPECT_EQ(report_.torn_bytes, 0u);
  EXPECT_TRUE(report_.quarantined.empty());
  EXPECT_EQ(p_->next_offset(), 2000u);
  EXPECT_FALSE(std::filesystem::exists(root_ + "/p0/next.zero"));
  ExpectAllRecords();
}

TEST_F(PreparedSegmentsTest, AnUnpreparedSegmentIsLeftEarlyForAPreparedOne) {
  options_.segment_bytes = 16 << 20;
  Open();
  // The first segment is created unprepared; 1 MiB into it, preparation starts.
  while (p_->size_bytes() < (1 << 20)) AppendAndSync(500);
  p_->WaitForPreparation();
  ASSERT_EQ(p_->Segments().size(), 1u);
  const uint64_t first_bytes = p_->size_bytes();
  for (int i = 0; i < 3; ++i) AppendAndSync(500);
  const std::vector<SegmentInfo> segments = p_->Segments();
  ASSERT_EQ(segments.size(), 2u);
  EXPECT_EQ(segments[0].bytes, first_bytes);
  EXPECT_EQ(std::filesystem::file_size(segments[0].path), first_bytes);
  EXPECT_EQ(std::filesystem::file_size(segments[1].path), options_.segment_bytes);
  const uint64_t next = p_->next_offset();

  Open();
  EXPECT_EQ(report_.torn_bytes, 0u);
  EXPECT_EQ(p_->next_offset(), next);
  ExpectAllRecords();
}

}  // namespace
}  // namespace telemq::storage
