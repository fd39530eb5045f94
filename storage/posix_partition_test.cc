// The partition on a real file system (a temporary directory under /tmp).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "storage/log_test_util.h"
#include "storage/partition.h"

namespace telemq::storage {
namespace {

using testing::AppendRecords;
using testing::ReadAll;

class PosixPartitionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/telemq_posix_partition_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    options_.dir = root_ + "/data/p0";  // parents created
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::unique_ptr<Partition> Open() {
    absl::StatusOr<std::unique_ptr<Partition>> p =
        Partition::Open(Env::Posix(), options_, &report_);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *std::move(p) : nullptr;
  }

  std::string root_;
  PartitionOptions options_{.segment_bytes = 64 << 10};
  RecoveryReport report_;
};

TEST_F(PosixPartitionTest, WritesSyncsReopensAndReads) {
  {
    auto p = Open();
    for (int i = 0; i < 20; ++i) {
      AppendRecords(*p, 100);
      ASSERT_TRUE(p->FlushNow(true).ok());
    }
    EXPECT_EQ(p->durable_offset(), 2000u);
    EXPECT_GT(p->Segments().size(), 1u);
    const WriteRequest* w = nullptr;
    AppendRecords(*p, 1);
    w = p->PrepareWrite(true);
    ASSERT_NE(w, nullptr);
    EXPECT_GE(w->file->fd(), 0);  // what the broker hands to io_uring
    ASSERT_TRUE(w->file->Write(w->position, w->iov).ok());
    ASSERT_TRUE(w->file->Sync().ok());
    p->CompleteWrite(static_cast<int64_t>(w->bytes), 0);
  }
  auto p = Open();
  EXPECT_EQ(report_.indexes_rebuilt, 0u);
  EXPECT_EQ(p->next_offset(), 2001u);
  auto records = ReadAll(*p, 1234);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 2001u - 1234);
  for (const auto& r : *records) ASSERT_TRUE(testing::IsExpected(r));
  EXPECT_EQ(*p->OffsetForTime(testing::TimeFor(1500)), 1500u);
}

TEST_F(PosixPartitionTest, TornTailOnDiskIsTruncated) {
  std::string path;
  {
    auto p = Open();
    AppendRecords(*p, 50);
    ASSERT_TRUE(p->FlushNow(true).ok());
    path = p->Segments().back().path;
  }
  const uint64_t size = std::filesystem::file_size(path);
  {
    // Half a header, as a torn write may leave.
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << std::string(24, 'T') << std::string(76, '\0');
  }
  auto p = Open();
  EXPECT_EQ(report_.torn_bytes, 100u);
  EXPECT_EQ(std::filesystem::file_size(path), size);
  EXPECT_EQ(p->next_offset(), 50u);
}

TEST_F(PosixPartitionTest, RetentionRemovesFiles) {
  auto p = Open();
  for (int i = 0; i < 10; ++i) {
    AppendRecords(*p, 200);
    ASSERT_TRUE(p->FlushNow(false).ok());
  }
  const std::string first = p->Segments().front().path;
  const RetentionResult r = p->ApplyRetention({.max_bytes = 64 << 10}, 0);
  EXPECT_TRUE(r.status.ok()) << r.status;
  EXPECT_GT(r.deleted_segments, 0u);
  EXPECT_FALSE(std::filesystem::exists(first));
}

}  // namespace
}  // namespace telemq::storage
