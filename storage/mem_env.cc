#include "storage/mem_env.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include "absl/strings/str_cat.h"
#include "protocol/common/mutex_lock.h"

namespace telemq::storage {
namespace {

const char* OpName(MemEnv::Op op) {
  switch (op) {
    case MemEnv::Op::kOpen:
      return "open";
    case MemEnv::Op::kWrite:
      return "pwritev";
    case MemEnv::Op::kSync:
      return "fdatasync";
    case MemEnv::Op::kTruncate:
      return "ftruncate";
    case MemEnv::Op::kRename:
      return "rename";
    case MemEnv::Op::kRemove:
      return "unlink";
    case MemEnv::Op::kSyncDir:
      return "fsync of directory";
  }
  return "?";
}

}  // namespace

class MemEnv::MemFile final : public File {
 public:
  MemFile(MemEnv* env, std::shared_ptr<FileData> data, std::string path, bool writable)
      : env_(env), data_(std::move(data)), path_(std::move(path)), writable_(writable) {}

  absl::StatusOr<size_t> Read(uint64_t position, std::span<char> dst) const override {
    MutexLock lock(&env_->mu_);
    const std::string& d = data_->data;
    if (position >= d.size()) return 0;
    const size_t n = std::min<uint64_t>(dst.size(), d.size() - position);
    std::memcpy(dst.data(), d.data() + position, n);
    return n;
  }

  absl::Status Write(uint64_t position, std::span<const iovec> iov) override {
    MutexLock lock(&env_->mu_);
    if (!writable_) return absl::ErrnoToStatus(EBADF, absl::StrCat("pwritev ", path_));
    ++env_->counts_[Op::kWrite];
    if (absl::Status s = env_->Inject(Op::kWrite, path_); !s.ok()) return s;
    size_t limit = SIZE_MAX;
    int error = 0;
    if (env_->short_write_error_ != 0) {
      limit = env_->short_write_bytes_;
      error = env_->short_write_error_;
      env_->short_write_error_ = 0;
    }
    std::string& d = data_->data;
    data_->clean_prefix = std::min<uint64_t>(data_->clean_prefix, position);
    for (const iovec& v : iov) {
      const size_t n = std::min(v.iov_len, limit);
      if (n > 0) {
        if (d.size() < position + n) d.resize(position + n, '\0');
        std::memcpy(d.data() + position, v.iov_base, n);
      }
      position += n;
      limit -= n;
      if (n < v.iov_len) break;
    }
    if (error != 0) {
      return absl::ErrnoToStatus(
          error, absl::StrCat("pwritev at byte ", position, " of ", path_, " (injected)"));
    }
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    MutexLock lock(&env_->mu_);
    ++env_->counts_[Op::kSync];
    if (absl::Status s = env_->Inject(Op::kSync, path_); !s.ok()) return s;
    FileData& f = *data_;
    f.synced.resize(std::min(f.clean_prefix, f.synced.size()));
    f.synced.append(f.data, f.synced.size());
    f.clean_prefix = f.data.size();
    return absl::OkStatus();
  }

  absl::Status Truncate(uint64_t size) override {
    MutexLock lock(&env_->mu_);
    ++env_->counts_[Op::kTruncate];
    if (absl::Status s = env_->Inject(Op::kTruncate, path_); !s.ok()) return s;
    data_->data.resize(size, '\0');
    data_->clean_prefix = std::min<uint64_t>(data_->clean_prefix, size);
    return absl::OkStatus();
  }

  absl::Status Preallocate(uint64_t) override { return absl::OkStatus(); }

  absl::StatusOr<uint64_t> Size() const override {
    MutexLock lock(&env_->mu_);
    return data_->data.size();
  }

  int fd() const override { return -1; }
  const std::string& path() const override { return path_; }

 private:
  MemEnv* const env_;
  const std::shared_ptr<FileData> data_;
  const std::string path_;
  const bool writable_;
};

MemEnv::MemEnv() = default;
MemEnv::~MemEnv() = default;

std::string MemEnv::Parent(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return path.substr(0, slash);
}

absl::Status MemEnv::Inject(Op op, const std::string& path) {
  Fault& f = faults_[op];
  if (f.count == 0) return absl::OkStatus();
  --f.count;
  return absl::ErrnoToStatus(f.error, absl::StrCat(OpName(op), " ", path, " (injected)"));
}

absl::StatusOr<std::unique_ptr<File>> MemEnv::Open(const std::string& path, OpenMode mode) {
  MutexLock lock(&mu_);
  ++counts_[Op::kOpen];
  if (absl::Status s = Inject(Op::kOpen, path); !s.ok()) return s;
  const std::string parent = Parent(path);
  if (!parent.empty() && parent != "." && !dirs_.contains(parent)) {
    return absl::ErrnoToStatus(ENOENT, absl::StrCat("open ", path));
  }
  if (dirs_.contains(path)) return absl::ErrnoToStatus(EISDIR, absl::StrCat("open ", path));
  auto it = files_.find(path);
  if (mode == OpenMode::kCreateFresh && it != files_.end()) {
    return absl::ErrnoToStatus(EEXIST, absl::StrCat("open ", path));
  }
  if (it == files_.end()) {
    if (mode == OpenMode::kRead || mode == OpenMode::kReadWrite) {
      return absl::ErrnoToStatus(ENOENT, absl::StrCat("open ", path));
    }
    it = files_.emplace(path, std::make_shared<FileData>()).first;
  }
  return std::make_unique<MemFile>(this, it->second, path, mode != OpenMode::kRead);
}

absl::StatusOr<std::vector<std::string>> MemEnv::List(const std::string& dir) {
  MutexLock lock(&mu_);
  if (!dirs_.contains(dir)) return absl::ErrnoToStatus(ENOENT, absl::StrCat("opendir ", dir));
  std::vector<std::string> names;
  const std::string prefix = dir + "/";
  for (const auto& [path, data] : files_) {
    if (Parent(path) == dir) names.push_back(path.substr(prefix.size()));
  }
  for (const std::string& d : dirs_) {
    if (Parent(d) == dir) names.push_back(d.substr(prefix.size()));
  }
  return names;
}

bool MemEnv::Exists(const std::string& path) {
  MutexLock lock(&mu_);
  return files_.contains(path) || dirs_.contains(path);
}

absl::Status MemEnv::CreateDir(const std::string& dir) {
  MutexLock lock(&mu_);
  if (files_.contains(dir)) return absl::ErrnoToStatus(ENOTDIR, absl::StrCat("mkdir ", dir));
  for (size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
    const std::string prefix = dir.substr(0, slash);
    if (files_.contains(prefix)) return absl::ErrnoToStatus(ENOTDIR, absl::StrCat("mkdir ", dir));
    if (!prefix.empty()) dirs_.insert(prefix);
    if (slash == std::string::npos) break;
  }
  return absl::OkStatus();
}

absl::Status MemEnv::Rename(const std::string& from, const std::string& to) {
  MutexLock lock(&mu_);
  ++counts_[Op::kRename];
  if (absl::Status s = Inject(Op::kRename, from); !s.ok()) return s;
  auto it = files_.find(from);
  const std::string parent = Parent(to);
  if (it == files_.end() || (parent != "." && !dirs_.contains(parent))) {
    return absl::ErrnoToStatus(ENOENT, absl::StrCat("rename ", from, " to ", to));
  }
  std::shared_ptr<FileData> data = it->second;
  files_.erase(it);
  files_[to] = std::move(data);
  return absl::OkStatus();
}

absl::Status MemEnv::Remove(const std::string& path) {
  MutexLock lock(&mu_);
  ++counts_[Op::kRemove];
  if (absl::Status s = Inject(Op::kRemove, path); !s.ok()) return s;
  if (files_.erase(path) == 0) return absl::ErrnoToStatus(ENOENT, absl::StrCat("unlink ", path));
  return absl::OkStatus();
}

absl::Status MemEnv::SyncDir(const std::string& dir) {
  MutexLock lock(&mu_);
  ++counts_[Op::kSyncDir];
  if (absl::Status s = Inject(Op::kSyncDir, dir); !s.ok()) return s;
  if (dir == "." || dir == "/") return absl::OkStatus();  // the roots always exist
  if (!dirs_.contains(dir)) {
    return absl::ErrnoToStatus(ENOENT, absl::StrCat("open directory ", dir));
  }
  // The names directly inside `dir` are a contiguous range of both maps.
  const std::string prefix = dir + "/";
  auto in_dir = [&](const std::string& path) {
    return path.find('/', prefix.size()) == std::string::npos;
  };
  auto after = [&](const auto& entry) { return !entry.first.starts_with(prefix); };
  for (auto it = durable_files_.lower_bound(prefix); it != durable_files_.end() && !after(*it);) {
    it = in_dir(it->first) ? durable_files_.erase(it) : std::next(it);
  }
  for (auto it = files_.lower_bound(prefix); it != files_.end() && !after(*it); ++it) {
    if (in_dir(it->first)) durable_files_.emplace_hint(durable_files_.end(), *it);
  }
  return absl::OkStatus();
}

absl::StatusOr<DiskUsage> MemEnv::Usage(const std::string&) {
  const uint64_t used = total_bytes();
  MutexLock lock(&mu_);
  return DiskUsage{.total_bytes = capacity_,
                   .available_bytes = capacity_ > used ? capacity_ - used : 0};
}

void MemEnv::DropUnsyncedData(uint64_t tear_seed) {
  MutexLock lock(&mu_);
  files_ = durable_files_;
  std::mt19937_64 rng(tear_seed);
  for (auto& [path, file] : files_) {
    const std::string& synced = file->synced;
    size_t keep = synced.size();
    if (tear_seed != 0 && file->data.size() > synced.size() &&
        file->data.compare(0, synced.size(), synced) == 0) {
      keep += rng() % (file->data.size() - synced.size() + 1);
    }
    if (keep > synced.size()) {
      file->data.resize(keep);
      file->synced = file->data;  // those bytes reached the disk
    } else {
      file->data = synced;
    }
    file->clean_prefix = file->data.size();
  }
}

void MemEnv::FailNext(Op op, int count, int error) {
  MutexLock lock(&mu_);
  faults_[op] = Fault{.count = count, .error = error};
}

void MemEnv::ShortWrite(size_t bytes, int error) {
  MutexLock lock(&mu_);
  short_write_bytes_ = bytes;
  short_write_error_ = error;
}

void MemEnv::ClearFaults() {
  MutexLock lock(&mu_);
  faults_.clear();
  short_write_error_ = 0;
}

absl::StatusOr<std::string> MemEnv::Contents(const std::string& path) {
  MutexLock lock(&mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return absl::ErrnoToStatus(ENOENT, absl::StrCat("open ", path));
  return it->second->data;
}

void MemEnv::SetContents(const std::string& path, std::string_view bytes) {
  const std::string parent = Parent(path);
  if (parent != ".") CreateDir(parent).IgnoreError();
  MutexLock lock(&mu_);
  std::shared_ptr<FileData>& data = files_[path];
  if (data == nullptr) data = std::make_shared<FileData>();
  data->data.assign(bytes.data(), bytes.size());
  data->synced = data->data;
  data->clean_prefix = data->data.size();
  durable_files_[path] = data;
}

int MemEnv::count(Op op) {
  MutexLock lock(&mu_);
  return counts_[op];
}

uint64_t MemEnv::total_bytes() {
  MutexLock lock(&mu_);
  uint64_t total = 0;
  for (const auto& [path, data] : files_) total += data->data.size();
  return total;
}

void MemEnv::set_capacity(uint64_t bytes) {
  MutexLock lock(&mu_);
  capacity_ = bytes;
}

}  // namespace telemq::storage
