// telemq storage: an in-memory Env for tests, with crash simulation and
// fault injection.
//
//   MemEnv env;
//   auto p = Partition::Open(&env, {.dir = "/p"}, &report);
//   ... append, flush with and without sync ...
//   env.DropUnsyncedData();          // power loss: every unsynced byte is gone
//   p = Partition::Open(&env, {.dir = "/p"}, &report);
//
//   env.FailNext(MemEnv::Op::kSync, 1, EIO);     // the next fdatasync fails
//   env.ShortWrite(100, ENOSPC);                 // next write stores 100 bytes, then fails
//
// The crash model is the strict one POSIX allows: a file's contents (and
// size) survive only as of its last Sync; a created, renamed or removed name
// survives only once SyncDir of its directory followed. Directories themselves
// are always durable. A File keeps its data alive after its name is removed
// or replaced, as an open descriptor does.
//
// Thread: every method may be called from any thread (one mutex).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "storage/env.h"

namespace telemq::storage {

class MemEnv final : public Env {
 public:
  // The operations fault injection can target.
  enum class Op : uint8_t { kOpen, kWrite, kSync, kTruncate, kRename, kRemove, kSyncDir };

  MemEnv();
  ~MemEnv() override;

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override;
  absl::StatusOr<std::vector<std::string>> List(const std::string& dir) override;
  bool Exists(const std::string& path) override;
  absl::Status CreateDir(const std::string& dir) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status Remove(const std::string& path) override;
  absl::Status SyncDir(const std::string& dir) override;
  absl::StatusOr<DiskUsage> Usage(const std::string& path) override;

  // Simulates a power loss: every file reverts to its contents at its last
  // Sync (empty if never synced), and the set of names reverts to the one
  // at the last SyncDir of each directory. Open Files keep working on the
  // data they had (callers normally drop them first).
  //
  // With a non-zero `tear_seed`, a file that was only appended to since its
  // last Sync keeps a random prefix of the unsynced bytes instead (a torn
  // write: some pages reached the disk).
  void DropUnsyncedData(uint64_t tear_seed = 0);

  // The next `count` calls of `op` fail with `error` and do nothing.
  void FailNext(Op op, int count, int error);
  // The next Write stores only its first `bytes` bytes, then fails with `error`
  // (what a pwritev loop sees when the disk fills mid-write).
  void ShortWrite(size_t bytes, int error);
  void ClearFaults();

  // Test helpers: the whole current contents, or a replacement of them (the
  // new contents count as synced, and the name as durable).
  absl::StatusOr<std::string> Contents(const std::string& path);
  void SetContents(const std::string& path, std::string_view bytes);

  // Calls made so far, for assertions such as "the roll synced".
  int count(Op op);
  // Bytes of every live file.
  uint64_t total_bytes();
  void set_capacity(uint64_t bytes);  // what Usage reports as total

 private:
  struct FileData {
    std::string data;
    std::string synced;
    // data[0, clean_prefix) is known equal to synced[0, clean_prefix): a Sync
    // copies only what follows (appends make syncs O(new bytes)).
    size_t clean_prefix = 0;
  };
  class MemFile;
  struct Fault {
    int count = 0;
    int error = 0;
  };

  // Fails the call with the injected error if one is pending for `op`.
  absl::Status Inject(Op op, const std::string& path) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static std::string Parent(const std::string& path);

  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<FileData>> files_ ABSL_GUARDED_BY(mu_);
  // Names as of the last SyncDir of their directory.
  std::map<std::string, std::shared_ptr<FileData>> durable_files_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> dirs_ ABSL_GUARDED_BY(mu_);
  std::map<Op, Fault> faults_ ABSL_GUARDED_BY(mu_);
  std::map<Op, int> counts_ ABSL_GUARDED_BY(mu_);
  size_t short_write_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int short_write_error_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t capacity_ ABSL_GUARDED_BY(mu_) = uint64_t{1} << 40;
};

}  // namespace telemq::storage
