#include "storage/recovery.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <string>

#include "protocol/common/status_macros.h"
#include "storage/file_names.h"
#include "storage/quarantine.h"
#include "storage/segment_scan.h"

namespace telemq::storage {
namespace {

// The directory listing, sorted out. Leftovers of interrupted operations are
// cleaned up on the way.
struct DirectoryState {
  std::vector<uint64_t> segments;  // bases, ascending
  uint64_t highest_quarantined_base = 0;
};

absl::StatusOr<DirectoryState> ReadDirectory(Env* env, const std::string& dir) {
  TELEMQ_ASSIGN_OR_RETURN(std::vector<std::string> names, env->List(dir));
  std::set<uint64_t> segments;
  std::set<uint64_t> indexes;
  std::set<uint64_t> repairs;
  DirectoryState state;
  for (const std::string& name : names) {
    const ParsedFileName parsed = ParseFileName(name);
    switch (parsed.kind) {
      case FileKind::kSegment:
        segments.insert(parsed.base_offset);
        break;
      case FileKind::kIndex:
        indexes.insert(parsed.base_offset);
        break;
      case FileKind::kRepair:
        repairs.insert(parsed.base_offset);
        break;
      case FileKind::kIndexTemp:
      case FileKind::kPrepared:  // possibly half-filled; the partition prepares another
        TELEMQ_RETURN_IF_ERROR(env->Remove(JoinPath(dir, name)));
        break;
      case FileKind::kQuarantined:
        state.highest_quarantined_base =
            std::max(state.highest_quarantined_base, parsed.base_offset);
        break;
      case FileKind::kOther:
        break;
    }
  }
  for (uint64_t base : repairs) {
    TELEMQ_ASSIGN_OR_RETURN(const bool restored, FinishInterruptedRepair(env, dir, base));
    if (restored) segments.insert(base);
  }
  // An index whose segment is gone (retention removes the .log first).
  for (uint64_t base : indexes) {
    if (!segments.contains(base)) {
      TELEMQ_RETURN_IF_ERROR(env->Remove(JoinPath(dir, IndexFileName(base))));
    }
  }
  state.segments.assign(segments.begin(), segments.end());
  return state;
}

// One segment file, validated (or trusted through its index).
struct Recovered {
  Segment segment;
  std::unique_ptr<File> file;
  SegmentScanResult scan;  // valid only when `scanned`
  bool scanned = false;
  bool index_on_disk_matches = false;
};

absl::StatusOr<Recovered> ScanOrTrust(Env* env, const PartitionOptions& o, uint64_t base,
                                      uint64_t next_base, bool last, RecoveryReport* report) {
  Recovered r{.segment = Segment(o.dir, base, o.index_interval_bytes)};
  Segment& seg = r.segment;
  TELEMQ_ASSIGN_OR_RETURN(r.file,
                          env->Open(seg.path, last ? OpenMode::kReadWrite : OpenMode::kRead));
  TELEMQ_ASSIGN_OR_RETURN(const uint64_t size, r.file->Size());
  absl::StatusOr<SegmentIndex> saved = ReadIndexFile(env, seg.index_path, base);
  const bool saved_fits =
      saved.ok() && saved->covered_bytes() == size && saved->end_offset() <= next_base;
  if (!last && !o.verify_all_segments && saved_fits) {
    seg.index = *std::move(saved);
    r.index_on_disk_matches = true;
    return r;
  }
  r.scanned = true;
  r.scan = ScanSegment(
      *r.file, base, next_base,
      {.on_batch = [&](uint64_t position, const BatchHeader& h) { seg.index.Add(position, h); }});
  if (r.scan.stop == ReadError::kIoError) return r.scan.io_status;
  report->bytes_scanned += r.scan.file_bytes;
  r.index_on_disk_matches = saved.ok() && *saved == seg.index;
  if (!r.index_on_disk_matches && !seg.index.empty()) ++report->indexes_rebuilt;
  return r;
}

// Cuts the zeroes of a prepared segment after its data.
absl::Status TruncateZeroTail(Env* env, Recovered& r) {
  if (r.file != nullptr) r.file.reset();
  TELEMQ_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                          env->Open(r.segment.path, OpenMode::kReadWrite));
  TELEMQ_RETURN_IF_ERROR(file->Truncate(r.scan.valid_bytes));
  return file->Sync();
}

// A torn write can only leave an incomplete or unreadable last batch; a
// complete batch with good CRCs that is misplaced or misframed is damage.
bool IsTornTail(const SegmentScanResult& scan) {
  return scan.next_valid_position == kNoPosition && scan.stop != ReadError::kRecordFraming &&
         scan.stop != ReadError::kOffsetSequence;
}

absl::Status Quarantine(Env* env, const PartitionOptions& o, Recovered& r, uint64_t lost_to,
                        RecoveryReport* report) {
  TELEMQ_ASSIGN_OR_RETURN(
      std::string corrupt,
      QuarantineSegment(env, o.dir, r.segment.base_offset(), *r.file, r.scan.valid_bytes));
  r.file.reset();
  report->quarantined.push_back({.file = JoinPath(o.dir, corrupt),
                                 .lost_from = r.scan.end_offset,
                                 .lost_to = lost_to,
                                 .reason = r.scan.Describe()});
  if (r.scan.valid_bytes == 0) {
    if (env->Exists(r.segment.index_path)) {
      TELEMQ_RETURN_IF_ERROR(env->Remove(r.segment.index_path));
    }
    return absl::OkStatus();
  }
  SaveIndex(env, r.segment).IgnoreError();  // a cache: rebuilt next time if lost
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RecoveredPartition> RecoverPartition(Env* env, const PartitionOptions& o,
                                                    RecoveryReport* report) {
  const auto started = std::chrono::steady_clock::now();
  *report = RecoveryReport();
  const bool existed = env->Exists(o.dir);
  TELEMQ_RETURN_IF_ERROR(env->CreateDir(o.dir));
  if (!existed) {
    // The new directory's own name must be durable before its segments are.
    const size_t slash = o.dir.rfind('/');
    const std::string parent = slash == std::string::npos ? "."
                               : slash == 0               ? "/"
                                                          : o.dir.substr(0, slash);
    TELEMQ_RETURN_IF_ERROR(env->SyncDir(parent));
  }
  TELEMQ_ASSIGN_OR_RETURN(DirectoryState dir, ReadDirectory(env, o.dir));

  RecoveredPartition out;
  // Never hand out an offset below a quarantined segment's base.
  uint64_t next_offset = dir.highest_quarantined_base;
  std::optional<Recovered> last;
  for (size_t i = 0; i < dir.segments.size(); ++i) {
    const bool is_last = i + 1 == dir.segments.size();
    const uint64_t next_base = is_last ? kMaxOffset : dir.segments[i + 1];
    TELEMQ_ASSIGN_OR_RETURN(Recovered r,
                            ScanOrTrust(env, o, dir.segments[i], next_base, is_last, report));
    if (is_last) {
      last = std::move(r);
      break;
    }
    if (r.scanned && r.scan.zero_tail && r.scan.end_offset == next_base) {
      // Complete, but the truncation after its roll did not reach the disk:
      // the zeroes of its preparation follow the data. Done again here.
      TELEMQ_RETURN_IF_ERROR(TruncateZeroTail(env, r));
    } else if (r.scanned && r.scan.damaged()) {
      TELEMQ_RETURN_IF_ERROR(Quarantine(env, o, r, next_base, report));
      if (r.scan.valid_bytes == 0) continue;
    } else if (!r.index_on_disk_matches && !r.segment.index.empty()) {
      SaveIndex(env, r.segment).IgnoreError();
    }
    out.segments.push_back(std::move(r.segment));
  }

  if (last.has_value()) {
    Recovered& r = *last;
    const SegmentScanResult& scan = r.scan;
    const uint64_t base = r.segment.base_offset();
    next_offset = std::max(next_offset, scan.end_offset);
    const bool quarantine = scan.damaged() && !IsTornTail(scan);
    // Offsets up to the highest any valid header names may have been handed
    // out (and acknowledged): never reuse them.
    const uint64_t lost_to = std::max(scan.end_offset, scan.highest_offset_seen);
    if (quarantine) next_offset = std::max(next_offset, lost_to);
    // A zero tail is a prepared segment's unused space: kept, and written
    // over from the end of the data (no torn bytes).
    if (scan.damaged() && !quarantine && !scan.zero_tail) {
      TELEMQ_RETURN_IF_ERROR(r.file->Truncate(scan.valid_bytes));
      report->torn_bytes = scan.file_bytes - scan.valid_bytes;
      report->torn_reason = scan.Describe();
    }
    if (!quarantine) {
      // What a killed process wrote may still be only in the page cache.
      TELEMQ_RETURN_IF_ERROR(r.file->Sync());
    }
    const bool keep_active =
        !quarantine && r.segment.bytes() < o.segment_bytes && next_offset == r.segment.end_offset();
    if (keep_active) {
      r.segment.file = std::move(r.file);
      r.segment.synced_bytes = r.segment.bytes();
      out.segments.push_back(std::move(r.segment));
    } else {
      // The successor is created before a quarantine, so a crash during it
      // cannot lose the record of which offsets were used.
      std::optional<Segment> fresh;
      if (next_offset > base) {
        TELEMQ_ASSIGN_OR_RETURN(fresh, CreateSegment(env, o, next_offset));
      }
      if (quarantine) {
        TELEMQ_RETURN_IF_ERROR(Quarantine(env, o, r, lost_to, report));
        if (scan.valid_bytes > 0) out.segments.push_back(std::move(r.segment));
      } else {
        // Closed from here on: a closed segment ends with its data.
        if (scan.zero_tail) TELEMQ_RETURN_IF_ERROR(r.file->Truncate(scan.valid_bytes));
        r.file.reset();
        if (!r.index_on_disk_matches) SaveIndex(env, r.segment).IgnoreError();
        out.segments.push_back(std::move(r.segment));
      }
      if (fresh.has_value()) out.segments.push_back(*std::move(fresh));
    }
  }
  if (out.segments.empty() || out.segments.back().file == nullptr) {
    if (!out.segments.empty())
      next_offset = std::max(next_offset, out.segments.back().end_offset());
    TELEMQ_ASSIGN_OR_RETURN(Segment fresh, CreateSegment(env, o, next_offset));
    out.segments.push_back(std::move(fresh));
  }
  out.next_offset = std::max(next_offset, out.segments.back().end_offset());
  // A segment found on open may never have had its name synced (the process
  // died between creating it and the fsync of the directory): records
  // written to it count as durable only once the name is.
  TELEMQ_RETURN_IF_ERROR(env->SyncDir(o.dir));

  report->segments = static_cast<uint32_t>(out.segments.size());
  report->start_offset = out.segments.front().base_offset();
  report->next_offset = out.next_offset;
  report->seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return out;
}

}  // namespace telemq::storage
