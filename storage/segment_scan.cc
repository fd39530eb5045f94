#include "storage/segment_scan.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "protocol/common/status_macros.h"
#include "storage/segment_reader.h"

namespace telemq::storage {
namespace {

bool HeaderWasValid(ReadError e) {
  return e == ReadError::kPayloadCrc || e == ReadError::kTruncatedPayload ||
         e == ReadError::kRecordFraming || e == ReadError::kOffsetSequence;
}

// After the good prefix stops at `stop`: looks for complete valid batches in
// the rest of the file, and for the largest offset any valid header names.
void Resync(SegmentReader* reader, uint64_t stop, SegmentScanResult* r) {
  uint64_t from = stop + 1;
  SegmentReader::Batch batch;
  while (from < reader->limit()) {
    const uint64_t candidate = reader->FindMagic(from);
    if (candidate >= reader->limit()) break;
    const ReadError e = reader->Probe(candidate, &batch);
    if (e == ReadError::kOk || HeaderWasValid(e)) {
      r->highest_offset_seen = std::max(r->highest_offset_seen, batch.header.end_offset());
    }
    if (e == ReadError::kOk) {
      if (r->next_valid_position == kNoPosition) r->next_valid_position = candidate;
      from = candidate + batch.header.batch_bytes();
    } else {
      from = candidate + 1;
    }
  }
}

// Whether [from, to) of `file` is all zero bytes (false on a read error).
bool AllZero(const File& file, uint64_t from, uint64_t to) {
  std::vector<char> buf(std::min<uint64_t>(to - from, 1 << 20));
  for (uint64_t pos = from; pos < to;) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), to - pos));
    absl::StatusOr<size_t> n = file.Read(pos, {buf.data(), want});
    if (!n.ok() || *n == 0) return false;
    if (std::any_of(buf.data(), buf.data() + *n, [](char c) { return c != 0; })) return false;
    pos += *n;
  }
  return true;
}

}  // namespace

std::string SegmentScanResult::Describe() const {
  if (!damaged()) {
    return absl::StrCat(batches, " batches, ", records, " records, offsets [", base_offset, ", ",
                        end_offset, "), ", valid_bytes, " bytes: ok");
  }
  std::string s = absl::StrCat(stop == ReadError::kEndOfData ? "zeroes" : ReadErrorName(stop),
                               " at byte ", valid_bytes);
  if (stop == ReadError::kIoError) absl::StrAppend(&s, " (", io_status.ToString(), ")");
  if (next_valid_position != kNoPosition) {
    absl::StrAppend(&s, " (valid batch follows at byte ", next_valid_position, ")");
  }
  return s;
}

SegmentScanResult ScanSegment(const File& file, uint64_t base_offset, uint64_t max_end_offset,
                              const ScanVisitor& visitor) {
  SegmentScanResult r;
  r.base_offset = base_offset;
  r.end_offset = base_offset;
  r.highest_offset_seen = base_offset;
  absl::StatusOr<uint64_t> size = file.Size();
  if (!size.ok()) {
    r.stop = ReadError::kIoError;
    r.io_status = size.status();
    return r;
  }
  r.file_bytes = *size;
  SegmentReader reader(&file, r.file_bytes);
  reader.Seek(0, base_offset, max_end_offset);
  SegmentReader::Batch batch;
  ReadError e;
  while ((e = reader.Next(&batch)) == ReadError::kOk) {
    const BatchHeader& h = batch.header;
    if (r.batches == 0) {
      r.first_timestamp_ns = h.first_timestamp_ns;
      r.max_timestamp_ns = h.max_timestamp_ns;
    }
    r.max_timestamp_ns = std::max(r.max_timestamp_ns, h.max_timestamp_ns);
    ++r.batches;
    r.records += h.record_count;
    r.end_offset = h.end_offset();
    if (visitor.on_batch) visitor.on_batch(batch.position, h);
    if (visitor.on_record) {
      RecordIterator it(h, batch.payload);
      Record record;
      while (it.Next(&record) == ReadError::kOk) visitor.on_record(record);
    }
  }
  r.valid_bytes = reader.position();
  r.highest_offset_seen = r.end_offset;
  if (e == ReadError::kEndOfData && r.valid_bytes == r.file_bytes) return r;
  r.stop = e;
  if (e == ReadError::kIoError) {
    r.io_status = reader.io_status();
    return r;
  }
  if (e == ReadError::kEndOfData && AllZero(file, r.valid_bytes, r.file_bytes)) {
    r.zero_tail = true;
    return r;
  }
  if (HeaderWasValid(e)) {
    r.highest_offset_seen = std::max(r.highest_offset_seen, batch.header.end_offset());
  }
  Resync(&reader, r.valid_bytes, &r);
  return r;
}

absl::StatusOr<SegmentScanResult> ScanSegmentFile(Env* env, const std::string& path,
                                                  const ScanVisitor& visitor) {
  const size_t slash = path.rfind('/');
  const ParsedFileName parsed =
      ParseFileName(slash == std::string::npos ? path : path.substr(slash + 1));
  if (parsed.kind != FileKind::kSegment && parsed.kind != FileKind::kQuarantined &&
      parsed.kind != FileKind::kRepair) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a segment file name (<20 digits>.log)"));
  }
  TELEMQ_ASSIGN_OR_RETURN(std::unique_ptr<File> file, env->Open(path, OpenMode::kRead));
  SegmentScanResult r = ScanSegment(*file, parsed.base_offset, kMaxOffset, visitor);
  if (r.stop == ReadError::kIoError) return r.io_status;
  return r;
}

absl::StatusOr<std::vector<PartitionFileInfo>> ListPartitionFiles(Env* env,
                                                                  const std::string& dir) {
  TELEMQ_ASSIGN_OR_RETURN(std::vector<std::string> names, env->List(dir));
  std::vector<PartitionFileInfo> files;
  for (std::string& name : names) {
    const ParsedFileName parsed = ParseFileName(name);
    if (parsed.kind == FileKind::kOther) continue;
    PartitionFileInfo info{
        .name = std::move(name), .kind = parsed.kind, .base_offset = parsed.base_offset};
    absl::StatusOr<std::unique_ptr<File>> f = env->Open(JoinPath(dir, info.name), OpenMode::kRead);
    if (f.ok()) {
      absl::StatusOr<uint64_t> size = (*f)->Size();
      if (size.ok()) info.bytes = *size;
    }
    files.push_back(std::move(info));
  }
  std::sort(files.begin(), files.end(), [](const PartitionFileInfo& a, const PartitionFileInfo& b) {
    if (a.base_offset != b.base_offset) return a.base_offset < b.base_offset;
    if (a.kind != b.kind) return a.kind < b.kind;
    return a.name < b.name;
  });
  return files;
}

}  // namespace telemq::storage
