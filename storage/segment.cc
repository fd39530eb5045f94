#include "storage/segment.h"

#include "protocol/common/status_macros.h"
#include "storage/file_names.h"

namespace telemq::storage {

Segment::Segment(const std::string& dir, uint64_t base_offset, uint32_t index_interval_bytes)
    : path(JoinPath(dir, SegmentFileName(base_offset))),
      index_path(JoinPath(dir, IndexFileName(base_offset))),
      index(base_offset, index_interval_bytes) {}

SegmentInfo Segment::Info(bool active) const {
  return SegmentInfo{.path = path,
                     .base_offset = base_offset(),
                     .end_offset = end_offset(),
                     .bytes = bytes(),
                     .first_timestamp_ns = index.first_timestamp_ns(),
                     .max_timestamp_ns = index.max_timestamp_ns(),
                     .active = active};
}

absl::StatusOr<Segment> CreateSegment(Env* env, const PartitionOptions& options,
                                      uint64_t base_offset, SegmentPreparer* preparer) {
  Segment segment(options.dir, base_offset, options.index_interval_bytes);
  bool prepared = false;
  if (preparer != nullptr) {
    TELEMQ_ASSIGN_OR_RETURN(prepared, preparer->Take(segment.path));
  }
  if (prepared) {
    TELEMQ_ASSIGN_OR_RETURN(segment.file, env->Open(segment.path, OpenMode::kReadWrite));
  } else {
    TELEMQ_ASSIGN_OR_RETURN(segment.file, env->Open(segment.path, OpenMode::kCreateFresh));
    if (options.preallocate) {
      TELEMQ_RETURN_IF_ERROR(segment.file->Preallocate(options.segment_bytes));
    }
  }
  TELEMQ_RETURN_IF_ERROR(env->SyncDir(options.dir));
  return segment;
}

absl::Status SaveIndex(Env* env, const Segment& segment) {
  return WriteIndexFile(env, segment.index_path, segment.index);
}

}  // namespace telemq::storage
