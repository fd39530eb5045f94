#include "broker/persist/time_merge.h"

#include "absl/strings/str_cat.h"

namespace telemq::persist {

void TimeMerge::Add(uint32_t partition, std::unique_ptr<storage::LogReader> reader) {
  sources_.push_back({partition, std::move(reader), {}, false});
  returned_ = nullptr;  // addresses moved; nothing returned yet is pending
  Advance(sources_.back());
}

void TimeMerge::Advance(Source& s) {
  absl::StatusOr<bool> more = s.reader->Next(&s.record);
  if (!more.ok()) {
    errors_.push_back(
        absl::StrCat("partition ", s.partition, ": ", std::string(more.status().message())));
    s.live = false;
    return;
  }
  s.live = *more;
}

bool TimeMerge::Next(uint32_t* partition, const storage::Record** record) {
  if (returned_ != nullptr) {
    Advance(*returned_);
    returned_ = nullptr;
  }
  Source* next = nullptr;
  for (Source& s : sources_) {
    if (s.live && (next == nullptr || s.record.timestamp_ns < next->record.timestamp_ns)) {
      next = &s;
    }
  }
  if (next == nullptr) return false;
  returned_ = next;
  *partition = next->partition;
  *record = &next->record;
  return true;
}

bool TimeMerge::Has(uint32_t partition) const {
  for (const Source& s : sources_) {
    if (s.partition == partition) return true;
  }
  return false;
}

uint64_t TimeMerge::Pending(uint32_t partition) const {
  for (const Source& s : sources_) {
    if (s.partition == partition) return s.live ? s.record.offset : s.reader->position();
  }
  return 0;
}

}  // namespace telemq::persist
