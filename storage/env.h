// telemq storage: the file system as the log sees it.
//
// Every file access of storage/ goes through an Env, so tests run the same
// code against an in-memory file system that can simulate a crash (drop
// every byte not yet synced) or fail a write or sync on demand (mem_env.h).
// The broker uses PosixEnv(); the hot write path does not call File::Write at
// all: it takes a WriteRequest from the partition and performs it with
// io_uring on File::fd() (partition.h).
//
//   Env* env = Env::Posix();
//   absl::StatusOr<std::unique_ptr<File>> f = env->Open("/data/p0/x.log", OpenMode::kReadWrite);
//   absl::Status s = (*f)->Write(0, {iov, 2});
//
// Thread: an Env may be used from any thread; one File from one thread at a
// time (positional I/O, so readers of a closed segment may share none).
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace telemq::storage {

enum class OpenMode : uint8_t {
  kRead,         // existing file, read only
  kReadWrite,    // existing file
  kCreate,       // create if missing, read-write
  kCreateFresh,  // create; an existing file is an error (never clobber a segment)
};

class File {
 public:
  virtual ~File() = default;

  // pread: up to dst.size() bytes at `position`; fewer only at end of file.
  virtual absl::StatusOr<size_t> Read(uint64_t position, std::span<char> dst) const = 0;
  // pwritev of every byte of `iov` at `position` (loops over short writes).
  virtual absl::Status Write(uint64_t position, std::span<const iovec> iov) = 0;
  virtual absl::Status Sync() = 0;  // fdatasync
  virtual absl::Status Truncate(uint64_t size) = 0;
  // Reserves disk space for [0, size) without changing the file size
  // (fallocate FALLOC_FL_KEEP_SIZE). Best effort: a file system without
  // support returns OK and the caller carries on.
  virtual absl::Status Preallocate(uint64_t size) = 0;
  virtual absl::StatusOr<uint64_t> Size() const = 0;
  // The kernel descriptor for io_uring, or -1 for a file that is not one
  // (MemEnv): callers then use Write/Sync.
  virtual int fd() const = 0;
  virtual const std::string& path() const = 0;
};

struct DiskUsage {
  uint64_t total_bytes = 0;
  uint64_t available_bytes = 0;  // to an unprivileged writer (statvfs f_bavail)
};

class Env {
 public:
  virtual ~Env() = default;

  // The process-wide POSIX implementation (never deleted).
  static Env* Posix();

  virtual absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) = 0;
  // Names (not paths) of the entries of `dir`, without "." and "..".
  virtual absl::StatusOr<std::vector<std::string>> List(const std::string& dir) = 0;
  virtual bool Exists(const std::string& path) = 0;
  virtual absl::Status CreateDir(const std::string& dir) = 0;  // with parents; OK if it exists
  virtual absl::Status Rename(const std::string& from, const std::string& to) = 0;
  virtual absl::Status Remove(const std::string& path) = 0;
  // fsync of a directory, so a created, renamed or removed entry is durable.
  virtual absl::Status SyncDir(const std::string& dir) = 0;
  virtual absl::StatusOr<DiskUsage> Usage(const std::string& path) = 0;
};

}  // namespace telemq::storage
