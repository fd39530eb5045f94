#include "broker/persist/shard_log.h"

#include <cerrno>
#include <memory>

#include "broker/persist/shard_log_testing.h"
#include "gtest/gtest.h"
#include "storage/mem_env.h"
#include "storage/partition.h"

namespace telemq::persist {
namespace {

constexpr int64_t kMs = 1'000'000;

class ShardLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<ShardLog> Make(const LogOptions& options, uint64_t segment_bytes = 64 << 20) {
    storage::RecoveryReport report;
    auto p = storage::Partition::Open(&env_, {.dir = "/data/p0", .segment_bytes = segment_bytes},
                                      &report);
    EXPECT_TRUE(p.ok()) << p.status();
    auto log = std::make_unique<ShardLog>(0, *std::move(p), options);
    log->SetClock(1'000 * kMs, 1'000 * kMs);
    return log;
  }

  static bool Drive(ShardLog& log) { return testing::PerformNextWrite(log); }

  uint64_t AppendQos1(ShardLog& log) {
    MessageInit m{.topic = "a/b", .qos = 1};
    auto off = log.AppendMessage(m, "client", 0);
    EXPECT_TRUE(off.ok()) << off.status();
    return *off;
  }

  storage::MemEnv env_;
};

TEST_F(ShardLogTest, LogsQos1And2AndRetainedButNotPlainQos0) {
  auto log = Make({});
  EXPECT_TRUE(log->ShouldLog("a", 1, false));
  EXPECT_TRUE(log->ShouldLog("a", 2, false));
  EXPECT_TRUE(log->ShouldLog("a", 0, true));
  EXPECT_FALSE(log->ShouldLog("a", 0, false));
}

TEST_F(ShardLogTest, Qos0OnAPersistFilterIsLogged) {
  auto log = Make({.persist_filters = {"sensors/+/temp", "audit/#"}});
  EXPECT_TRUE(log->ShouldLog("sensors/7/temp", 0, false));
  EXPECT_TRUE(log->ShouldLog("audit", 0, false));
  EXPECT_FALSE(log->ShouldLog("sensors/7/rh", 0, false));
}

TEST_F(ShardLogTest, SyncModeReleasesOnlyAfterTheSync) {
  auto log = Make({.durability = Durability::kSync});
  EXPECT_TRUE(log->holds_output());
  const uint64_t off = AppendQos1(*log);
  EXPECT_LE(log->release_offset(), off);
  EXPECT_GE(off, log->unsubmitted_from());  // not in a write yet
  const storage::WriteRequest* w = log->PrepareWrite();
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->sync);
  EXPECT_GT(log->unsubmitted_from(), off);  // now it is
  EXPECT_LE(log->release_offset(), off);    // but not durable
  ASSERT_TRUE(w->file->Write(w->position, w->iov).ok());
  ASSERT_TRUE(w->file->Sync().ok());
  log->CompleteWrite(static_cast<int64_t>(w->bytes), 0);
  EXPECT_GT(log->release_offset(), off);
}

TEST_F(ShardLogTest, OneRequestInFlightAndAppendsMeanwhileGoInTheNext) {
  auto log = Make({});
  const uint64_t first = AppendQos1(*log);
  const storage::WriteRequest* w = log->PrepareWrite();
  ASSERT_NE(w, nullptr);
  const uint64_t second = AppendQos1(*log);
  EXPECT_EQ(log->PrepareWrite(), nullptr);  // one in flight
  ASSERT_TRUE(w->file->Write(w->position, w->iov).ok());
  ASSERT_TRUE(w->file->Sync().ok());
  log->CompleteWrite(static_cast<int64_t>(w->bytes), 0);
  EXPECT_GT(log->release_offset(), first);
  EXPECT_LE(log->release_offset(), second);
  ASSERT_TRUE(Drive(*log));
  EXPECT_GT(log->release_offset(), second);
  EXPECT_FALSE(Drive(*log));  // nothing left
}

TEST_F(ShardLogTest, BatchModeReleasesAfterTheWriteAndSyncsOnItsInterval) {
  auto log = Make({.durability = Durability::kBatch, .batch_interval_ns = 10 * kMs});
  EXPECT_TRUE(log->holds_output());
  // The first write syncs (no sync yet in this interval), the next does not.
  AppendQos1(*log);
  ASSERT_TRUE(Drive(*log));
  const uint64_t off = AppendQos1(*log);
  const storage::WriteRequest* w = log->PrepareWrite();
  ASSERT_NE(w, nullptr);
  EXPECT_FALSE(w->sync);
  ASSERT_TRUE(w->file->Write(w->position, w->iov).ok());
  log->CompleteWrite(static_cast<int64_t>(w->bytes), 0);
  EXPECT_GT(log->release_offset(), off);  // written is enough in batch mode
  EXPECT_EQ(log->next_sync_ns(), 1'010 * kMs);
  EXPECT_FALSE(Drive(*log));  // the interval has not passed
  log->SetClock(1'010 * kMs, 1'010 * kMs);
  const storage::WriteRequest* sync_only = log->PrepareWrite();
  ASSERT_NE(sync_only, nullptr);
  EXPECT_TRUE(sync_only->sync);
  EXPECT_TRUE(sync_only->iov.empty());
  ASSERT_TRUE(sync_only->file->Sync().ok());
  log->CompleteWrite(0, 0);
  EXPECT_EQ(log->next_sync_ns(), INT64_MAX);
}

TEST_F(ShardLogTest, NoneModeHoldsNothing) {
  auto log = Make({.durability = Durability::kNone});
  EXPECT_FALSE(log->holds_output());
  const uint64_t off = AppendQos1(*log);
  EXPECT_GT(log->release_offset(), off);
  const storage::WriteRequest* w = log->PrepareWrite();
  ASSERT_NE(w, nullptr);
  EXPECT_FALSE(w->sync);
}

TEST_F(ShardLogTest, AFailedSyncStopsTheLogForGood) {
  auto log = Make({});
  AppendQos1(*log);
  env_.FailNext(storage::MemEnv::Op::kSync, 1, EIO);
  ASSERT_TRUE(Drive(*log));
  EXPECT_TRUE(log->failed());
  EXPECT_FALSE(log->failure().ok());
  MessageInit m{.topic = "a", .qos = 1};
  EXPECT_FALSE(log->AppendMessage(m, "c", 0).ok());
  EXPECT_FALSE(log->AppendSession({.client_id = "c"}).ok());
  EXPECT_EQ(log->PrepareWrite(), nullptr);
}

TEST_F(ShardLogTest, BrokerTimeNeverGoesBackwards) {
  auto log = Make({});
  log->SetClock(5'000 * kMs, 1);
  AppendQos1(*log);
  log->SetClock(4'000 * kMs, 2);  // the wall clock stepped back
  AppendQos1(*log);
  ASSERT_TRUE(Drive(*log));
  auto reader = log->partition_store().NewReader(0);
  ASSERT_TRUE(reader.ok());
  storage::Record r;
  int64_t last = 0;
  int n = 0;
  while (*(*reader)->Next(&r)) {
    EXPECT_GE(r.timestamp_ns, last);
    last = r.timestamp_ns;
    ++n;
  }
  EXPECT_EQ(n, 2);
  EXPECT_EQ(last, 5'000 * kMs);
}

TEST_F(ShardLogTest, CloseWritesAndSyncsEverything) {
  auto log = Make({.durability = Durability::kNone});
  const uint64_t off = AppendQos1(*log);
  ASSERT_TRUE(log->Close().ok());
  EXPECT_GT(log->partition_store().durable_offset(), off);
}

uint64_t AppendBig(ShardLog& log) {
  const std::string payload(3000, 'x');
  MessageInit m{.topic = "big",
                .payload = {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()},
                .qos = 1};
  return *log.AppendMessage(m, "c", 0);
}

TEST_F(ShardLogTest, ANewSegmentIsReportedOnce) {
  auto log = Make({}, /*segment_bytes=*/4096);
  AppendBig(*log);
  ASSERT_TRUE(Drive(*log));
  EXPECT_FALSE(log->TakeRolled());
  AppendBig(*log);
  ASSERT_TRUE(Drive(*log));
  EXPECT_TRUE(log->TakeRolled());
  EXPECT_FALSE(log->TakeRolled());
}

TEST_F(ShardLogTest, RetentionKeepsEverythingUntilACheckpointIsDurable) {
  auto log = Make({.retention_bytes = 1}, 4096);
  for (int i = 0; i < 4; ++i) {
    AppendBig(*log);
    ASSERT_TRUE(Drive(*log));
  }
  log->Maintain(UINT64_MAX, 0);
  log->Maintain(UINT64_MAX, 0);
  EXPECT_EQ(log->partition_store().start_offset(), 0u);
}

TEST_F(ShardLogTest, RetentionDeletesBelowTheCheckpointAndWhatSessionsNeed) {
  auto log = Make({.retention_bytes = 1}, 4096);
  std::vector<uint64_t> offsets;
  for (int i = 0; i < 4; ++i) {
    offsets.push_back(AppendBig(*log));
    ASSERT_TRUE(Drive(*log));
  }
  log->AppendCheckpointBegin();
  log->AppendCheckpointEnd();
  ASSERT_TRUE(Drive(*log));
  const uint64_t checkpoint = log->checkpoint_offset();
  EXPECT_GT(checkpoint, offsets.back());
  // A session still needs the third message: its segment and later stay.
  log->Maintain(offsets[2], 0);  // the first call only notes what is written
  EXPECT_EQ(log->partition_store().start_offset(), 0u);
  log->Maintain(offsets[2], 0);
  EXPECT_GT(log->partition_store().start_offset(), 0u);
  EXPECT_LE(log->partition_store().start_offset(), offsets[2]);
  log->Maintain(UINT64_MAX, 0);
  EXPECT_GT(log->partition_store().start_offset(), offsets[2]);
  EXPECT_LE(log->partition_store().start_offset(), checkpoint);
}

TEST_F(ShardLogTest, ACheckpointCountsOnlyOnceItsEndIsDurable) {
  auto log = Make({});
  log->AppendCheckpointBegin();
  log->AppendCheckpointEnd();
  EXPECT_EQ(log->checkpoint_offset(), 0u);
  ASSERT_TRUE(Drive(*log));
  EXPECT_EQ(log->checkpoint_offset(), 0u);  // the begin record is offset 0
  AppendQos1(*log);
  log->AppendCheckpointBegin();
  log->AppendCheckpointEnd();
  ASSERT_TRUE(Drive(*log));
  EXPECT_EQ(log->checkpoint_offset(), 3u);
}

}  // namespace
}  // namespace telemq::persist
