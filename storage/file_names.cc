#include "storage/file_names.h"

#include <cstdio>

#include "storage/batch_format.h"

namespace telemq::storage {
namespace {

constexpr size_t kDigits = 20;

std::string BaseName(uint64_t base_offset) {
  char buf[kDigits + 1];
  std::snprintf(buf, sizeof(buf), "%020llu", static_cast<unsigned long long>(base_offset));
  return std::string(buf, kDigits);
}

}  // namespace

std::string SegmentFileName(uint64_t base_offset) { return BaseName(base_offset) + ".log"; }
std::string IndexFileName(uint64_t base_offset) { return BaseName(base_offset) + ".idx"; }

ParsedFileName ParseFileName(std::string_view name) {
  ParsedFileName parsed;
  if (name == kPreparedFileName) return {.kind = FileKind::kPrepared};
  if (name.size() < kDigits) return parsed;
  uint64_t base = 0;
  for (size_t i = 0; i < kDigits; ++i) {
    const char c = name[i];
    if (c < '0' || c > '9') return parsed;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (base > (kMaxOffset - digit) / 10) return parsed;  // above kMaxOffset
    base = base * 10 + digit;
  }
  const std::string_view suffix = name.substr(kDigits);
  FileKind kind = FileKind::kOther;
  if (suffix == ".log") {
    kind = FileKind::kSegment;
  } else if (suffix == ".idx") {
    kind = FileKind::kIndex;
  } else if (suffix == ".idx.tmp") {
    kind = FileKind::kIndexTemp;
  } else if (suffix == ".log.repair") {
    kind = FileKind::kRepair;
  } else if (suffix.starts_with(".log.corrupt")) {
    kind = FileKind::kQuarantined;
  }
  if (kind != FileKind::kOther) parsed = {.kind = kind, .base_offset = base};
  return parsed;
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  std::string path(dir);
  if (!path.empty() && path.back() != '/') path += '/';
  path.append(name);
  return path;
}

}  // namespace telemq::storage
