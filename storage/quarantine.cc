#include "storage/quarantine.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "protocol/common/status_macros.h"
#include "storage/file_names.h"

namespace telemq::storage {
namespace {

constexpr size_t kCopyChunk = 1u << 20;

absl::Status CopyPrefix(Env* env, const File& from, uint64_t bytes, const std::string& to) {
  TELEMQ_ASSIGN_OR_RETURN(std::unique_ptr<File> out, env->Open(to, OpenMode::kCreate));
  TELEMQ_RETURN_IF_ERROR(out->Truncate(0));
  std::vector<char> buf(static_cast<size_t>(std::min<uint64_t>(bytes, kCopyChunk)));
  for (uint64_t pos = 0; pos < bytes;) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), bytes - pos));
    TELEMQ_ASSIGN_OR_RETURN(const size_t got, from.Read(pos, {buf.data(), want}));
    if (got != want) {
      return absl::DataLossError(
          absl::StrCat(from.path(), " shrank while its valid prefix was copied"));
    }
    const iovec iov{.iov_base = buf.data(), .iov_len = got};
    TELEMQ_RETURN_IF_ERROR(out->Write(pos, {&iov, 1}));
    pos += got;
  }
  return out->Sync();
}

}  // namespace

absl::StatusOr<std::string> QuarantineSegment(Env* env, const std::string& dir,
                                              uint64_t base_offset, const File& damaged,
                                              uint64_t valid_bytes) {
  const std::string name = SegmentFileName(base_offset);
  const std::string path = JoinPath(dir, name);
  const std::string repair = path + ".repair";
  if (valid_bytes > 0) TELEMQ_RETURN_IF_ERROR(CopyPrefix(env, damaged, valid_bytes, repair));
  std::string corrupt = name + ".corrupt";
  for (int i = 1; env->Exists(JoinPath(dir, corrupt)); ++i) {
    corrupt = absl::StrCat(name, ".corrupt.", i);
  }
  TELEMQ_RETURN_IF_ERROR(env->Rename(path, JoinPath(dir, corrupt)));
  if (valid_bytes > 0) TELEMQ_RETURN_IF_ERROR(env->Rename(repair, path));
  TELEMQ_RETURN_IF_ERROR(env->SyncDir(dir));
  return corrupt;
}

absl::StatusOr<bool> FinishInterruptedRepair(Env* env, const std::string& dir,
                                             uint64_t base_offset) {
  const std::string path = JoinPath(dir, SegmentFileName(base_offset));
  const std::string repair = path + ".repair";
  if (env->Exists(path)) {
    TELEMQ_RETURN_IF_ERROR(env->Remove(repair));
    return false;
  }
  TELEMQ_RETURN_IF_ERROR(env->Rename(repair, path));
  TELEMQ_RETURN_IF_ERROR(env->SyncDir(dir));
  return true;
}

}  // namespace telemq::storage
