#include "storage/segment_index.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "protocol/common/status_macros.h"
#include "storage/coding.h"
#include "storage/crc32c.h"

namespace telemq::storage {
namespace {

constexpr int64_t kNoTime = std::numeric_limits<int64_t>::min();
// Positions are stored in 32 bits; segments are capped well below (partition.cc).
constexpr uint64_t kMaxPosition = UINT32_MAX;

absl::Status Invalid(std::string_view why) {
  return absl::DataLossError(absl::StrCat("index ", std::string(why)));
}

}  // namespace

SegmentIndex::SegmentIndex(uint64_t base_offset, uint32_t interval_bytes)
    : base_offset_(base_offset),
      interval_bytes_(std::max<uint32_t>(interval_bytes, 1)),
      end_offset_(base_offset) {}

void SegmentIndex::Add(uint64_t position, const BatchHeader& h) {
  const int64_t max_before = empty() ? kNoTime : max_timestamp_ns_;
  const bool due = entries_.empty() || position - last_entry_position_ >= interval_bytes_;
  if (due && position <= kMaxPosition && h.base_offset - base_offset_ <= UINT32_MAX) {
    entries_.push_back({.relative_offset = static_cast<uint32_t>(h.base_offset - base_offset_),
                        .position = static_cast<uint32_t>(position),
                        .max_timestamp_before = max_before});
    last_entry_position_ = position;
  }
  if (empty()) {
    first_timestamp_ns_ = h.first_timestamp_ns;
    max_timestamp_ns_ = h.max_timestamp_ns;
  } else {
    max_timestamp_ns_ = std::max(max_timestamp_ns_, h.max_timestamp_ns);
  }
  covered_bytes_ = position + h.batch_bytes();
  end_offset_ = h.end_offset();
}

SegmentIndex::Hint SegmentIndex::ForOffset(uint64_t offset) const {
  Hint hint{.position = 0, .base_offset = base_offset_};
  if (offset < base_offset_) return hint;
  const uint64_t rel = offset - base_offset_;
  auto it = std::upper_bound(entries_.begin(), entries_.end(), rel,
                             [](uint64_t r, const Entry& e) { return r < e.relative_offset; });
  if (it == entries_.begin()) return hint;
  --it;
  return {.position = it->position, .base_offset = base_offset_ + it->relative_offset};
}

SegmentIndex::Hint SegmentIndex::ForTime(int64_t t) const {
  // max_timestamp_before never decreases along the entries.
  auto it = std::lower_bound(entries_.begin(), entries_.end(), t,
                             [](const Entry& e, int64_t v) { return e.max_timestamp_before < v; });
  if (it == entries_.begin()) return {.position = 0, .base_offset = base_offset_};
  --it;
  return {.position = it->position, .base_offset = base_offset_ + it->relative_offset};
}

std::string SegmentIndex::Encode() const {
  std::string out(kIndexHeaderSize + entries_.size() * kIndexEntrySize, '\0');
  char* p = out.data();
  StoreLe32(p + 0, kIndexMagic);
  StoreLe32(p + 8, kIndexVersion);
  StoreLe32(p + 12, interval_bytes_);
  StoreLe32(p + 16, static_cast<uint32_t>(entries_.size()));
  StoreLe64(p + 24, base_offset_);
  StoreLe64(p + 32, covered_bytes_);
  StoreLe64(p + 40, end_offset_);
  StoreLe64(p + 48, static_cast<uint64_t>(first_timestamp_ns_));
  StoreLe64(p + 56, static_cast<uint64_t>(max_timestamp_ns_));
  char* e = p + kIndexHeaderSize;
  for (const Entry& entry : entries_) {
    StoreLe32(e, entry.relative_offset);
    StoreLe32(e + 4, entry.position);
    StoreLe64(e + 8, static_cast<uint64_t>(entry.max_timestamp_before));
    e += kIndexEntrySize;
  }
  StoreLe32(p + 4, crc32c::Mask(crc32c::Value(p + 8, out.size() - 8)));
  return out;
}

absl::StatusOr<SegmentIndex> SegmentIndex::Decode(std::string_view bytes, uint64_t base_offset) {
  const char* p = bytes.data();
  if (bytes.size() < kIndexHeaderSize) return Invalid("truncated header");
  if (LoadLe32(p) != kIndexMagic) return Invalid("bad magic");
  if (crc32c::Unmask(LoadLe32(p + 4)) != crc32c::Value(p + 8, bytes.size() - 8)) {
    return Invalid("crc mismatch");
  }
  if (LoadLe32(p + 8) != kIndexVersion) return Invalid("bad version");
  const uint32_t count = LoadLe32(p + 16);
  if (bytes.size() != kIndexHeaderSize + uint64_t{count} * kIndexEntrySize) {
    return Invalid("bad length");
  }
  if (LoadLe64(p + 24) != base_offset) return Invalid("base offset mismatch");
  SegmentIndex index(base_offset, LoadLe32(p + 12));
  index.covered_bytes_ = LoadLe64(p + 32);
  index.end_offset_ = LoadLe64(p + 40);
  index.first_timestamp_ns_ = static_cast<int64_t>(LoadLe64(p + 48));
  index.max_timestamp_ns_ = static_cast<int64_t>(LoadLe64(p + 56));
  if (index.end_offset_ < base_offset || index.end_offset_ > kMaxOffset ||
      (index.covered_bytes_ == 0) != (index.end_offset_ == base_offset) ||
      (count == 0) != (index.covered_bytes_ == 0)) {
    return Invalid("inconsistent header");
  }
  index.entries_.reserve(count);
  const char* e = p + kIndexHeaderSize;
  for (uint32_t i = 0; i < count; ++i, e += kIndexEntrySize) {
    const Entry entry{.relative_offset = LoadLe32(e),
                      .position = LoadLe32(e + 4),
                      .max_timestamp_before = static_cast<int64_t>(LoadLe64(e + 8))};
    // Entries name distinct batches in order, inside the covered bytes.
    const bool ordered =
        i == 0 ? entry.relative_offset == 0 && entry.position == 0
               : entry.relative_offset > index.entries_.back().relative_offset &&
                     entry.position > index.entries_.back().position &&
                     entry.max_timestamp_before >= index.entries_.back().max_timestamp_before;
    if (!ordered || entry.position >= index.covered_bytes_ ||
        entry.relative_offset >= index.end_offset_ - base_offset) {
      return Invalid(absl::StrCat("bad entry ", i));
    }
    index.entries_.push_back(entry);
  }
  if (!index.entries_.empty()) index.last_entry_position_ = index.entries_.back().position;
  return index;
}

bool operator==(const SegmentIndex& a, const SegmentIndex& b) {
  auto same = [](const SegmentIndex::Entry& x, const SegmentIndex::Entry& y) {
    return x.relative_offset == y.relative_offset && x.position == y.position &&
           x.max_timestamp_before == y.max_timestamp_before;
  };
  return a.base_offset_ == b.base_offset_ && a.interval_bytes_ == b.interval_bytes_ &&
         a.covered_bytes_ == b.covered_bytes_ && a.end_offset_ == b.end_offset_ &&
         a.first_timestamp_ns_ == b.first_timestamp_ns_ &&
         a.max_timestamp_ns_ == b.max_timestamp_ns_ &&
         std::equal(a.entries_.begin(), a.entries_.end(), b.entries_.begin(), b.entries_.end(),
                    same);
}

absl::Status WriteIndexFile(Env* env, const std::string& path, const SegmentIndex& index) {
  const std::string tmp = path + ".tmp";
  const std::string bytes = index.Encode();
  {
    TELEMQ_ASSIGN_OR_RETURN(std::unique_ptr<File> f, env->Open(tmp, OpenMode::kCreate));
    TELEMQ_RETURN_IF_ERROR(f->Truncate(0));
    const iovec iov{.iov_base = const_cast<char*>(bytes.data()), .iov_len = bytes.size()};
    TELEMQ_RETURN_IF_ERROR(f->Write(0, {&iov, 1}));
  }
  return env->Rename(tmp, path);
}

absl::StatusOr<SegmentIndex> ReadIndexFile(Env* env, const std::string& path,
                                           uint64_t base_offset) {
  TELEMQ_ASSIGN_OR_RETURN(std::unique_ptr<File> f, env->Open(path, OpenMode::kRead));
  TELEMQ_ASSIGN_OR_RETURN(const uint64_t size, f->Size());
  // 32-bit positions and a segment cap keep a real index far below this.
  if (size > (uint64_t{64} << 20)) return Invalid("too large");
  std::string bytes(size, '\0');
  TELEMQ_ASSIGN_OR_RETURN(const size_t n, f->Read(0, {bytes.data(), bytes.size()}));
  bytes.resize(n);
  return SegmentIndex::Decode(bytes, base_offset);
}

}  // namespace telemq::storage
