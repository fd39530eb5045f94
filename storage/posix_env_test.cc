#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/env.h"

namespace telemq::storage {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

absl::Status WriteAt(File& f, uint64_t pos, std::string_view s) {
  const iovec iov{.iov_base = const_cast<char*>(s.data()), .iov_len = s.size()};
  return f.Write(pos, {&iov, 1});
}

class PosixEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/telemq_posix_env_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) { return dir_ + "/" + name; }

  Env* env_ = Env::Posix();
  std::string dir_;
};

TEST_F(PosixEnvTest, WritesVectorsAndReadsThemBack) {
  auto f = *env_->Open(Path("a"), OpenMode::kCreateFresh);
  EXPECT_GE(f->fd(), 0);
  std::string one = "hello ", two = "world";
  const iovec iov[] = {{one.data(), one.size()}, {two.data(), two.size()}};
  ASSERT_TRUE(f->Write(0, iov).ok());
  ASSERT_TRUE(f->Sync().ok());
  char buf[32];
  EXPECT_EQ(*f->Read(0, {buf, sizeof(buf)}), 11u);  // fewer only at end of file
  EXPECT_EQ(std::string_view(buf, 11), "hello world");
  EXPECT_EQ(*f->Size(), 11u);
}

TEST_F(PosixEnvTest, ErrorsNameThePathAndTheErrno) {
  const absl::StatusOr<std::unique_ptr<File>> f = env_->Open(Path("missing"), OpenMode::kRead);
  EXPECT_EQ(f.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(f.status().message()), HasSubstr(Path("missing")));
  EXPECT_THAT(std::string(f.status().message()), HasSubstr("No such file or directory"));
}

TEST_F(PosixEnvTest, CreateFreshNeverClobbers) {
  ASSERT_TRUE(env_->Open(Path("a"), OpenMode::kCreate).ok());
  EXPECT_EQ(env_->Open(Path("a"), OpenMode::kCreateFresh).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(PosixEnvTest, PreallocateKeepsTheFileSize) {
  auto f = *env_->Open(Path("a"), OpenMode::kCreate);
  ASSERT_TRUE(WriteAt(*f, 0, "abc").ok());
  ASSERT_TRUE(f->Preallocate(1 << 20).ok());
  EXPECT_EQ(*f->Size(), 3u);
  ASSERT_TRUE(f->Truncate(1).ok());
  EXPECT_EQ(*f->Size(), 1u);
}

TEST_F(PosixEnvTest, DirectoryOperations) {
  ASSERT_TRUE(env_->CreateDir(Path("x/y/z")).ok());
  ASSERT_TRUE(env_->CreateDir(Path("x/y/z")).ok());  // exists: fine
  ASSERT_TRUE(env_->Open(Path("x/f"), OpenMode::kCreate).ok());
  EXPECT_THAT(*env_->List(Path("x")), UnorderedElementsAre("y", "f"));
  ASSERT_TRUE(env_->Rename(Path("x/f"), Path("x/g")).ok());
  EXPECT_FALSE(env_->Exists(Path("x/f")));
  EXPECT_TRUE(env_->Exists(Path("x/g")));
  ASSERT_TRUE(env_->SyncDir(Path("x")).ok());
  ASSERT_TRUE(env_->Remove(Path("x/g")).ok());
  EXPECT_EQ(env_->Remove(Path("x/g")).code(), absl::StatusCode::kNotFound);
}

TEST_F(PosixEnvTest, UsageReportsTheFileSystem) {
  absl::StatusOr<DiskUsage> u = env_->Usage(dir_);
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_GT(u->total_bytes, 0u);
  EXPECT_LE(u->available_bytes, u->total_bytes);
}

TEST_F(PosixEnvTest, FileDescriptorIsCloseOnExec) {
  auto f = *env_->Open(Path("a"), OpenMode::kCreate);
  EXPECT_NE(::fcntl(f->fd(), F_GETFD) & FD_CLOEXEC, 0);
}

}  // namespace
}  // namespace telemq::storage
