// Partition reading: NewReader (LogReader over a snapshot of the segments)
// and OffsetForTime.
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "protocol/common/status_macros.h"
#include "storage/partition_impl.h"
#include "storage/segment_reader.h"

namespace telemq::storage {
namespace {

absl::Status Damage(const std::string& path, ReadError e, uint64_t position,
                    const absl::Status& io) {
  if (e == ReadError::kIoError) return io;
  return absl::DataLossError(absl::StrCat(path, ": ", ReadErrorName(e), " at byte ", position));
}

// One segment as a reader sees it: fixed when the reader is created.
struct ReadPart {
  std::string path;
  uint64_t base_offset = 0;
  uint64_t bytes = 0;  // valid bytes then; never read beyond
  SegmentIndex::Hint start;
};

class PartitionLogReader final : public LogReader {
 public:
  PartitionLogReader(Env* env, std::vector<ReadPart> parts, uint64_t from, uint64_t limit)
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
        if (e != ReadError::kEndOfData) {
          return Damage(parts_[part_].path, e, batch_position_, absl::OkStatus());
        }
      }
      if (!reader_.has_value()) {
        if (part_ == parts_.size()) return false;
        const ReadPart& p = parts_[part_];
        TELEMQ_ASSIGN_OR_RETURN(file_, env_->Open(p.path, OpenMode::kRead));
        reader_.emplace(file_.get(), p.bytes);
        reader_->Seek(p.start.position, p.start.base_offset);
        // Offsets between segments may be missing (a quarantined range).
        position_ = std::max(position_, p.start.base_offset);
        continue;
      }
      SegmentReader::Batch batch;
      // Framing is checked record by record below, in the same pass.
      const ReadError e = reader_->Next(&batch, /*check_records=*/false);
      if (e == ReadError::kEndOfData && reader_->position() == reader_->limit()) {
        reader_.reset();
        file_.reset();
        ++part_;
        continue;
      }
      if (e != ReadError::kOk) {
        return Damage(parts_[part_].path, e, reader_->position(), reader_->io_status());
      }
      if (batch.header.end_offset() <= position_) continue;
      batch_position_ = batch.position;
      records_.emplace(batch.header, batch.payload);
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
  return std::make_unique<PartitionLogReader>(env_, std::move(parts), from, written_offset_);
}

absl::StatusOr<uint64_t> Partition::Impl::OffsetForTime(int64_t timestamp_ns) const {
  for (const Segment& s : segments_) {
    if (s.index.empty() || s.index.max_timestamp_ns() < timestamp_ns) continue;
    const SegmentIndex::Hint hint = s.index.ForTime(timestamp_ns);
    TELEMQ_ASSIGN_OR_RETURN(std::unique_ptr<File> file, env_->Open(s.path, OpenMode::kRead));
    SegmentReader reader(file.get(), s.bytes());
    reader.Seek(hint.position, hint.base_offset);
    SegmentReader::Batch batch;
    ReadError e;
    while ((e = reader.Next(&batch)) == ReadError::kOk) {
      if (batch.header.max_timestamp_ns < timestamp_ns) continue;
      RecordIterator it(batch.header, batch.payload);
      Record record;
      while (it.Next(&record) == ReadError::kOk) {
        if (record.timestamp_ns >= timestamp_ns) return record.offset;
      }
    }
    if (e != ReadError::kEndOfData || reader.position() != reader.limit()) {
      return Damage(s.path, e, reader.position(), reader.io_status());
    }
  }
  return next_offset();
}

}  // namespace telemq::storage
