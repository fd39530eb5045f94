// Partition: appends, group commit watermarks, segment roll, fail-stop.
#include <cerrno>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/log_test_util.h"
#include "storage/mem_env.h"
#include "storage/partition.h"
#include "storage/segment_scan.h"

namespace telemq::storage {
namespace {

using testing::AppendRecords;
using ::testing::HasSubstr;
using testing::ReadAll;

class PartitionWriteTest : public ::testing::Test {
 protected:
  std::unique_ptr<Partition> Open() {
    absl::StatusOr<std::unique_ptr<Partition>> p = Partition::Open(&env_, options_, &report_);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *std::move(p) : nullptr;
  }
  // Performs the request as io_uring would, with MemEnv's File calls.
  static void Perform(Partition& p, const WriteRequest& w) {
    int64_t written = 0;
    if (!w.iov.empty()) {
      written = w.file->Write(w.position, w.iov).ok() ? static_cast<int64_t>(w.bytes) : -EIO;
    }
    const int synced = !w.sync ? 0 : written < 0 ? -ECANCELED : w.file->Sync().ok() ? 0 : -EIO;
    p.CompleteWrite(written, synced);
  }

  MemEnv env_;
  PartitionOptions options_{.dir = "/p", .segment_bytes = 1 << 20};
  RecoveryReport report_;
};

TEST_F(PartitionWriteTest, AppendAssignsDenseOffsetsFromZero) {
  auto p = Open();
  EXPECT_EQ(*p->Append(1, "k", "a", 10), 0u);
  EXPECT_EQ(*p->Append(1, "k", "b", 11), 1u);
  const std::string_view parts[] = {"x", "y"};
  EXPECT_EQ(*p->Append(1, "k", parts, 12), 2u);
  EXPECT_EQ(p->next_offset(), 3u);
  EXPECT_TRUE(p->has_unwritten());
}

TEST_F(PartitionWriteTest, WrittenAdvancesOnWriteAndDurableOnlyOnSync) {
  auto p = Open();
  AppendRecords(*p, 5);
  const WriteRequest* w = p->PrepareWrite(/*sync=*/false);
  ASSERT_NE(w, nullptr);
  EXPECT_FALSE(w->sync);
  EXPECT_EQ(w->end_offset, 5u);
  EXPECT_EQ(p->written_offset(), 0u);  // not before it completes
  Perform(*p, *w);
  EXPECT_EQ(p->written_offset(), 5u);
  EXPECT_EQ(p->durable_offset(), 0u);
  EXPECT_TRUE(p->has_unsynced());
  AppendRecords(*p, 2);
  w = p->PrepareWrite(/*sync=*/true);
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->sync);
  Perform(*p, *w);
  EXPECT_EQ(p->written_offset(), 7u);
  EXPECT_EQ(p->durable_offset(), 7u);
  EXPECT_FALSE(p->has_unsynced());
}

TEST_F(PartitionWriteTest, SyncWithNothingToWriteIsASyncOnlyRequest) {
  auto p = Open();
  AppendRecords(*p, 3);
  ASSERT_TRUE(p->FlushNow(/*sync=*/false).ok());
  const WriteRequest* w = p->PrepareWrite(/*sync=*/true);
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->iov.empty());
  EXPECT_EQ(w->bytes, 0u);
  EXPECT_TRUE(w->sync);
  Perform(*p, *w);
  EXPECT_EQ(p->durable_offset(), 3u);
}

TEST_F(PartitionWriteTest, NothingToDoIsNoRequest) {
  auto p = Open();
  EXPECT_EQ(p->PrepareWrite(true), nullptr);
  AppendRecords(*p, 1);
  ASSERT_TRUE(p->FlushNow(true).ok());
  EXPECT_EQ(p->PrepareWrite(true), nullptr);
  EXPECT_EQ(p->PrepareWrite(false), nullptr);
}

TEST_F(PartitionWriteTest, OneRequestInFlightAtATime) {
  auto p = Open();
  AppendRecords(*p, 1);
  const WriteRequest* w = p->PrepareWrite(true);
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(p->write_in_flight());
  AppendRecords(*p, 1);
  EXPECT_EQ(p->PrepareWrite(true), nullptr);
  EXPECT_FALSE(p->FlushNow(true).ok());  // refuses to run beside the owner's request
  Perform(*p, *w);
  EXPECT_FALSE(p->write_in_flight());
}

TEST_F(PartitionWriteTest, AppendsDuringARequestLandInTheNextOne) {
  auto p = Open();
  AppendRecords(*p, 10);
  const WriteRequest* w = p->PrepareWrite(true);
  ASSERT_NE(w, nullptr);
  // The request's bytes must not move or change while appends continue.
  const std::string before(static_cast<const char*>(w->iov[0].iov_base), w->iov[0].iov_len);
  const void* base = w->iov[0].iov_base;
  AppendRecords(*p, 5000);
  EXPECT_EQ(w->iov[0].iov_base, base);
  EXPECT_EQ(std::string(static_cast<const char*>(w->iov[0].iov_base), w->iov[0].iov_len), before);
  EXPECT_EQ(w->end_offset, 10u);
  Perform(*p, *w);
  EXPECT_EQ(p->durable_offset(), 10u);
  w = p->PrepareWrite(true);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->end_offset, 5010u);
  Perform(*p, *w);
  auto records = ReadAll(*p, 0);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 5010u);
  for (const auto& r : *records) ASSERT_TRUE(testing::IsExpected(r)) << r.offset;
}

TEST_F(PartitionWriteTest, BatchesCloseAtMaxBatchBytes) {
  options_.max_batch_bytes = 1000;
  auto p = Open();
  AppendRecords(*p, 200);
  ASSERT_TRUE(p->FlushNow(true).ok());
  int batches = 0;
  absl::StatusOr<SegmentScanResult> scan = ScanSegmentFile(
      &env_, p->Segments().back().path, {.on_batch = [&](uint64_t, const BatchHeader& h) {
        EXPECT_LE(h.batch_bytes(), 1000u);
        ++batches;
      }});
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_EQ(scan->records, 200u);
  EXPECT_EQ(static_cast<uint64_t>(batches), scan->valid_bytes / 1000 + 1);
}

TEST_F(PartitionWriteTest, RecordTooLargeForABatchIsRefused) {
  auto p = Open();
  const std::string huge(kMaxBatchBytes, 'x');
  EXPECT_EQ(p->Append(0, "k", huge, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(p->next_offset(), 0u);
  EXPECT_TRUE(p->Append(0, "k", std::string(kMaxBatchBytes - 100, 'x'), 0).ok());
}

TEST_F(PartitionWriteTest, SegmentRollsAtSegmentBytesIntoAFreshSyncedFile) {
  options_.segment_bytes = 4096;
  options_.max_batch_bytes = 512;
  auto p = Open();
  const int dir_syncs = env_.count(MemEnv::Op::kSyncDir);
  AppendRecords(*p, 300);
  ASSERT_TRUE(p->FlushNow(/*sync=*/false).ok());
  const std::vector<SegmentInfo> segments = p->Segments();
  ASSERT_GT(segments.size(), 2u);
  EXPECT_EQ(env_.count(MemEnv::Op::kSyncDir) - dir_syncs, static_cast<int>(segments.size()) - 1);
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    EXPECT_LE(segments[i].bytes, 4096u);
    EXPECT_EQ(segments[i].end_offset, segments[i + 1].base_offset);
    EXPECT_FALSE(segments[i].active);
  }
  EXPECT_TRUE(segments.back().active);
  // Every closed segment was synced before its successor got a byte: all of
  // it survives a power loss even though no flush asked for a sync.
  EXPECT_EQ(p->durable_offset(), segments.back().base_offset);
  auto records = ReadAll(*p, 0);
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_EQ(records->size(), 300u);
}

TEST_F(PartitionWriteTest, LastRequestToAClosingSegmentSyncs) {
  options_.segment_bytes = 2048;
  options_.max_batch_bytes = 256;
  auto p = Open();
  AppendRecords(*p, 100);  // more than one segment's worth, all pending
  const WriteRequest* w = p->PrepareWrite(/*sync=*/false);
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->sync);  // more is pending for the next segment
  EXPECT_LE(w->bytes, 2048u);
  Perform(*p, *w);
  EXPECT_EQ(p->durable_offset(), w->end_offset);
}

TEST_F(PartitionWriteTest, ClosingASegmentWrittenWithoutSyncSyncsItFirst) {
  options_.segment_bytes = 2048;
  auto p = Open();
  // One batch per request, never synced, until a batch no longer fits.
  const WriteRequest* w = nullptr;
  for (int i = 0; i < 100; ++i) {
    AppendRecords(*p, 5);
    w = p->PrepareWrite(/*sync=*/false);
    ASSERT_NE(w, nullptr);
    if (w->iov.empty()) break;
    EXPECT_FALSE(w->sync);
    Perform(*p, *w);
  }
  // The batch that did not fit goes to a new segment; first the old one syncs.
  ASSERT_TRUE(w->iov.empty());
  EXPECT_TRUE(w->sync);
  EXPECT_EQ(w->file->path(), "/p/00000000000000000000.log");
  Perform(*p, *w);
  EXPECT_FALSE(p->has_unsynced());
  w = p->PrepareWrite(false);
  ASSERT_NE(w, nullptr);
  EXPECT_NE(w->file->path(), "/p/00000000000000000000.log");
  EXPECT_EQ(w->position, 0u);
  Perform(*p, *w);
  EXPECT_EQ(p->Segments().size(), 2u);
}

TEST_F(PartitionWriteTest, DestructorSavesTheActiveIndex) {
  {
    auto p = Open();
    AppendRecords(*p, 100);
    ASSERT_TRUE(p->FlushNow(true).ok());
  }
  EXPECT_TRUE(env_.Exists(testing::IndexPath("/p", 0)));
  auto p = Open();
  EXPECT_EQ(report_.indexes_rebuilt, 0u);
  EXPECT_EQ(p->next_offset(), 100u);
}

// ---- Fail-stop ----

class FailStopTest : public PartitionWriteTest {
 protected:
  void ExpectStopped(Partition& p, std::string_view cause) {
    EXPECT_TRUE(p.failed());
    const std::string message(p.failure().message());
    EXPECT_THAT(message, HasSubstr("/p/00000000000000000000.log"));
    EXPECT_THAT(message, HasSubstr(std::string(cause)));
    EXPECT_EQ(p.Append(0, "k", "v", 0).status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(p.PrepareWrite(true), nullptr);
    EXPECT_FALSE(p.FlushNow(true).ok());
    EXPECT_EQ(p.durable_offset(), 0u);
  }
};

TEST_F(FailStopTest, WriteErrorStopsThePartition) {
  auto p = Open();
  AppendRecords(*p, 3);
  const WriteRequest* w = p->PrepareWrite(true);
  ASSERT_NE(w, nullptr);
  p->CompleteWrite(-EIO, -ECANCELED);
  ExpectStopped(*p, "Input/output error");
  EXPECT_EQ(p->written_offset(), 0u);
}

TEST_F(FailStopTest, ShortWriteStopsThePartition) {
  auto p = Open();
  AppendRecords(*p, 3);
  const WriteRequest* w = p->PrepareWrite(false);
  ASSERT_NE(w, nullptr);
  p->CompleteWrite(static_cast<int64_t>(w->bytes) - 1, 0);
  ExpectStopped(*p, "short write");
}

TEST_F(FailStopTest, SyncErrorStopsThePartition) {
  auto p = Open();
  AppendRecords(*p, 3);
  const WriteRequest* w = p->PrepareWrite(true);
  ASSERT_NE(w, nullptr);
  p->CompleteWrite(static_cast<int64_t>(w->bytes), -EIO);
  ExpectStopped(*p, "fdatasync");
}

TEST_F(FailStopTest, CanceledLinkedSyncStopsThePartition) {
  auto p = Open();
  AppendRecords(*p, 3);
  const WriteRequest* w = p->PrepareWrite(true);
  ASSERT_NE(w, nullptr);
  p->CompleteWrite(static_cast<int64_t>(w->bytes), -ECANCELED);
  ExpectStopped(*p, "ECANCELED");
}

TEST_F(FailStopTest, FlushNowStopsOnAFailedWrite) {
  auto p = Open();
  AppendRecords(*p, 3);
  env_.FailNext(MemEnv::Op::kWrite, 1, ENOSPC);
  EXPECT_EQ(p->FlushNow(true).code(), absl::StatusCode::kResourceExhausted);
  ExpectStopped(*p, "No space left on device");
}

TEST_F(FailStopTest, FlushNowStopsOnAShortWrite) {
  auto p = Open();
  AppendRecords(*p, 3);
  env_.ShortWrite(10, ENOSPC);
  EXPECT_FALSE(p->FlushNow(false).ok());
  ExpectStopped(*p, "No space left on device");
}

TEST_F(FailStopTest, FlushNowStopsOnAFailedSyncAndNeverRetries) {
  auto p = Open();
  AppendRecords(*p, 3);
  env_.FailNext(MemEnv::Op::kSync, 1, EIO);
  EXPECT_FALSE(p->FlushNow(true).ok());
  ExpectStopped(*p, "Input/output error");
  const int syncs = env_.count(MemEnv::Op::kSync);
  EXPECT_FALSE(p->FlushNow(true).ok());
  EXPECT_EQ(env_.count(MemEnv::Op::kSync), syncs);
}

TEST_F(FailStopTest, FailingToCreateTheNextSegmentStopsThePartition) {
  options_.segment_bytes = 1024;
  options_.max_batch_bytes = 256;
  auto p = Open();
  AppendRecords(*p, 100);
  env_.FailNext(MemEnv::Op::kSyncDir, 1, EIO);
  EXPECT_FALSE(p->FlushNow(true).ok());
  EXPECT_TRUE(p->failed());
  EXPECT_THAT(std::string(p->failure().message()), HasSubstr("fsync of directory /p"));
  EXPECT_GT(p->durable_offset(), 0u);  // the first segment went out, synced
}

}  // namespace
}  // namespace telemq::storage
