// Fault injection: many seeded random runs of appends and flushes (with and
// without sync, by FlushNow or by hand as the broker does), write and sync
// failures, and crashes at random points that drop every unsynced byte (or
// keep a torn prefix of it). After each crash the partition must hold every
// record below the durable offset observed before it, intact, with dense
// offsets, and appends must continue from next_offset. Half the runs roll
// into zero-filled segments prepared by a background thread (which injected
// faults may hit too: the partition then creates segments unfilled).
#include <cerrno>
#include <cstdlib>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "storage/log_test_util.h"
#include "storage/mem_env.h"
#include "storage/partition.h"

namespace telemq::storage {
namespace {

// The record at an offset is a function of the offset alone, so a record
// re-appended at a reused (never durable) offset reads back the same.
std::string ValueAt(uint64_t offset) { return testing::ValueFor(offset, (offset * 131) % 700); }

void AppendSome(Partition& p, std::mt19937_64& rng) {
  const int n = 1 + static_cast<int>(rng() % 40);
  for (int i = 0; i < n; ++i) {
    const uint64_t off = p.next_offset();
    const std::string value = ValueAt(off);
    // Split the value into up to three parts, as a broker passes header + payload.
    const size_t a = rng() % (value.size() + 1);
    const size_t b = a + rng() % (value.size() - a + 1);
    const std::string_view v(value);
    const std::string_view parts[] = {v.substr(0, a), v.substr(a, b - a), v.substr(b)};
    absl::StatusOr<uint64_t> got =
        p.Append(static_cast<uint8_t>(off % 3), testing::KeyFor(off), parts, testing::TimeFor(off));
    ASSERT_TRUE(got.ok() || p.failed()) << got.status();
    if (got.ok()) {
      ASSERT_EQ(*got, off);
    }
  }
}

// One request performed by hand; sometimes left in flight, or torn.
void PerformByHand(Partition& p, std::mt19937_64& rng, bool* left_in_flight) {
  const WriteRequest* w = p.PrepareWrite(rng() % 2 == 0);
  if (w == nullptr) return;
  if (rng() % 8 == 0) {  // the crash comes while the request is in flight
    if (!w->iov.empty() && rng() % 2 == 0) {
      // ... with part of it already in the file (not synced).
      const size_t first = std::min<size_t>(w->iov[0].iov_len, rng() % (w->iov[0].iov_len + 1));
      const iovec part{.iov_base = w->iov[0].iov_base, .iov_len = first};
      w->file->Write(w->position, {&part, 1}).IgnoreError();  // an injected fault may hit it
    }
    *left_in_flight = true;
    return;
  }
  int64_t written = 0;
  if (!w->iov.empty()) {
    const absl::Status s = w->file->Write(w->position, w->iov);
    written = s.ok() ? static_cast<int64_t>(w->bytes) : -EIO;
  }
  int synced = 0;
  if (w->sync) synced = written < 0 ? -ECANCELED : (w->file->Sync().ok() ? 0 : -EIO);
  p.CompleteWrite(written, synced);
}

void InjectFault(MemEnv& env, std::mt19937_64& rng) {
  switch (rng() % 4) {
    case 0:
      env.FailNext(MemEnv::Op::kWrite, 1, EIO);
      break;
    case 1:
      env.FailNext(MemEnv::Op::kSync, 1, EIO);
      break;
    case 2:
      env.ShortWrite(rng() % 200, ENOSPC);
      break;
    default:
      env.FailNext(MemEnv::Op::kSyncDir, 1, EIO);
      break;
  }
}

void CheckRecovered(const Partition& p, uint64_t durable_seen, const std::string& context) {
  ASSERT_GE(p.next_offset(), durable_seen) << context;
  ASSERT_EQ(p.start_offset(), 0u) << context;
  ASSERT_EQ(p.durable_offset(), p.next_offset()) << context;
  absl::StatusOr<std::unique_ptr<LogReader>> reader = p.NewReader(0);
  ASSERT_TRUE(reader.ok()) << context << reader.status();
  Record r;
  uint64_t expected = 0;
  while (true) {
    absl::StatusOr<bool> more = (*reader)->Next(&r);
    ASSERT_TRUE(more.ok()) << context << more.status();
    if (!*more) break;
    ASSERT_EQ(r.offset, expected) << context;
    ASSERT_EQ(r.value, ValueAt(r.offset)) << context;
    ASSERT_EQ(r.key, testing::KeyFor(r.offset)) << context;
    ASSERT_EQ(r.timestamp_ns, testing::TimeFor(r.offset)) << context;
    ASSERT_EQ(r.type, r.offset % 3) << context;
    ++expected;
  }
  ASSERT_EQ(expected, p.next_offset()) << context;
}

void RunOne(uint64_t seed) {
  std::mt19937_64 rng(seed);
  MemEnv env;
  const uint64_t segment_sizes[] = {2048, 8192, 65536, 1 << 20};
  const size_t batch_sizes[] = {100, 1024, 1 << 20};
  PartitionOptions options{.dir = "/data/p0",
                           .segment_bytes = segment_sizes[rng() % 4],
                           .index_interval_bytes = static_cast<uint32_t>(64 + rng() % 4096),
                           .max_batch_bytes = batch_sizes[rng() % 3],
                           .preallocate = rng() % 2 == 0,
                           .prepare_segments = rng() % 2 == 0};
  uint64_t durable_seen = 0;
  const int crashes = 1 + static_cast<int>(rng() % 6);
  for (int crash = 0; crash <= crashes; ++crash) {
    const std::string context = "seed " + std::to_string(seed) + " crash " + std::to_string(crash);
    RecoveryReport report;
    absl::StatusOr<std::unique_ptr<Partition>> opened = Partition::Open(&env, options, &report);
    ASSERT_TRUE(opened.ok()) << context << opened.status();
    Partition& p = **opened;
    ASSERT_TRUE(report.quarantined.empty()) << context << report.ToString(options.dir);
    CheckRecovered(p, durable_seen, context);
    if (crash == crashes) break;

    bool in_flight = false;
    const int steps = 1 + static_cast<int>(rng() % 30);
    for (int step = 0; step < steps && !in_flight; ++step) {
      AppendSome(p, rng);
      switch (rng() % 4) {
        case 0:
          p.FlushNow(/*sync=*/true).IgnoreError();
          break;
        case 1:
          p.FlushNow(/*sync=*/false).IgnoreError();
          break;
        case 2:
          PerformByHand(p, rng, &in_flight);
          break;
        default:
          break;  // appends accumulate
      }
      if (rng() % 25 == 0) InjectFault(env, rng);
      ASSERT_LE(p.durable_offset(), p.written_offset()) << context;
      ASSERT_LE(p.written_offset(), p.next_offset()) << context;
      ASSERT_GE(p.durable_offset(), durable_seen) << context;
      durable_seen = p.durable_offset();
    }
    env.ClearFaults();
    opened->reset();  // the destructor's index write is unsynced: the crash may drop it
    const int mode = static_cast<int>(rng() % 3);
    switch (mode) {
      case 0:
        env.DropUnsyncedData();  // power loss
        break;
      case 1:
        env.DropUnsyncedData(/*tear_seed=*/rng() | 1);  // power loss mid-write
        break;
      default:
        break;  // the process was killed: the page cache survives
    }
  }
}

// TELEMQ_CRASH_SEEDS=N runs seeds 1..N instead of 1..400 (a longer soak);
// TELEMQ_CRASH_SEED=n replays only seed n.
TEST(CrashTest, DurableRecordsSurviveRandomCrashes) {
  // Read before this test starts any thread.
  const char* only = getenv("TELEMQ_CRASH_SEED");    // NOLINT(concurrency-mt-unsafe)
  const char* seeds = getenv("TELEMQ_CRASH_SEEDS");  // NOLINT(concurrency-mt-unsafe)
  const uint64_t last = seeds != nullptr ? std::strtoull(seeds, nullptr, 10) : 400;
  for (uint64_t seed = 1; seed <= last; ++seed) {
    if (only && std::to_string(seed) != only) continue;
    RunOne(seed);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace telemq::storage
