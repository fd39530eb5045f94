// Log micro-benchmarks. Targets (one core, page cache / local disk):
//   - Append of 100-byte records into batches: >= 10 M records/s;
//   - LogReader scan of a page-cached log: >= 1 GiB/s, by the owner
//     (NewReader) and by another shard (PartitionReader);
//   - group commit (FlushNow(sync=true), 256 KiB / 1 MiB per commit) at
//     >= 80% of the raw disk: BM_GroupCommit vs BM_RawWriteSync below write
//     the same bytes per commit, so their bytes_per_second compare directly;
//   - BM_SmallWriteSync: what a commit costs appending into reserved space
//     against overwriting a prepared (zero-filled) segment.
//
//   log_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Disk benchmarks use a temporary directory under /tmp (TMPDIR), removed at
// the end, and keep at most ~64 MiB there (retention / file rotation).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "benchmark/benchmark.h"
#include "storage/mem_env.h"
#include "storage/partition.h"
#include "storage/partition_reader.h"

namespace telemq::storage {
namespace {

constexpr size_t kRecordBytes = 100;  // value bytes of a typical telemetry record
constexpr uint64_t kDiskSegmentBytes = 16 << 20;
constexpr uint64_t kDiskKeepBytes = 32 << 20;

class TempDir {
 public:
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp != nullptr ? tmp : "/tmp") + "/telemq_log_bench.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::unique_ptr<Partition> OpenOrDie(Env* env, const PartitionOptions& options) {
  absl::StatusOr<std::unique_ptr<Partition>> p = Partition::Open(env, options, nullptr);
  if (!p.ok()) std::abort();
  return *std::move(p);
}

// Append alone: encoding into the open batch, closing batches (CRC), and the
// group-commit bookkeeping of a write that is reported done without I/O.
void BM_Append(benchmark::State& state) {
  MemEnv env;
  auto p = OpenOrDie(&env, {.dir = "/bench", .preallocate = false});
  const std::string value(static_cast<size_t>(state.range(0)), 'v');
  const std::string key = "site1/building2/device3/temp";
  int64_t ts = 1'700'000'000'000'000'000;
  int64_t n = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(value.data());
    absl::StatusOr<uint64_t> off = p->Append(1, key, value, ++ts);
    benchmark::DoNotOptimize(off);
    if ((++n & 1023) == 0) {  // a loop turn: hand the batches to a (no-op) write
      if (const WriteRequest* w = p->PrepareWrite(false)) {
        p->CompleteWrite(static_cast<int64_t>(w->bytes), 0);
      }
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Append)->Arg(16)->Arg(kRecordBytes)->Arg(1000);

// A page-cached log of 48 MiB of 100-byte records, for the scans below.
std::unique_ptr<Partition> WriteScanLog(const PartitionOptions& options) {
  auto p = OpenOrDie(Env::Posix(), options);
  const std::string value(kRecordBytes, 'v');
  while (p->size_bytes() < (48u << 20)) {
    for (int i = 0; i < 10000; ++i)
      p->Append(1, "site1/building2/device3/temp", value, i).IgnoreError();
    if (!p->FlushNow(/*sync=*/false).ok()) std::abort();
  }
  return p;
}

// Reads `reader` to its end; aborts unless it returned `records` records.
void ScanAll(LogReader& reader, uint64_t records) {
  Record r;
  uint64_t n = 0;
  while (*reader.Next(&r)) {
    benchmark::DoNotOptimize(r.value.data());
    ++n;
  }
  if (n != records) std::abort();
}

// A full scan with NewReader: preads, CRC and framing checks of every
// batch, every record.
void BM_Scan(benchmark::State& state) {
  TempDir dir;
  auto p = WriteScanLog({.dir = dir.path() + "/p0"});
  const uint64_t records = p->written_offset() - p->start_offset();
  for (auto _ : state) ScanAll(**p->NewReader(p->start_offset()), records);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(records));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(p->size_bytes()));
}
BENCHMARK(BM_Scan)->Unit(benchmark::kMillisecond);

// The same scan through a PartitionReader of the directory, as another shard
// reads it: three closed 16 MiB segments (bounded by their index) and the
// active one (read up to the first incomplete batch).
void BM_PartitionReaderScan(benchmark::State& state) {
  TempDir dir;
  auto p = WriteScanLog({.dir = dir.path() + "/p0", .segment_bytes = 16 << 20});
  const uint64_t records = p->written_offset() - p->start_offset();
  auto reader = *PartitionReader::Open(Env::Posix(), p->dir());
  for (auto _ : state) ScanAll(**reader->ReadFrom(reader->start_offset()), records);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(records));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(p->size_bytes()));
}
BENCHMARK(BM_PartitionReaderScan)->Unit(benchmark::kMillisecond);

constexpr char kKey[] = "site1/building2/device3/temp";

// Records per commit: enough 100-byte records (~136 bytes encoded with the
// key) to fill `commit_bytes` of batches.
uint64_t RecordsPerCommit(int64_t commit_bytes) {
  return static_cast<uint64_t>(commit_bytes) / 136;
}

void AppendCommit(Partition& p, uint64_t records, int64_t* ts) {
  static const std::string value(kRecordBytes, 'v');
  for (uint64_t i = 0; i < records; ++i) p.Append(1, kKey, value, ++*ts).IgnoreError();
}

// Group commit on a real disk: one loop turn's records (state.range(0)
// bytes of batches), one vectored write linked to fdatasync.
void BM_GroupCommit(benchmark::State& state) {
  TempDir dir;
  auto p = OpenOrDie(Env::Posix(), {.dir = dir.path() + "/p0", .segment_bytes = kDiskSegmentBytes});
  const uint64_t records = RecordsPerCommit(state.range(0));
  int64_t ts = 0;
  uint64_t bytes = 0;
  for (auto _ : state) {
    const uint64_t before = p->size_bytes();
    AppendCommit(*p, records, &ts);
    if (!p->FlushNow(/*sync=*/true).ok()) std::abort();
    benchmark::DoNotOptimize(p->durable_offset());
    bytes += p->size_bytes() - before;  // every segment, so a roll counts too
    if (p->size_bytes() > kDiskKeepBytes) p->ApplyRetention({.max_bytes = kDiskKeepBytes}, 0);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(records));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_GroupCommit)
    ->Arg(256 << 10)
    ->Arg(1 << 20)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// Performs one WriteRequest at a time on its own thread, as the broker's
// io_uring does (WRITEV linked to FSYNC), so appends overlap the disk.
class IoThread {
 public:
  IoThread() : thread_([this] { Run(); }) {}
  ~IoThread() {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    thread_.join();
  }
  void Submit(const WriteRequest* w) {
    absl::MutexLock lock(&mu_);
    request_ = w;
    done_ = false;
  }
  // The write's and the sync's results, as CompleteWrite takes them.
  std::pair<int64_t, int> Wait() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
    return result_;
  }

 private:
  void Run() {
    while (true) {
      const WriteRequest* w;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](IoThread* t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(t->mu_) {
              return t->stop_ || t->request_ != nullptr;
            },
            this));
        if (stop_) return;
        w = request_;
      }
      int64_t written = 0;
      if (!w->iov.empty()) written = w->file->Write(w->position, w->iov).ok() ? w->bytes : -EIO;
      int synced = 0;
      if (w->sync) synced = written < 0 ? -ECANCELED : (w->file->Sync().ok() ? 0 : -EIO);
      absl::MutexLock lock(&mu_);
      request_ = nullptr;
      result_ = {written, synced};
      done_ = true;
    }
  }

  absl::Mutex mu_;
  const WriteRequest* request_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::pair<int64_t, int> result_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = true;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// Group commit as the broker runs it: the next loop turn's records are
// appended while the previous request (write + fdatasync) is in flight.
void BM_GroupCommitPipelined(benchmark::State& state) {
  TempDir dir;
  auto p = OpenOrDie(Env::Posix(), {.dir = dir.path() + "/p0", .segment_bytes = kDiskSegmentBytes});
  const uint64_t records = RecordsPerCommit(state.range(0));
  int64_t ts = 0;
  uint64_t bytes = 0;
  {
    IoThread io;
    bool in_flight = false;
    for (auto _ : state) {
      AppendCommit(*p, records, &ts);
      if (in_flight) {
        const auto [written, synced] = io.Wait();
        p->CompleteWrite(written, synced);
        in_flight = false;
      }
      if (const WriteRequest* w = p->PrepareWrite(/*sync=*/true)) {
        bytes += w->bytes;
        io.Submit(w);
        in_flight = true;
      }
      if (p->failed()) std::abort();
      if (p->size_bytes() > kDiskKeepBytes) p->ApplyRetention({.max_bytes = kDiskKeepBytes}, 0);
    }
    if (in_flight) {
      const auto [written, synced] = io.Wait();
      p->CompleteWrite(written, synced);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(records));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_GroupCommitPipelined)
    ->Arg(256 << 10)
    ->Arg(1 << 20)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// Sequential pwrite + fdatasync of `bytes` into files of kDiskSegmentBytes
// under `dir`, a fresh file (the previous one removed) whenever the next
// write would not fit, as segments roll (timed, like the partition's rolls).
// A non-null `prepare` readies each new file, untimed, as the broker
// prepares segments off its loop.
class RotatingSyncWriter {
 public:
  RotatingSyncWriter(std::string dir, std::function<void(int fd)> prepare)
      : dir_(std::move(dir)), prepare_(std::move(prepare)) {
    OpenNext();
  }
  ~RotatingSyncWriter() { ::close(fd_); }

  void WriteSync(std::string_view bytes, benchmark::State& state) {
    if (::pwrite(fd_, bytes.data(), bytes.size(), pos_) != static_cast<ssize_t>(bytes.size())) {
      std::abort();
    }
    if (::fdatasync(fd_) != 0) std::abort();
    pos_ += static_cast<off_t>(bytes.size());
    if (static_cast<uint64_t>(pos_) + bytes.size() > kDiskSegmentBytes) {
      ::close(fd_);
      OpenNext(&state);
    }
  }

 private:
  std::string Path(int n) const { return dir_ + "/f" + std::to_string(n); }
  void OpenNext(benchmark::State* state = nullptr) {
    fd_ = ::open(Path(file_no_).c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd_ < 0) std::abort();
    if (file_no_ > 0) ::unlink(Path(file_no_ - 1).c_str());
    ++file_no_;
    pos_ = 0;
    if (prepare_ == nullptr) return;
    if (state != nullptr) state->PauseTiming();
    prepare_(fd_);
    if (state != nullptr) state->ResumeTiming();
  }

  const std::string dir_;
  const std::function<void(int)> prepare_;
  int file_no_ = 0;
  int fd_ = -1;
  off_t pos_ = 0;
};

// The raw disk: sequential pwrite of exactly the bytes one BM_GroupCommit
// commit writes, + fdatasync, to a fresh file every kDiskSegmentBytes (as
// segments roll; older files removed).
void BM_RawWriteSync(benchmark::State& state) {
  TempDir dir;
  const uint64_t records = RecordsPerCommit(state.range(0));
  size_t bytes;
  {
    MemEnv env;
    auto p = OpenOrDie(&env, {.dir = "/m"});
    int64_t ts = 0;
    AppendCommit(*p, records, &ts);
    if (!p->FlushNow(false).ok()) std::abort();
    bytes = static_cast<size_t>(p->size_bytes());
  }
  const std::string buf(bytes, 'x');
  RotatingSyncWriter writer(dir.path(), nullptr);
  for (auto _ : state) writer.WriteSync(buf, state);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(records));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}
BENCHMARK(BM_RawWriteSync)
    ->Arg(256 << 10)
    ->Arg(1 << 20)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// Why segments are prepared (segment_preparer.h): a 16 KiB pwrite +
// fdatasync, as a durable commit of a quiet broker, into space reserved with
// fallocate(KEEP_SIZE) (arg 0: what an unprepared segment does; the sync
// also commits the journal for the size and extents) or over a zero-filled,
// synced file (arg 1: a prepared segment). Files rotate every 16 MiB.
void BM_SmallWriteSync(benchmark::State& state) {
  TempDir dir;
  const bool prepared = state.range(0) != 0;
  const std::string buf(16 << 10, 'x');
  const std::string zeroes(1 << 20, '\0');
  RotatingSyncWriter writer(dir.path(), [&](int fd) {
    if (!prepared) {
      if (::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, kDiskSegmentBytes) != 0) std::abort();
      return;
    }
    for (uint64_t pos = 0; pos < kDiskSegmentBytes; pos += zeroes.size()) {
      if (::pwrite(fd, zeroes.data(), zeroes.size(), static_cast<off_t>(pos)) < 0) std::abort();
    }
    if (::fdatasync(fd) != 0) std::abort();
  });
  for (auto _ : state) writer.WriteSync(buf, state);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(buf.size()));
}
BENCHMARK(BM_SmallWriteSync)->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace telemq::storage
