// telemq-log: inspect a telemq data directory without starting the broker.
//
//   telemq-log list   DATA_DIR                       partitions, segments, quarantined files
//   telemq-log verify DATA_DIR|PARTITION_DIR|SEGMENT  check every batch; exit 1 on damage
//   telemq-log dump   DATA_DIR [--partition K] [--from-offset N] [--limit N]
//                                                    one line per record, every type
//   telemq-log export DATA_DIR [--from TIME] [--to TIME] [--topic FILTER] [--limit N]
//                                                    messages as JSON lines, in time order
//
// TIME is RFC 3339 ("2026-11-30T06:00:00Z") or Unix seconds ("1795900000.5").
// Read only: files are scanned with storage::ScanSegmentFile, never opened for
// writing, so it is safe on a running broker's directory (whose newest
// records it may not see yet).
//
// Exit: 0 ok, 1 damage found (verify) or nothing readable, 2 bad command line.
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "broker/persist/records.h"
#include "broker/persist/time_merge.h"
#include "broker/tools/log_text.h"
#include "protocol/mqtt/topic.h"
#include "storage/env.h"
#include "storage/partition_reader.h"
#include "storage/segment_scan.h"

namespace telemq {
namespace {

using storage::Env;
using storage::FileKind;

struct Args {
  std::string command;
  std::string path;
  std::optional<uint32_t> partition;
  uint64_t from_offset = 0;
  uint64_t limit = UINT64_MAX;
  int64_t from_ns = INT64_MIN;
  int64_t to_ns = INT64_MAX;
  std::string topic_filter;
};

constexpr const char* kUsage =
    "usage:\n"
    "  telemq-log list   DATA_DIR\n"
    "  telemq-log verify DATA_DIR|PARTITION_DIR|SEGMENT_FILE\n"
    "  telemq-log dump   DATA_DIR [--partition K] [--from-offset N] [--limit N]\n"
    "  telemq-log export DATA_DIR [--from TIME] [--to TIME] [--topic FILTER] [--limit N]\n"
    "TIME: RFC 3339 (2026-11-30T06:00:00Z) or Unix seconds.\n";

int Usage(const std::string& why) {
  std::fprintf(stderr, "telemq-log: %s\n%s", why.c_str(), kUsage);
  return 2;
}

bool ParseTime(const std::string& text, int64_t* ns) {
  double seconds;
  if (absl::SimpleAtod(text, &seconds)) {
    // What int64 nanoseconds hold (years 1678 to 2262); NaN fails too.
    if (!(seconds > -9.2e9 && seconds < 9.2e9)) return false;
    *ns = static_cast<int64_t>(seconds * 1e9);
    return true;
  }
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &err)) return false;
  *ns = absl::ToUnixNanos(t);
  return true;
}

// Partition directories ("p<k>") of a data directory, by index.
std::map<uint32_t, std::string> Partitions(const std::string& data_dir) {
  std::map<uint32_t, std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(data_dir, ec)) {
    const std::string name = e.path().filename().string();
    uint32_t k;
    if (e.is_directory() && name.size() > 1 && name[0] == 'p' &&
        absl::SimpleAtoi(name.substr(1), &k)) {
      out[k] = e.path().string();
    }
  }
  return out;
}

std::vector<storage::PartitionFileInfo> Segments(const std::string& dir, bool* ok) {
  auto files = storage::ListPartitionFiles(Env::Posix(), dir);
  if (!files.ok()) {
    std::fprintf(stderr, "telemq-log: %s\n", std::string(files.status().message()).c_str());
    *ok = false;
    return {};
  }
  std::vector<storage::PartitionFileInfo> out;
  for (auto& f : *files) {
    if (f.kind == FileKind::kSegment) out.push_back(f);
  }
  return out;
}

// The base offset of the next segment after files[i], if any.
std::optional<uint64_t> NextSegmentBase(const std::vector<storage::PartitionFileInfo>& files,
                                        size_t i) {
  for (size_t j = i + 1; j < files.size(); ++j) {
    if (files[j].kind == FileKind::kSegment) return files[j].base_offset;
  }
  return std::nullopt;
}

// Why recovery would not keep the scanned segment whole ("" if it would).
// `next_base`: the base offset of the segment after it in its partition (it
// is closed), if known. Zeroes after the data are the active segment's
// prepared space; a closed segment ends with its data, up to its
// successor's base, and one that stops at zeroes short of it is quarantined.
std::string Damage(const storage::SegmentScanResult& scan, std::optional<uint64_t> next_base) {
  if (scan.damaged() && scan.stop != storage::ReadError::kEndOfData) return scan.Describe();
  if (next_base && scan.stop == storage::ReadError::kEndOfData && !scan.zero_tail) {
    return absl::StrCat("zeroes then other bytes from byte ", scan.valid_bytes,
                        " of a closed segment (recovery quarantines it)");
  }
  if (next_base && scan.zero_tail && scan.end_offset != *next_base) {
    return absl::StrCat("a closed segment whose records stop at offset ", scan.end_offset,
                        ", before the next segment's ", *next_base, " (recovery quarantines it)");
  }
  return "";
}

int List(const Args& a) {
  const auto partitions = Partitions(a.path);
  if (partitions.empty()) {
    std::fprintf(stderr, "telemq-log: no partition directories (p0, p1, ...) in '%s'\n",
                 a.path.c_str());
    return 1;
  }
  for (const auto& [k, dir] : partitions) {
    auto files = storage::ListPartitionFiles(Env::Posix(), dir);
    if (!files.ok()) {
      std::fprintf(stderr, "telemq-log: %s\n", std::string(files.status().message()).c_str());
      return 1;
    }
    std::printf("partition %u  %s\n", k, dir.c_str());
    for (size_t i = 0; i < files->size(); ++i) {
      const storage::PartitionFileInfo& f = (*files)[i];
      const std::string path = storage::JoinPath(dir, f.name);
      if (f.kind != FileKind::kSegment) {
        std::printf("  %-36s %12" PRIu64 " bytes  %s\n", f.name.c_str(), f.bytes,
                    f.kind == FileKind::kQuarantined ? "QUARANTINED (damaged, kept for inspection)"
                    : f.kind == FileKind::kIndex     ? "index"
                    : f.kind == FileKind::kPrepared  ? "the next segment, zero-filled ahead"
                                                     : "other");
        continue;
      }
      auto scan = storage::ScanSegmentFile(Env::Posix(), path);
      if (!scan.ok()) {
        std::printf("  %-36s unreadable: %s\n", f.name.c_str(),
                    std::string(scan.status().message()).c_str());
        continue;
      }
      // A prepared segment's zeroes are space, not data.
      const std::string spare =
          scan->zero_tail
              ? absl::StrCat("  (+", scan->file_bytes - scan->valid_bytes, " bytes prepared)")
              : "";
      std::printf("  %-36s %12" PRIu64 " bytes  offsets [%" PRIu64 ", %" PRIu64 ")  %s .. %s%s%s\n",
                  f.name.c_str(), scan->zero_tail ? scan->valid_bytes : scan->file_bytes,
                  scan->base_offset, scan->end_offset,
                  scan->records ? tools::FormatTime(scan->first_timestamp_ns).c_str() : "-",
                  scan->records ? tools::FormatTime(scan->max_timestamp_ns).c_str() : "-",
                  spare.c_str(),
                  Damage(*scan, NextSegmentBase(*files, i)).empty() ? "" : "  DAMAGED");
    }
  }
  return 0;
}

int VerifyFile(const std::string& path, std::optional<uint64_t> next_base, uint64_t* damaged) {
  auto scan = storage::ScanSegmentFile(Env::Posix(), path);
  if (!scan.ok()) {
    std::printf("%s: unreadable: %s\n", path.c_str(), std::string(scan.status().message()).c_str());
    ++*damaged;
    return 0;
  }
  const std::string why = Damage(*scan, next_base);
  const bool bad = !why.empty();
  std::printf("%s: %s, %" PRIu64 " batches, %" PRIu64 " records, offsets [%" PRIu64 ", %" PRIu64
              ")%s%s\n",
              path.c_str(), bad ? "DAMAGED" : "ok", scan->batches, scan->records, scan->base_offset,
              scan->end_offset, bad ? ": " : "", why.c_str());
  if (bad) ++*damaged;
  return 0;
}

int Verify(const Args& a) {
  uint64_t damaged = 0, files = 0;
  std::error_code ec;
  auto verify_dir = [&](const std::string& dir) {
    bool ok = true;
    const auto segments = Segments(dir, &ok);
    for (size_t i = 0; i < segments.size(); ++i) {
      VerifyFile(storage::JoinPath(dir, segments[i].name), NextSegmentBase(segments, i), &damaged);
      ++files;
    }
    if (!ok) ++damaged;
  };
  if (std::filesystem::is_regular_file(a.path, ec)) {
    VerifyFile(a.path, std::nullopt, &damaged);
    ++files;
  } else if (const auto partitions = Partitions(a.path); !partitions.empty()) {
    for (const auto& [k, dir] : partitions) verify_dir(dir);
  } else {
    verify_dir(a.path);
  }
  if (files == 0) {
    std::fprintf(stderr, "telemq-log: no segment files under '%s'\n", a.path.c_str());
    return 1;
  }
  std::printf("%" PRIu64 " segment files, %" PRIu64 " damaged\n", files, damaged);
  return damaged == 0 ? 0 : 1;
}

// Calls fn(partition, record) for every record of every segment's good
// prefix, partition by partition in offset order. Returns false if a
// partition could not be listed or a segment was damaged (reported).
template <typename Fn>
bool ForEachRecord(const std::string& data_dir, std::optional<uint32_t> only, Fn&& fn) {
  bool ok = true;
  const auto partitions = Partitions(data_dir);
  if (partitions.empty()) {
    std::fprintf(stderr, "telemq-log: no partition directories in '%s'\n", data_dir.c_str());
    return false;
  }
  for (const auto& [k, dir] : partitions) {
    if (only && *only != k) continue;
    const auto segments = Segments(dir, &ok);
    for (size_t i = 0; i < segments.size(); ++i) {
      const std::string path = storage::JoinPath(dir, segments[i].name);
      storage::ScanVisitor visitor;
      visitor.on_record = [&, k = k](const storage::Record& r) { fn(k, r); };
      auto scan = storage::ScanSegmentFile(Env::Posix(), path, visitor);
      const std::string why = scan.ok() ? Damage(*scan, NextSegmentBase(segments, i))
                                        : std::string(scan.status().message());
      if (!why.empty()) {
        std::fprintf(stderr, "telemq-log: %s: %s (records after it are not shown)\n", path.c_str(),
                     why.c_str());
        ok = false;
      }
    }
  }
  return ok;
}

int Dump(const Args& a) {
  uint64_t shown = 0;
  const bool ok = ForEachRecord(a.path, a.partition, [&](uint32_t k, const storage::Record& r) {
    if (r.offset < a.from_offset || shown >= a.limit) return;
    ++shown;
    std::printf("p%u %" PRIu64 " %s %s %s\n", k, r.offset,
                tools::FormatTime(r.timestamp_ns).c_str(), persist::RecordTypeName(r.type),
                tools::DescribeRecord(r).c_str());
  });
  return ok ? 0 : 1;
}

// Streams, in time order, as the broker's history reads do (TimeMerge over
// each partition from its first record at or after --from, found through
// the segment indexes): memory stays flat whatever the log's size, and the
// read stops at --to or --limit.
int Export(const Args& a) {
  const auto partitions = Partitions(a.path);
  if (partitions.empty()) {
    std::fprintf(stderr, "telemq-log: no partition directories in '%s'\n", a.path.c_str());
    return 1;
  }
  bool ok = true;
  auto fail = [&](const std::string& where, const absl::Status& s) {
    std::fprintf(stderr, "telemq-log: %s: %s\n", where.c_str(), std::string(s.message()).c_str());
    ok = false;
  };
  std::vector<std::unique_ptr<storage::PartitionReader>> readers;  // outlive their LogReaders
  persist::TimeMerge merge;
  for (const auto& [k, dir] : partitions) {
    auto reader = storage::PartitionReader::Open(Env::Posix(), dir);
    if (!reader.ok()) {
      fail(dir, reader.status());
      continue;
    }
    absl::StatusOr<uint64_t> from = (*reader)->OffsetForTime(a.from_ns);
    absl::StatusOr<std::unique_ptr<storage::LogReader>> records =
        from.ok() ? (*reader)->ReadFrom(*from) : from.status();
    if (!records.ok()) {
      fail(dir, records.status());
      continue;
    }
    merge.Add(k, *std::move(records));
    readers.push_back(*std::move(reader));
  }
  uint64_t n = 0;
  uint32_t k;
  const storage::Record* r;
  while (n < a.limit && merge.Next(&k, &r)) {
    if (r->timestamp_ns >= a.to_ns) break;  // the merge is in time order
    if (r->timestamp_ns < a.from_ns) continue;
    if (std::optional<std::string> j = tools::ExportJson(k, *r, a.topic_filter)) {
      std::puts(j->c_str());
      ++n;
    }
  }
  for (const std::string& e : merge.errors()) {
    std::fprintf(stderr, "telemq-log: %s (records after it are not exported)\n", e.c_str());
    ok = false;
  }
  return ok ? 0 : 1;
}

int Main(int argc, char** argv) {
  if (argc < 3) return Usage(argc == 2 ? "missing the directory" : "missing the command");
  Args a;
  a.command = argv[1];
  a.path = argv[2];
  for (int i = 3; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return Usage(flag + " needs a value");
    const std::string value = argv[++i];
    uint64_t n;
    if (flag == "--partition" && absl::SimpleAtoi(value, &n) && n < 64) {
      a.partition = static_cast<uint32_t>(n);
    } else if (flag == "--from-offset" && absl::SimpleAtoi(value, &n)) {
      a.from_offset = n;
    } else if (flag == "--limit" && absl::SimpleAtoi(value, &n)) {
      a.limit = n;
    } else if ((flag == "--from" && ParseTime(value, &a.from_ns)) ||
               (flag == "--to" && ParseTime(value, &a.to_ns))) {
      // parsed in place
    } else if (flag == "--topic" && mqtt::ValidateTopicFilter(value) == mqtt::TopicError::kOk) {
      a.topic_filter = value;
    } else {
      return Usage(absl::StrCat("bad option ", flag, " ", value));
    }
  }
  if (a.command == "list") return List(a);
  if (a.command == "verify") return Verify(a);
  if (a.command == "dump") return Dump(a);
  if (a.command == "export") return Export(a);
  return Usage("unknown command '" + a.command + "'");
}

}  // namespace
}  // namespace telemq

int main(int argc, char** argv) { return telemq::Main(argc, argv); }
