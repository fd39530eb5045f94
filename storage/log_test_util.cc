#include "storage/log_test_util.h"

#include "storage/file_names.h"

namespace telemq::storage::testing {

std::string ValueFor(uint64_t offset, size_t min_size) {
  std::string v(min_size + offset % 37, '\0');
  char c = static_cast<char>('a' + offset * 7 % 26);  // byte i: 'a' + (7 * offset + i) % 26
  for (char& out : v) {
    out = c;
    c = c == 'z' ? 'a' : static_cast<char>(c + 1);
  }
  return v;
}

std::string KeyFor(uint64_t offset) { return "k/" + std::to_string(offset % 5); }

std::string MakeBatch(uint64_t base_offset, uint32_t count) {
  BatchBuilder b(base_offset);
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t off = base_offset + i;
    b.Add(static_cast<uint8_t>(off % 3), KeyFor(off), ValueFor(off), TimeFor(off));
  }
  return b.Finish();
}

std::string MakeSegment(uint64_t base_offset, uint32_t batches, uint32_t per_batch) {
  std::string s;
  for (uint32_t i = 0; i < batches; ++i)
    s += MakeBatch(base_offset + uint64_t{i} * per_batch, per_batch);
  return s;
}

void AppendRecords(Partition& p, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t off = p.next_offset();
    const std::string value = ValueFor(off);
    absl::StatusOr<uint64_t> got =
        p.Append(static_cast<uint8_t>(off % 3), KeyFor(off), value, TimeFor(off));
    if (!got.ok() || *got != off) std::abort();
  }
}

absl::StatusOr<std::vector<OwnedRecord>> ReadRecords(LogReader& reader) {
  std::vector<OwnedRecord> out;
  Record r;
  while (true) {
    absl::StatusOr<bool> more = reader.Next(&r);
    if (!more.ok()) return more.status();
    if (!*more) break;
    out.push_back({.offset = r.offset,
                   .timestamp_ns = r.timestamp_ns,
                   .type = r.type,
                   .key = std::string(r.key),
                   .value = std::string(r.value)});
  }
  return out;
}

absl::StatusOr<std::vector<OwnedRecord>> ReadAll(const Partition& p, uint64_t from) {
  absl::StatusOr<std::unique_ptr<LogReader>> reader = p.NewReader(from);
  if (!reader.ok()) return reader.status();
  return ReadRecords(**reader);
}

bool IsExpected(const OwnedRecord& r) {
  return r.type == r.offset % 3 && r.key == KeyFor(r.offset) && r.value == ValueFor(r.offset) &&
         r.timestamp_ns == TimeFor(r.offset);
}

void StoreBytes(MemEnv& env, const std::string& path, uint64_t position, std::string_view bytes) {
  std::string data = *env.Contents(path);
  if (data.size() < position + bytes.size()) data.resize(position + bytes.size(), '\0');
  data.replace(position, bytes.size(), bytes);
  env.SetContents(path, data);
}

void FlipByte(MemEnv& env, const std::string& path, uint64_t position) {
  std::string data = *env.Contents(path);
  data[position] = static_cast<char>(data[position] ^ 0x40);
  env.SetContents(path, data);
}

void TruncateFile(MemEnv& env, const std::string& path, uint64_t size) {
  std::string data = *env.Contents(path);
  data.resize(size, '\0');
  env.SetContents(path, data);
}

std::string SegmentPath(const std::string& dir, uint64_t base_offset) {
  return JoinPath(dir, SegmentFileName(base_offset));
}
std::string IndexPath(const std::string& dir, uint64_t base_offset) {
  return JoinPath(dir, IndexFileName(base_offset));
}

}  // namespace telemq::storage::testing
