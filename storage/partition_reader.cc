#include "storage/partition_reader.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "protocol/common/status_macros.h"
#include "storage/file_names.h"
#include "storage/log_reader.h"
#include "storage/segment_index.h"

namespace telemq::storage {

// The segments as one listing of the directory saw them. Immutable once
// published: readers share it without a lock.
struct PartitionReader::Listing {
  struct Listed {
    uint64_t base_offset = 0;
    std::string path;
    // The trusted index of a closed segment; null for the last (active) one
    // and for a closed one without a usable .idx.
    std::shared_ptr<const SegmentIndex> index;
  };
  std::vector<Listed> segments;  // ascending; the last is the active one

  uint64_t start_offset() const { return segments.empty() ? 0 : segments.front().base_offset; }

  std::shared_ptr<const SegmentIndex> IndexOf(uint64_t base) const {
    auto it = std::lower_bound(segments.begin(), segments.end(), base,
                               [](const Listed& s, uint64_t b) { return s.base_offset < b; });
    return it != segments.end() && it->base_offset == base ? it->index : nullptr;
  }

  // How a reader sees segment i: the last may still be written.
  ReadPart Part(size_t i) const {
    const Listed& s = segments[i];
    ReadPart part{.path = s.path,
                  .base_offset = s.base_offset,
                  .start = {.position = 0, .base_offset = s.base_offset}};
    if (i + 1 == segments.size()) {
      part.end = ReadPart::End::kTail;
    } else if (s.index != nullptr) {
      part.bytes = s.index->covered_bytes();
    } else {
      part.end = ReadPart::End::kFileSize;
    }
    return part;
  }
};

namespace {

// The index of the closed segment `base` when it can be trusted, as on
// recovery: it decodes, covers exactly the file's size, and ends at or below
// the next segment's base. Null otherwise (missing, damaged, stale, or the
// segment is already gone): the segment is then scanned.
std::shared_ptr<const SegmentIndex> LoadTrustedIndex(Env* env, const std::string& dir,
                                                     uint64_t base, uint64_t next_base) {
  absl::StatusOr<SegmentIndex> index = ReadIndexFile(env, JoinPath(dir, IndexFileName(base)), base);
  if (!index.ok() || index->end_offset() > next_base) return nullptr;
  absl::StatusOr<std::unique_ptr<File>> file =
      env->Open(JoinPath(dir, SegmentFileName(base)), OpenMode::kRead);
  if (!file.ok()) return nullptr;
  absl::StatusOr<uint64_t> size = (*file)->Size();
  if (!size.ok() || *size != index->covered_bytes()) return nullptr;
  return std::make_shared<const SegmentIndex>(*std::move(index));
}

}  // namespace

PartitionReader::PartitionReader(Env* env, std::string dir)
    : env_(env), dir_(std::move(dir)), listing_(std::make_shared<const Listing>()) {}

PartitionReader::~PartitionReader() = default;

absl::StatusOr<std::unique_ptr<PartitionReader>> PartitionReader::Open(Env* env,
                                                                       const std::string& dir) {
  std::unique_ptr<PartitionReader> reader(new PartitionReader(env, dir));
  TELEMQ_RETURN_IF_ERROR(reader->Refresh());
  return reader;
}

std::shared_ptr<const PartitionReader::Listing> PartitionReader::listing() const {
  absl::MutexLock lock(&mu_);
  return listing_;
}

absl::Status PartitionReader::Refresh() {
  const std::shared_ptr<const Listing> old = listing();
  TELEMQ_ASSIGN_OR_RETURN(const std::vector<std::string> names, env_->List(dir_));
  std::vector<uint64_t> bases;
  for (const std::string& name : names) {
    const ParsedFileName parsed = ParseFileName(name);
    if (parsed.kind == FileKind::kSegment) bases.push_back(parsed.base_offset);
  }
  std::sort(bases.begin(), bases.end());
  auto next = std::make_shared<Listing>();
  next->segments.reserve(bases.size());
  for (size_t i = 0; i < bases.size(); ++i) {
    Listing::Listed s{.base_offset = bases[i], .path = JoinPath(dir_, SegmentFileName(bases[i]))};
    // A closed segment never changes, nor does its trusted index: each is
    // read once. The active segment's index exists only in its owner.
    if (i + 1 < bases.size()) {
      s.index = old->IndexOf(bases[i]);
      if (s.index == nullptr) s.index = LoadTrustedIndex(env_, dir_, bases[i], bases[i + 1]);
    }
    next->segments.push_back(std::move(s));
  }
  absl::MutexLock lock(&mu_);
  listing_ = std::move(next);
  return absl::OkStatus();
}

uint64_t PartitionReader::start_offset() const { return listing()->start_offset(); }

absl::StatusOr<std::unique_ptr<LogReader>> PartitionReader::ReadFrom(uint64_t from,
                                                                     uint64_t limit) const {
  const std::shared_ptr<const Listing> l = listing();
  if (from < l->start_offset()) {
    return absl::OutOfRangeError(absl::StrCat("partition ", dir_, ": offset ", from,
                                              " was deleted by retention (the log starts at ",
                                              l->start_offset(), ")"));
  }
  const std::vector<Listing::Listed>& segments = l->segments;
  std::vector<ReadPart> parts;
  for (size_t i = 0; i < segments.size(); ++i) {
    const Listing::Listed& s = segments[i];
    const bool last = i + 1 == segments.size();
    // Segments wholly below `from`, also when a quarantined range follows.
    if (!last && (segments[i + 1].base_offset <= from ||
                  (s.index != nullptr && s.index->end_offset() <= from))) {
      continue;
    }
    ReadPart part = l->Part(i);
    if (parts.empty() && s.index != nullptr) part.start = s.index->ForOffset(from);
    parts.push_back(std::move(part));
  }
  return NewChainReader(env_, std::move(parts), from, limit);
}

absl::StatusOr<uint64_t> PartitionReader::OffsetForTime(int64_t timestamp_ns) const {
  const std::shared_ptr<const Listing> l = listing();
  uint64_t end = l->start_offset();
  for (size_t i = 0; i < l->segments.size(); ++i) {
    const SegmentIndex* index = l->segments[i].index.get();
    ReadPart part = l->Part(i);
    if (index != nullptr) {
      if (index->empty() || index->max_timestamp_ns() < timestamp_ns) {
        end = index->end_offset();
        continue;
      }
      part.start = index->ForTime(timestamp_ns);
    }
    TELEMQ_ASSIGN_OR_RETURN(const TimeSearch found, SearchTime(env_, part, timestamp_ns));
    if (found.found) return found.offset;
    end = found.offset;
  }
  return end;
}

}  // namespace telemq::storage
