// Partition: open, append, group commit (PrepareWrite / CompleteWrite) and
// fail-stop. Reading is in log_reader.cc, retention in retention.cc.
#include "storage/partition.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "protocol/common/status_macros.h"
#include "storage/partition_impl.h"

namespace telemq::storage {
namespace {

// Index positions are 32-bit, and a batch may start just below the limit.
constexpr uint64_t kMaxSegmentBytes = uint64_t{2} << 30;
// One request never exceeds what one pwritev (or io_uring WRITEV) takes.
constexpr size_t kMaxRequestIov = IOV_MAX;

absl::StatusOr<PartitionOptions> Validate(PartitionOptions o) {
  while (o.dir.size() > 1 && o.dir.back() == '/') o.dir.pop_back();
  if (o.dir.empty()) return absl::InvalidArgumentError("partition: empty directory");
  if (o.segment_bytes == 0 || o.segment_bytes > kMaxSegmentBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("partition ", o.dir, ": segment_bytes must be in [1, 2 GiB]"));
  }
  if (o.index_interval_bytes == 0 || o.max_batch_bytes == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "partition ", o.dir, ": index_interval_bytes and max_batch_bytes must be > 0"));
  }
  return o;
}

}  // namespace

Partition::Impl::Impl(Env* env, const PartitionOptions& options, RecoveredPartition recovered)
    : env_(env),
      options_(options),
      segments_(std::move(recovered.segments)),
      pending_(recovered.next_offset, segments_.back().base_offset(), segments_.back().bytes(),
               options.segment_bytes, options.max_batch_bytes),
      written_offset_(recovered.next_offset),
      durable_offset_(recovered.next_offset) {
  if (options.prepare_segments) {
    preparer_ = std::make_unique<SegmentPreparer>(env, options.dir, options.segment_bytes);
    // A recovered active segment with a zero tail was prepared.
    const absl::StatusOr<uint64_t> size = active().file->Size();
    active_prepared_ = size.ok() && *size > active().bytes();
  }
}

Partition::Impl::~Impl() {
  // The active index saves the next open a scan of the whole segment only
  // when it matches the file, so never after a failure.
  if (failure_.ok() && !active().index.empty()) SaveIndex(env_, active()).IgnoreError();
}

absl::StatusOr<uint64_t> Partition::Impl::Append(uint8_t type, std::string_view key,
                                                 std::span<const std::string_view> value_parts,
                                                 int64_t timestamp_ns) {
  if (!failure_.ok()) return absl::FailedPreconditionError(failure_.message());
  size_t value_size = 0;
  for (std::string_view part : value_parts) value_size += part.size();
  // The exact check only for records anywhere near the limit.
  if (key.size() + value_size > kMaxPayloadBytes - 64 &&
      !PendingBatches::RecordFits(key.size(), value_size)) {
    return absl::InvalidArgumentError(absl::StrCat("partition ", options_.dir, ": a record of ",
                                                   key.size() + value_size,
                                                   " bytes does not fit in a 16 MiB batch"));
  }
  if (pending_.next_offset() >= kMaxOffset) {
    return absl::ResourceExhaustedError(
        absl::StrCat("partition ", options_.dir, ": offsets exhausted"));
  }
  return pending_.Append(type, key, value_parts, value_size, timestamp_ns);
}

const WriteRequest* Partition::Impl::PrepareWrite(bool sync) {
  if (!failure_.ok() || in_flight_) return nullptr;
  if (!active_prepared_ && preparer_ != nullptr && preparer_->ready()) {
    // Every commit into the unprepared segment pays the journal: move on
    // (asking again until the roll is idempotent).
    pending_.RollAtNextBatch(active().base_offset());
  }
  pending_.SealAll();
  auto& sealed = pending_.sealed();
  if (!sealed.empty() && sealed.front()->segment_base != active().base_offset()) {
    // The active segment is being closed: its last request syncs (here a
    // sync-only one when its last write went out without).
    if (has_unsynced()) return SyncOnly();
    if (absl::Status s = Roll(sealed.front()->segment_base); !s.ok()) {
      Fail(s);
      return nullptr;
    }
  }
  StartRequest(sync);
  while (!sealed.empty() && sealed.front()->segment_base == active().base_offset() &&
         request_.iov.size() < kMaxRequestIov) {
    std::unique_ptr<PendingBatches::Chunk>& chunk = sealed.front();
    request_.iov.push_back({.iov_base = chunk->bytes.data(), .iov_len = chunk->bytes.size()});
    request_.bytes += chunk->bytes.size();
    request_.end_offset = chunk->end_offset();
    request_chunks_.push_back(std::move(chunk));
    sealed.pop_front();
  }
  if (request_chunks_.empty()) return sync && has_unsynced() ? SyncOnly() : nullptr;
  if (!sealed.empty() && sealed.front()->segment_base != active().base_offset()) {
    request_.sync = true;  // the last request to a segment being closed
  }
  in_flight_ = true;
  return &request_;
}

void Partition::Impl::StartRequest(bool sync) {
  request_.file = active().file.get();
  request_.position = active().bytes();
  request_.iov.clear();  // keeps its capacity: no allocation per request
  request_.bytes = 0;
  request_.sync = sync;
  request_.end_offset = written_offset_;
}

const WriteRequest* Partition::Impl::SyncOnly() {
  StartRequest(/*sync=*/true);
  in_flight_ = true;
  return &request_;
}

absl::Status Partition::Impl::Roll(uint64_t base_offset) {
  Segment& old = active();
  // A prepared segment is full-size: its unused zeroes go, so that closed
  // segments end with their data as readers expect. Not synced: recovery
  // takes a zero tail on a complete closed segment for what it is.
  TELEMQ_ASSIGN_OR_RETURN(const uint64_t size, old.file->Size());
  if (size > old.bytes()) {
    TELEMQ_RETURN_IF_ERROR(old.file->Truncate(old.bytes()));
  }
  old.file.reset();
  SaveIndex(env_, old).IgnoreError();  // a cache: rebuilt on open if lost
  TELEMQ_ASSIGN_OR_RETURN(Segment next,
                          CreateSegment(env_, options_, base_offset, preparer_.get()));
  segments_.push_back(std::move(next));
  if (preparer_ != nullptr) {
    const absl::StatusOr<uint64_t> next_size = active().file->Size();
    active_prepared_ = next_size.ok() && *next_size > 0;
  }
  return absl::OkStatus();
}

void Partition::Impl::MaybePrepare() {
  // An unprepared segment (the first one, or after a failed preparation)
  // starts one early, once the partition is seen to be written to: 1 MiB,
  // so that brokers that write little never zero-fill a whole segment.
  const uint64_t threshold = active_prepared_
                                 ? options_.segment_bytes / 8
                                 : std::min<uint64_t>(options_.segment_bytes / 8, 1 << 20);
  if (active().bytes() >= threshold) preparer_->Start();
}

void Partition::Impl::CompleteWrite(int64_t write_result, int sync_result) {
  if (!in_flight_) return;
  const std::string& path = active().path;
  absl::Status write;
  absl::Status sync;
  if (write_result < 0) {
    write = absl::ErrnoToStatus(static_cast<int>(-write_result),
                                absl::StrCat("write of ", request_.bytes, " bytes at byte ",
                                             request_.position, " of ", path));
  } else if (static_cast<uint64_t>(write_result) != request_.bytes) {
    write = absl::DataLossError(absl::StrCat("short write to ", path, ": ", write_result, " of ",
                                             request_.bytes, " bytes at byte ", request_.position));
  }
  if (request_.sync && sync_result == -ECANCELED) {
    sync = absl::CancelledError(
        absl::StrCat("linked fdatasync of ", path, " did not run (ECANCELED)"));
  } else if (request_.sync && sync_result != 0) {
    sync = absl::ErrnoToStatus(-sync_result, absl::StrCat("fdatasync of ", path));
  }
  Complete(write, sync);
}

void Partition::Impl::Complete(const absl::Status& write, const absl::Status& sync) {
  in_flight_ = false;
  if (!write.ok() || !sync.ok()) {
    // The write's error explains a cancelled linked sync, so it comes first.
    Fail(!write.ok() ? write : sync);
    for (auto& chunk : request_chunks_) pending_.Recycle(std::move(chunk));
    request_chunks_.clear();
    return;
  }
  Segment& segment = active();
  uint64_t position = request_.position;
  for (auto& chunk : request_chunks_) {
    for (size_t i = 0; i < chunk->headers.size(); ++i) {
      segment.index.Add(position + chunk->positions[i], chunk->headers[i]);
    }
    position += chunk->bytes.size();
    pending_.Recycle(std::move(chunk));
  }
  request_chunks_.clear();
  written_offset_ = request_.end_offset;
  if (preparer_ != nullptr) MaybePrepare();
  if (request_.sync) {
    segment.synced_bytes = segment.bytes();
    durable_offset_ = written_offset_;
  }
}

void Partition::Impl::Fail(const absl::Status& cause) {
  if (!failure_.ok()) return;
  failure_ = absl::Status(cause.code(), absl::StrCat("log partition ", options_.dir,
                                                     " stopped (fail-stop): ", cause.message()));
}

absl::Status Partition::Impl::FlushNow(bool sync) {
  if (in_flight_) {
    return absl::FailedPreconditionError(
        absl::StrCat("partition ", options_.dir, ": a write request is in flight"));
  }
  while (const WriteRequest* w = PrepareWrite(sync)) {
    const absl::Status write =
        w->iov.empty() ? absl::OkStatus() : w->file->Write(w->position, w->iov);
    absl::Status synced;
    if (w->sync) {
      synced = write.ok() ? w->file->Sync()
                          : absl::CancelledError("linked fdatasync did not run (ECANCELED)");
    }
    Complete(write, synced);
  }
  return failure_;
}

absl::Status Partition::Impl::TakePreparationError() {
  return preparer_ != nullptr ? preparer_->TakeError() : absl::OkStatus();
}

void Partition::Impl::WaitForPreparation() {
  if (preparer_ != nullptr) preparer_->WaitIdle();
}

// ---- Partition: forwards to Impl ----

absl::StatusOr<std::unique_ptr<Partition>> Partition::Open(Env* env,
                                                           const PartitionOptions& options,
                                                           RecoveryReport* report) {
  TELEMQ_ASSIGN_OR_RETURN(const PartitionOptions o, Validate(options));
  RecoveryReport unused;
  if (report == nullptr) report = &unused;
  TELEMQ_ASSIGN_OR_RETURN(RecoveredPartition recovered, RecoverPartition(env, o, report));
  return std::unique_ptr<Partition>(
      new Partition(std::make_unique<Impl>(env, o, std::move(recovered))));
}

Partition::Partition(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Partition::~Partition() = default;

absl::StatusOr<uint64_t> Partition::Append(uint8_t type, std::string_view key,
                                           std::span<const std::string_view> value_parts,
                                           int64_t timestamp_ns) {
  return impl_->Append(type, key, value_parts, timestamp_ns);
}
uint64_t Partition::next_offset() const { return impl_->next_offset(); }
uint64_t Partition::written_offset() const { return impl_->written_offset(); }
uint64_t Partition::durable_offset() const { return impl_->durable_offset(); }
uint64_t Partition::start_offset() const { return impl_->start_offset(); }
bool Partition::write_in_flight() const { return impl_->write_in_flight(); }
bool Partition::has_unwritten() const { return impl_->has_unwritten(); }
bool Partition::has_unsynced() const { return impl_->has_unsynced(); }
const WriteRequest* Partition::PrepareWrite(bool sync) { return impl_->PrepareWrite(sync); }
void Partition::CompleteWrite(int64_t write_result, int sync_result) {
  impl_->CompleteWrite(write_result, sync_result);
}
bool Partition::failed() const { return !impl_->failure().ok(); }
absl::Status Partition::failure() const { return impl_->failure(); }
absl::Status Partition::FlushNow(bool sync) { return impl_->FlushNow(sync); }
absl::StatusOr<std::unique_ptr<LogReader>> Partition::NewReader(uint64_t from) const {
  return impl_->NewReader(from);
}
absl::StatusOr<uint64_t> Partition::OffsetForTime(int64_t timestamp_ns) const {
  return impl_->OffsetForTime(timestamp_ns);
}
std::vector<SegmentInfo> Partition::Segments() const { return impl_->Segments(); }
uint64_t Partition::size_bytes() const { return impl_->size_bytes(); }
RetentionResult Partition::ApplyRetention(const RetentionPolicy& policy, int64_t now_ns) {
  return impl_->ApplyRetention(policy, now_ns);
}
absl::Status Partition::TakePreparationError() { return impl_->TakePreparationError(); }
void Partition::WaitForPreparation() { impl_->WaitForPreparation(); }
const std::string& Partition::dir() const { return impl_->dir(); }

}  // namespace telemq::storage
