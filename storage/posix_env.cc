// Env::Posix(): the file system through plain POSIX calls.
//
// Every error names the path and carries strerror(errno), mapped to an
// absl::Status code (ENOENT -> kNotFound, ENOSPC -> kResourceExhausted, ...).
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "storage/env.h"

namespace telemq::storage {
namespace {

absl::Status Errno(int error, const std::string& what, const std::string& path) {
  return absl::ErrnoToStatus(error, absl::StrCat(what, " ", path));
}

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixFile() override { ::close(fd_); }

  absl::StatusOr<size_t> Read(uint64_t position, std::span<char> dst) const override {
    size_t done = 0;
    while (done < dst.size()) {
      const ssize_t n =
          ::pread(fd_, dst.data() + done, dst.size() - done, static_cast<off_t>(position + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno(errno, absl::StrCat("pread at byte ", position + done, " of"), path_);
      }
      if (n == 0) break;  // end of file
      done += static_cast<size_t>(n);
    }
    return done;
  }

  absl::Status Write(uint64_t position, std::span<const iovec> iov) override {
    // Copy of the vector, advanced in place over short writes.
    std::vector<iovec> rest(iov.begin(), iov.end());
    size_t first = 0;
    while (first < rest.size()) {
      if (rest[first].iov_len == 0) {
        ++first;
        continue;
      }
      const int count = static_cast<int>(std::min<size_t>(rest.size() - first, IOV_MAX));
      const ssize_t n = ::pwritev(fd_, &rest[first], count, static_cast<off_t>(position));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno(errno, absl::StrCat("pwritev at byte ", position, " of"), path_);
      }
      if (n == 0) {
        return absl::DataLossError(
            absl::StrCat("pwritev at byte ", position, " of ", path_, " wrote nothing"));
      }
      position += static_cast<uint64_t>(n);
      size_t left = static_cast<size_t>(n);
      while (left > 0) {
        const size_t take = std::min(left, rest[first].iov_len);
        rest[first].iov_base = static_cast<char*>(rest[first].iov_base) + take;
        rest[first].iov_len -= take;
        left -= take;
        if (rest[first].iov_len == 0) ++first;
      }
    }
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    if (::fdatasync(fd_) != 0) return Errno(errno, "fdatasync", path_);
    return absl::OkStatus();
  }

  absl::Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      return Errno(errno, absl::StrCat("ftruncate to ", size, " bytes of"), path_);
    }
    return absl::OkStatus();
  }

  absl::Status Preallocate(uint64_t size) override {
    if (size == 0) return absl::OkStatus();
    if (::fallocate(fd_, FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(size)) != 0) {
      // Best effort: tmpfs and some network file systems cannot.
      if (errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL) return absl::OkStatus();
      return Errno(errno, absl::StrCat("fallocate of ", size, " bytes for"), path_);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Size() const override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return Errno(errno, "fstat", path_);
    return static_cast<uint64_t>(st.st_size);
  }

  int fd() const override { return fd_; }
  const std::string& path() const override { return path_; }

 private:
  const int fd_;
  const std::string path_;
};

class PosixEnv final : public Env {
 public:
  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override {
    int flags = O_CLOEXEC;
    switch (mode) {
      case OpenMode::kRead:
        flags |= O_RDONLY;
        break;
      case OpenMode::kReadWrite:
        flags |= O_RDWR;
        break;
      case OpenMode::kCreate:
        flags |= O_RDWR | O_CREAT;
        break;
      case OpenMode::kCreateFresh:
        flags |= O_RDWR | O_CREAT | O_EXCL;
        break;
    }
    int fd;
    do {
      fd = ::open(path.c_str(), flags, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return Errno(errno, "open", path);
    return std::make_unique<PosixFile>(fd, path);
  }

  absl::StatusOr<std::vector<std::string>> List(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return Errno(errno, "opendir", dir);
    std::vector<std::string> names;
    errno = 0;
    // readdir is safe here: no other thread reads this DIR stream.
    while (const dirent* e = ::readdir(d)) {  // NOLINT(concurrency-mt-unsafe)
      const std::string_view name(e->d_name);
      if (name != "." && name != "..") names.emplace_back(name);
    }
    const int error = errno;
    ::closedir(d);
    if (error != 0) return Errno(error, "readdir", dir);
    return names;
  }

  bool Exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  absl::Status CreateDir(const std::string& dir) override {
    // mkdir -p: each prefix ending at a '/', then the whole path.
    for (size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
      const std::string prefix = dir.substr(0, slash);
      if (!prefix.empty() && ::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
        return Errno(errno, "mkdir", prefix);
      }
      if (slash == std::string::npos) break;
    }
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) return Errno(errno, "stat", dir);
    if (!S_ISDIR(st.st_mode)) return Errno(ENOTDIR, "mkdir", dir);
    return absl::OkStatus();
  }

  absl::Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return Errno(errno, "rename", absl::StrCat(from, " to ", to));
    }
    return absl::OkStatus();
  }

  absl::Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return Errno(errno, "unlink", path);
    return absl::OkStatus();
  }

  absl::Status SyncDir(const std::string& dir) override {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Errno(errno, "open directory", dir);
    const int rc = ::fsync(fd);
    const int error = errno;
    ::close(fd);
    if (rc != 0) return Errno(error, "fsync of directory", dir);
    return absl::OkStatus();
  }

  absl::StatusOr<DiskUsage> Usage(const std::string& path) override {
    struct statvfs st;
    if (::statvfs(path.c_str(), &st) != 0) return Errno(errno, "statvfs", path);
    return DiskUsage{.total_bytes = uint64_t{st.f_blocks} * st.f_frsize,
                     .available_bytes = uint64_t{st.f_bavail} * st.f_frsize};
  }
};

}  // namespace

Env* Env::Posix() {
  static Env* const env = new PosixEnv();
  return env;
}

}  // namespace telemq::storage
