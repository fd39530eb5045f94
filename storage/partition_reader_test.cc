// PartitionReader: reading a partition directory while its owner appends,
// rolls and applies retention; torn tails, damage, OffsetForTime with and
// without indexes; and a two-thread stress test on a real file system.
#include "storage/partition_reader.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/file_names.h"
#include "storage/log_test_util.h"
#include "storage/mem_env.h"
#include "storage/partition.h"

namespace telemq::storage {
namespace {

using testing::AppendRecords;
using ::testing::HasSubstr;
using testing::OwnedRecord;
using testing::ReadRecords;
using testing::TimeFor;

// Forwards to another Env, noting the segment files opened and the bytes
// read, to check what a search touches.
class CountingEnv final : public Env {
 public:
  explicit CountingEnv(Env* base) : base_(base) {}

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override {
    absl::StatusOr<std::unique_ptr<File>> f = base_->Open(path, mode);
    if (!f.ok()) return f.status();
    if (path.ends_with(".log")) opened_.push_back(path);
    return std::make_unique<CountingFile>(*std::move(f), &bytes_read_);
  }
  absl::StatusOr<std::vector<std::string>> List(const std::string& dir) override {
    return base_->List(dir);
  }
  bool Exists(const std::string& path) override { return base_->Exists(path); }
  absl::Status CreateDir(const std::string& dir) override { return base_->CreateDir(dir); }
  absl::Status Rename(const std::string& from, const std::string& to) override {
    return base_->Rename(from, to);
  }
  absl::Status Remove(const std::string& path) override { return base_->Remove(path); }
  absl::Status SyncDir(const std::string& dir) override { return base_->SyncDir(dir); }
  absl::StatusOr<DiskUsage> Usage(const std::string& path) override { return base_->Usage(path); }

  void Reset() {
    opened_.clear();
    bytes_read_ = 0;
  }
  const std::vector<std::string>& opened() const { return opened_; }
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  class CountingFile final : public File {
   public:
    CountingFile(std::unique_ptr<File> f, uint64_t* bytes_read)
        : f_(std::move(f)), bytes_read_(bytes_read) {}
    absl::StatusOr<size_t> Read(uint64_t position, std::span<char> dst) const override {
      absl::StatusOr<size_t> n = f_->Read(position, dst);
      if (n.ok()) *bytes_read_ += *n;
      return n;
    }
    absl::Status Write(uint64_t position, std::span<const iovec> iov) override {
      return f_->Write(position, iov);
    }
    absl::Status Sync() override { return f_->Sync(); }
    absl::Status Truncate(uint64_t size) override { return f_->Truncate(size); }
    absl::Status Preallocate(uint64_t size) override { return f_->Preallocate(size); }
    absl::StatusOr<uint64_t> Size() const override { return f_->Size(); }
    int fd() const override { return f_->fd(); }
    const std::string& path() const override { return f_->path(); }

   private:
    std::unique_ptr<File> f_;
    uint64_t* bytes_read_;
  };

  Env* const base_;
  std::vector<std::string> opened_;
  uint64_t bytes_read_ = 0;
};

// Every record is what AppendRecords wrote, at offsets [from, to) in order.
void ExpectDense(const std::vector<OwnedRecord>& records, uint64_t from, uint64_t to) {
  ASSERT_EQ(records.size(), to - from);
  for (size_t i = 0; i < records.size(); ++i) {
    ASSERT_EQ(records[i].offset, from + i);
    ASSERT_TRUE(testing::IsExpected(records[i])) << records[i].offset;
  }
}

absl::StatusOr<std::vector<OwnedRecord>> Read(const PartitionReader& reader, uint64_t from,
                                              uint64_t limit = UINT64_MAX) {
  absl::StatusOr<std::unique_ptr<LogReader>> r = reader.ReadFrom(from, limit);
  if (!r.ok()) return r.status();
  return ReadRecords(**r);
}

class PartitionReaderTest : public ::testing::Test {
 protected:
  // Small segments (8 KiB) with an index entry every 512 bytes.
  void SetUp() override {
    options_ = {
        .dir = "/p", .segment_bytes = 8192, .index_interval_bytes = 512, .max_batch_bytes = 300};
    absl::StatusOr<std::unique_ptr<Partition>> p = Partition::Open(&env_, options_, nullptr);
    ASSERT_TRUE(p.ok()) << p.status();
    p_ = *std::move(p);
  }
  // Appends `count` records in `flushes` write requests.
  void Write(uint64_t count, int flushes = 1) {
    for (int i = 0; i < flushes; ++i) {
      AppendRecords(*p_, count / static_cast<uint64_t>(flushes));
      ASSERT_TRUE(p_->FlushNow(/*sync=*/i % 2 == 0).ok());
    }
  }
  std::unique_ptr<PartitionReader> OpenReader(Env* env = nullptr) {
    absl::StatusOr<std::unique_ptr<PartitionReader>> r =
        PartitionReader::Open(env != nullptr ? env : &env_, options_.dir);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *std::move(r) : nullptr;
  }
  std::string ActivePath() const { return p_->Segments().back().path; }

  MemEnv env_;
  PartitionOptions options_;
  std::unique_ptr<Partition> p_;
};

TEST_F(PartitionReaderTest, ReadsEveryRecordFromAnyOffset) {
  Write(1000, 10);
  ASSERT_GT(p_->Segments().size(), 3u);
  auto reader = OpenReader();
  EXPECT_EQ(reader->start_offset(), 0u);
  for (uint64_t from : {0, 1, 99, 100, 257, 500, 731, 999, 1000, 1005}) {
    auto records = Read(*reader, from);
    ASSERT_TRUE(records.ok()) << records.status();
    ExpectDense(*records, from, std::max<uint64_t>(from, 1000));
  }
  auto limited = Read(*reader, 100, 150);
  ASSERT_TRUE(limited.ok()) << limited.status();
  ExpectDense(*limited, 100, 150);
}

TEST_F(PartitionReaderTest, ReadsWhatIsInTheFileNotWhatIsAppended) {
  Write(100);
  auto reader = OpenReader();
  AppendRecords(*p_, 10);  // in the open batch only
  ExpectDense(*Read(*reader, 0), 0, 100);
  const WriteRequest* w = p_->PrepareWrite(/*sync=*/false);
  ASSERT_NE(w, nullptr);
  ExpectDense(*Read(*reader, 0), 0, 100);
  ASSERT_TRUE(w->file->Write(w->position, w->iov).ok());
  // In the file, though the owner has not seen the write complete.
  ExpectDense(*Read(*reader, 95), 95, 110);
  EXPECT_EQ(p_->written_offset(), 100u);
  p_->CompleteWrite(static_cast<int64_t>(w->bytes), 0);
}

TEST_F(PartitionReaderTest, NextAfterTheEndReturnsRecordsWrittenSince) {
  Write(20);
  auto reader = OpenReader();
  std::unique_ptr<LogReader> r = *reader->ReadFrom(5);
  ExpectDense(*ReadRecords(*r), 5, 20);
  EXPECT_EQ(r->position(), 20u);
  Write(10);
  ASSERT_EQ(p_->Segments().size(), 1u);
  ExpectDense(*ReadRecords(*r), 20, 30);
  EXPECT_TRUE(ReadRecords(*r)->empty());
}

TEST_F(PartitionReaderTest, SegmentsRolledSinceTheListingNeedARefresh) {
  Write(20);
  auto reader = OpenReader();
  std::unique_ptr<LogReader> r = *reader->ReadFrom(0);
  ExpectDense(*ReadRecords(*r), 0, 20);
  Write(600, 6);
  const std::vector<SegmentInfo> segments = p_->Segments();
  ASSERT_GT(segments.size(), 2u);
  // The reader's last segment is now closed: it reads to its end, no further.
  ExpectDense(*ReadRecords(*r), 20, segments[0].end_offset);
  ASSERT_TRUE(reader->Refresh().ok());
  ExpectDense(*Read(*reader, r->position()), segments[0].end_offset, 620);
  // Its index, saved on the roll, is used now.
  CountingEnv counting(&env_);
  auto indexed = OpenReader(&counting);
  counting.Reset();
  EXPECT_EQ(*indexed->OffsetForTime(TimeFor(segments[1].base_offset)), segments[1].base_offset);
  EXPECT_EQ(counting.opened(), std::vector<std::string>{segments[1].path});
}

TEST_F(PartitionReaderTest, TornOrUnfinishedBatchIsTheEndForNow) {
  Write(30);
  auto reader = OpenReader();
  std::unique_ptr<LogReader> r = *reader->ReadFrom(0);
  ExpectDense(*ReadRecords(*r), 0, 30);
  const std::string path = ActivePath();
  uint64_t end = env_.Contents(path)->size();
  uint64_t next = 30;
  // Cuts in the magic, the header, at its end, and in the payload.
  for (size_t cut : {1, 4, 20, 47, 48, 49, 100}) {
    SCOPED_TRACE(cut);
    const std::string batch = testing::MakeBatch(next, 5);
    ASSERT_LT(cut, batch.size());
    // Part of the batch is in the file...
    testing::StoreBytes(env_, path, end, batch.substr(0, cut));
    auto none = ReadRecords(*r);
    ASSERT_TRUE(none.ok()) << none.status();
    EXPECT_TRUE(none->empty());
    // ...then all of its extent, the rest still zeroes (preallocated, or
    // pages not yet copied).
    testing::StoreBytes(env_, path, end, batch.substr(0, cut) + std::string(batch.size(), '\0'));
    none = ReadRecords(*r);
    ASSERT_TRUE(none.ok()) << none.status();
    EXPECT_TRUE(none->empty());
    auto fresh = Read(*reader, 0);
    ASSERT_TRUE(fresh.ok()) << fresh.status();
    ExpectDense(*fresh, 0, next);
    // The write completes (zeroes after it remain).
    testing::StoreBytes(env_, path, end, batch);
    ExpectDense(*ReadRecords(*r), next, next + 5);
    end += batch.size();
    next += 5;
  }
  ExpectDense(*Read(*reader, 0), 0, next);
  EXPECT_EQ(*reader->OffsetForTime(TimeFor(next)), next);
}

TEST_F(PartitionReaderTest, CompleteBatchOutOfSequenceInTheTailIsDamage) {
  Write(30);
  auto reader = OpenReader();
  const std::string path = ActivePath();
  testing::StoreBytes(env_, path, env_.Contents(path)->size(), testing::MakeBatch(1000, 5));
  auto records = Read(*reader, 0);
  ASSERT_FALSE(records.ok());
  EXPECT_EQ(records.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(records.status().message()), HasSubstr(path + ": offset sequence"));
}

TEST_F(PartitionReaderTest, DamageInAClosedSegmentIsDataLoss) {
  Write(1000, 10);
  const SegmentInfo s = p_->Segments()[1];
  testing::FlipByte(env_, s.path, 100);
  auto reader = OpenReader();
  auto records = Read(*reader, 0);
  ASSERT_FALSE(records.ok());
  EXPECT_EQ(records.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(records.status().message()), HasSubstr(s.path + ": payload crc"));
}

TEST_F(PartitionReaderTest, OffsetBelowTheStartIsOutOfRange) {
  Write(1000, 10);
  ASSERT_GT(p_->ApplyRetention({.max_bytes = 1}, 0).deleted_segments, 0u);
  auto reader = OpenReader();
  EXPECT_EQ(reader->start_offset(), p_->start_offset());
  absl::StatusOr<std::unique_ptr<LogReader>> r = reader->ReadFrom(0);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("deleted by retention"));
  ExpectDense(*Read(*reader, p_->start_offset()), p_->start_offset(), 1000);
  EXPECT_EQ(*reader->OffsetForTime(0), p_->start_offset());
}

TEST_F(PartitionReaderTest, SegmentDeletedWhileReadingIsOutOfRange) {
  Write(1000, 10);
  const std::vector<SegmentInfo> segments = p_->Segments();
  auto reader = OpenReader();
  std::unique_ptr<LogReader> first = *reader->ReadFrom(0);
  Record record;
  ASSERT_TRUE(*first->Next(&record));  // segment 0 is open
  std::unique_ptr<LogReader> second = *reader->ReadFrom(segments[1].base_offset);
  ASSERT_GT(p_->ApplyRetention({.max_bytes = 1}, 0).deleted_segments, 1u);

  // The open segment reads to its end, then the next one is gone.
  uint64_t n = 1;
  absl::StatusOr<bool> more;
  while ((more = first->Next(&record)).ok() && *more) ++n;
  EXPECT_EQ(n, segments[0].end_offset);
  EXPECT_EQ(more.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(more.status().message()), HasSubstr("deleted by retention"));
  EXPECT_EQ(second->Next(&record).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(reader->OffsetForTime(TimeFor(segments[1].base_offset)).status().code(),
            absl::StatusCode::kOutOfRange);

  ASSERT_TRUE(reader->Refresh().ok());
  EXPECT_EQ(reader->start_offset(), p_->start_offset());
  EXPECT_EQ(reader->ReadFrom(0).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(*reader->OffsetForTime(TimeFor(0)), p_->start_offset());
}

TEST_F(PartitionReaderTest, OffsetForTimeAgreesWithThePartition) {
  Write(1000, 10);
  Write(37);  // some in the active segment
  auto reader = OpenReader();
  for (uint64_t off = 0; off <= 1037; off += 7) {
    for (int64_t t : {TimeFor(off) - 1, TimeFor(off), TimeFor(off) + 1}) {
      ASSERT_EQ(*reader->OffsetForTime(t), *p_->OffsetForTime(t)) << t;
    }
  }
  EXPECT_EQ(*reader->OffsetForTime(0), 0u);
  EXPECT_EQ(*reader->OffsetForTime(TimeFor(1036) + 1), 1037u);  // the end
}

TEST(PartitionReaderTimeTest, OffsetForTimeWithTimesOutOfOrder) {
  MemEnv env;
  auto p = *Partition::Open(
      &env,
      {.dir = "/p", .segment_bytes = 1024, .index_interval_bytes = 64, .max_batch_bytes = 128},
      nullptr);
  // Times go back once (a clock step): 100..199, then 50..149.
  for (int64_t t = 100; t < 200; ++t) ASSERT_TRUE(p->Append(0, "k", "v", t).ok());
  for (int64_t t = 50; t < 150; ++t) ASSERT_TRUE(p->Append(0, "k", "v", t).ok());
  ASSERT_TRUE(p->FlushNow(true).ok());
  ASSERT_GT(p->Segments().size(), 2u);
  auto reader = *PartitionReader::Open(&env, "/p");
  for (int64_t t = 40; t <= 210; ++t) ASSERT_EQ(*reader->OffsetForTime(t), *p->OffsetForTime(t));
}

TEST_F(PartitionReaderTest, OffsetForTimeStartsAtTheIndexEntry) {
  Write(1000, 10);
  const std::vector<SegmentInfo> segments = p_->Segments();
  ASSERT_GT(segments.size(), 4u);
  const SegmentInfo& s = segments[3];
  CountingEnv counting(&env_);
  auto reader = OpenReader(&counting);
  const uint64_t last = s.end_offset - 1;

  // Earlier segments are skipped by their index; only the end of this one
  // is read.
  counting.Reset();
  EXPECT_EQ(*reader->OffsetForTime(TimeFor(last)), last);
  EXPECT_EQ(counting.opened(), std::vector<std::string>{s.path});
  EXPECT_LT(counting.bytes_read(), s.bytes / 2);

  // Beyond every closed segment's newest record: only the active one is read.
  counting.Reset();
  EXPECT_EQ(*reader->OffsetForTime(TimeFor(1000)), 1000u);
  EXPECT_EQ(counting.opened(), std::vector<std::string>{segments.back().path});
}

TEST_F(PartitionReaderTest, DamagedOrMissingIndexFallsBackToAScan) {
  Write(1000, 10);
  const std::vector<SegmentInfo> segments = p_->Segments();
  const SegmentInfo& s = segments[3];
  const uint64_t last = s.end_offset - 1;
  const std::string index_path = testing::IndexPath("/p", s.base_offset);
  CountingEnv counting(&env_);
  auto expect_scan = [&] {
    auto reader = OpenReader(&counting);
    counting.Reset();
    EXPECT_EQ(*reader->OffsetForTime(TimeFor(last)), last);
    EXPECT_EQ(counting.opened(), std::vector<std::string>{s.path});
    EXPECT_EQ(counting.bytes_read(), s.bytes);  // the whole segment
    ExpectDense(*Read(*reader, s.base_offset + 1), s.base_offset + 1, 1000);
  };
  testing::FlipByte(env_, index_path, 70);
  expect_scan();
  ASSERT_TRUE(env_.Remove(index_path).ok());
  expect_scan();
}

TEST(PartitionReaderEmptyTest, EmptyDirectoryHasNoRecordsAndMissingOneFails) {
  MemEnv env;
  ASSERT_TRUE(env.CreateDir("/empty").ok());
  auto reader = *PartitionReader::Open(&env, "/empty");
  EXPECT_EQ(reader->start_offset(), 0u);
  EXPECT_TRUE(Read(*reader, 0)->empty());
  EXPECT_EQ(*reader->OffsetForTime(0), 0u);
  EXPECT_FALSE(PartitionReader::Open(&env, "/missing").ok());
}

// One thread appends, flushes, rolls and applies retention on a real file
// system while this one reads the directory again and again: every record
// seen is intact, offsets are dense from wherever retention left the start,
// and the reader ends at the writer's last offset.
TEST(PartitionReaderStressTest, ReadsWhileAnotherThreadAppends) {
  char tmpl[] = "/tmp/telemq_partition_reader_test.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  const PartitionOptions options{.dir = root + "/p0",
                                 .segment_bytes = 16 << 10,
                                 .index_interval_bytes = 4096,
                                 .max_batch_bytes = 2048};
  std::unique_ptr<Partition> p = *Partition::Open(Env::Posix(), options, nullptr);
  std::unique_ptr<PartitionReader> reader = *PartitionReader::Open(Env::Posix(), options.dir);

  constexpr int kFlushes = 2000;
  std::atomic<bool> writer_done{false};
  std::thread writer([&] {
    for (int i = 0; i < kFlushes; ++i) {
      AppendRecords(*p, 1 + static_cast<uint64_t>(i % 41));
      if (!p->FlushNow(/*sync=*/false).ok()) break;
      if (i % 10 == 9) p->ApplyRetention({.max_bytes = 128 << 10}, 0);
    }
    writer_done = true;
  });

  // Reads from *next to the end of what is complete, checking every record
  // and that offsets are dense; *next ends one past the last record read.
  Record r;
  auto read_on = [&](uint64_t* next) -> absl::Status {
    absl::StatusOr<std::unique_ptr<LogReader>> log = reader->ReadFrom(*next);
    if (!log.ok()) return log.status();
    absl::StatusOr<bool> more;
    while ((more = (*log)->Next(&r)).ok() && *more) {
      if (r.offset != *next) return absl::InternalError(absl::StrCat("offset ", r.offset));
      if (!testing::IsExpected({.offset = r.offset,
                                .timestamp_ns = r.timestamp_ns,
                                .type = r.type,
                                .key = std::string(r.key),
                                .value = std::string(r.value)})) {
        return absl::InternalError(absl::StrCat("record ", r.offset, " differs"));
      }
      ++*next;
    }
    return more.status();
  };

  uint64_t next = 0;  // the tailing reader's next offset
  int passes = 0;
  int out_of_range = 0;
  for (bool last_pass = false; !last_pass && passes < 10'000'000; ++passes) {
    last_pass = writer_done;  // a pass begun after the writer ended reads to its end
    ASSERT_TRUE(reader->Refresh().ok());
    next = std::max(next, reader->start_offset());  // retention overtook the reader
    // Now and then a replay of everything still there, which retention
    // may overtake (kOutOfRange: a segment deleted after the listing).
    if (passes % 8 == 7) {
      uint64_t replay = reader->start_offset();
      const absl::Status s = read_on(&replay);
      ASSERT_TRUE(s.ok() || absl::IsOutOfRange(s)) << s;
      out_of_range += !s.ok();
    }
    const absl::Status s = read_on(&next);
    if (!s.ok()) {
      ASSERT_TRUE(absl::IsOutOfRange(s)) << s;
      ++out_of_range;
      last_pass = false;
      continue;
    }
    if (next > 0 && passes % 16 == 0) {
      absl::StatusOr<uint64_t> t = reader->OffsetForTime(TimeFor(next - 1));
      if (t.ok()) {
        EXPECT_EQ(*t, std::max(next - 1, reader->start_offset()));
      } else {
        EXPECT_TRUE(absl::IsOutOfRange(t.status())) << t.status();
      }
    }
  }
  writer.join();
  EXPECT_TRUE(p->failure().ok()) << p->failure();
  EXPECT_EQ(next, p->written_offset());
  EXPECT_GT(p->start_offset(), 0u);  // retention ran
  std::cout << passes << " passes, " << p->written_offset() << " records, " << out_of_range
            << " reads ended by retention\n";
  p.reset();
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace telemq::storage
