// Reading a chain of segments (log_reader.h), and Partition's NewReader and
// OffsetForTime on top of it.
#include "storage/log_reader.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "protocol/common/status_macros.h"
#include "storage/partition_impl.h"
#include "storage/segment_reader.h"

namespace telemq::storage {
namespace {

absl::Status Damage(const std::string& path, ReadError e, uint64_t position) {
  return absl::DataLossError(absl::StrCat(path, ": ", ReadErrorName(e), " at byte ", position));
}

// Opens a part's file. Retention removes whole segments, so a missing one
// means its records are gone, as for an offset below the start.
absl::StatusOr<std::unique_ptr<File>> OpenPart(Env* env, const ReadPart& part) {
  absl::StatusOr<std::unique_ptr<File>> file = env->Open(part.path, OpenMode::kRead);
  if (absl::IsNotFound(file.status())) {
    return absl::OutOfRangeError(
        absl::StrCat(part.path, " was deleted by retention (", file.status().message(), ")"));
  }
  return file;
}

// The SegmentReader limit of an opened part.
absl::StatusOr<uint64_t> PartLimit(const ReadPart& part, const File& file) {
  switch (part.end) {
    case ReadPart::End::kValidBytes:
      return part.bytes;
    case ReadPart::End::kFileSize:
      return file.Size();
    case ReadPart::End::kTail:
      break;
  }
  // Whatever the file holds when read: a short pread is the end for now.
  return UINT64_MAX;
}

// After the reader of `part` stopped with `e`: OK when the part ends there
// (for a tail, for now), or the damage.
absl::Status StopStatus(const ReadPart& part, const SegmentReader& reader, ReadError e) {
  if (e == ReadError::kIoError) return reader.io_status();
  if (part.end == ReadPart::End::kTail) {
    // A torn or unfinished write never leaves a complete batch with good
    // CRCs, so a misplaced or misframed one is damage (recovery's rule).
    if (e != ReadError::kOffsetSequence && e != ReadError::kRecordFraming) {
      return absl::OkStatus();
    }
  } else if (e == ReadError::kEndOfData && reader.position() == reader.limit()) {
    return absl::OkStatus();
  }
  return Damage(part.path, e, reader.position());
}

class ChainReader final : public LogReader {
 public:
  ChainReader(Env* env, std::vector<ReadPart> parts, uint64_t from, uint64_t limit)
      : env_(env), parts_(std::move(parts)), position_(from), limit_(limit) {}

  absl::StatusOr<bool> Next(Record* out) override {
    while (position_ < limit_) {
      if (records_.has_value()) {
        const ReadError e = records_->Next(out);
        if (e == ReadError::kOk) {
          if (out->offset < position_) continue;  // before `from` in the first batch
          position_ = out->offset + 1;
          return true;
        }
        records_.reset();
        if (e != ReadError::kEndOfData) return Damage(parts_[part_].path, e, batch_position_);
      }
      if (!reader_.has_value()) {
        if (part_ == parts_.size()) return false;
        const ReadPart& p = parts_[part_];
        TELEMQ_ASSIGN_OR_RETURN(file_, OpenPart(env_, p));
        TELEMQ_ASSIGN_OR_RETURN(const uint64_t limit, PartLimit(p, *file_));
        reader_.emplace(file_.get(), limit);
        reader_->Seek(p.start.position, p.start.base_offset);
        // Offsets between segments may be missing (a quarantined range).
        position_ = std::max(position_, p.start.base_offset);
        continue;
      }
      SegmentReader::Batch batch;
      // Framing is checked record by record above, in the same pass.
      const ReadError e = reader_->Next(&batch, /*check_records=*/false);
      if (e == ReadError::kOk) {
        if (batch.header.end_offset() <= position_) continue;
        batch_position_ = batch.position;
        records_.emplace(batch.header, batch.payload);
        continue;
      }
      const ReadPart& p = parts_[part_];
      TELEMQ_RETURN_IF_ERROR(StopStatus(p, *reader_, e));
      if (p.end == ReadPart::End::kTail) {
        // The end for now: the next call reads the file again from here.
        reader_->Invalidate();
        return false;
      }
      reader_.reset();
      file_.reset();
      ++part_;
    }
    return false;
  }

  uint64_t position() const override { return position_; }

 private:
  Env* const env_;
  const std::vector<ReadPart> parts_;
  size_t part_ = 0;
  uint64_t position_;
  const uint64_t limit_;
  std::unique_ptr<File> file_;
  std::optional<SegmentReader> reader_;
  std::optional<RecordIterator> records_;
  uint64_t batch_position_ = 0;
};

}  // namespace

std::unique_ptr<LogReader> NewChainReader(Env* env, std::vector<ReadPart> parts, uint64_t from,
                                          uint64_t limit) {
  return std::make_unique<ChainReader>(env, std::move(parts), from, limit);
}

absl::StatusOr<TimeSearch> SearchTime(Env* env, const ReadPart& part, int64_t t) {
  TELEMQ_ASSIGN_OR_RETURN(std::unique_ptr<File> file, OpenPart(env, part));
  TELEMQ_ASSIGN_OR_RETURN(const uint64_t limit, PartLimit(part, *file));
  SegmentReader reader(file.get(), limit);
  reader.Seek(part.start.position, part.start.base_offset);
  SegmentReader::Batch batch;
  ReadError e;
  // Framing is checked only in the batch searched (a reader checks the rest).
  while ((e = reader.Next(&batch, /*check_records=*/false)) == ReadError::kOk) {
    if (batch.header.max_timestamp_ns < t) continue;
    RecordIterator it(batch.header, batch.payload);
    Record record;
    ReadError re;
    while ((re = it.Next(&record)) == ReadError::kOk) {
      if (record.timestamp_ns >= t) return TimeSearch{.found = true, .offset = record.offset};
    }
    if (re != ReadError::kEndOfData) return Damage(part.path, re, batch.position);
  }
  TELEMQ_RETURN_IF_ERROR(StopStatus(part, reader, e));
  return TimeSearch{.found = false, .offset = reader.expected_base()};
}

absl::StatusOr<std::unique_ptr<LogReader>> Partition::Impl::NewReader(uint64_t from) const {
  if (from < start_offset()) {
    return absl::OutOfRangeError(absl::StrCat("partition ", options_.dir, ": offset ", from,
                                              " was deleted by retention (the log starts at ",
                                              start_offset(), ")"));
  }
  if (from > written_offset_) {
    return absl::OutOfRangeError(absl::StrCat("partition ", options_.dir, ": offset ", from,
                                              " is beyond the written offset ", written_offset_));
  }
  std::vector<ReadPart> parts;
  for (const Segment& s : segments_) {
    if (s.end_offset() <= from || s.index.empty()) continue;
    ReadPart p{.path = s.path, .base_offset = s.base_offset(), .bytes = s.bytes()};
    p.start = parts.empty() ? s.index.ForOffset(from)
                            : SegmentIndex::Hint{.position = 0, .base_offset = s.base_offset()};
    parts.push_back(std::move(p));
  }
  return NewChainReader(env_, std::move(parts), from, written_offset_);
}

absl::StatusOr<uint64_t> Partition::Impl::OffsetForTime(int64_t timestamp_ns) const {
  for (const Segment& s : segments_) {
    if (s.index.empty() || s.index.max_timestamp_ns() < timestamp_ns) continue;
    const ReadPart part{.path = s.path,
                        .base_offset = s.base_offset(),
                        .bytes = s.bytes(),
                        .start = s.index.ForTime(timestamp_ns)};
    TELEMQ_ASSIGN_OR_RETURN(const TimeSearch found, SearchTime(env_, part, timestamp_ns));
    if (found.found) return found.offset;
  }
  return next_offset();
}

}  // namespace telemq::storage
