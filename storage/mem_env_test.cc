#include "storage/mem_env.h"

#include <cerrno>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace telemq::storage {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

absl::Status WriteAt(File& f, uint64_t pos, std::string_view s) {
  const iovec iov{.iov_base = const_cast<char*>(s.data()), .iov_len = s.size()};
  return f.Write(pos, {&iov, 1});
}

class MemEnvTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(env_.CreateDir("/d").ok()); }
  std::unique_ptr<File> Create(const std::string& path) {
    return *env_.Open(path, OpenMode::kCreate);
  }
  MemEnv env_;
};

TEST_F(MemEnvTest, ReadsWhatWasWritten) {
  auto f = Create("/d/a");
  ASSERT_TRUE(WriteAt(*f, 0, "hello").ok());
  ASSERT_TRUE(WriteAt(*f, 3, "LO!").ok());
  char buf[16];
  EXPECT_EQ(*f->Read(0, {buf, sizeof(buf)}), 6u);
  EXPECT_EQ(std::string_view(buf, 6), "helLO!");
  EXPECT_EQ(*f->Size(), 6u);
  EXPECT_EQ(f->fd(), -1);
}

TEST_F(MemEnvTest, DropUnsyncedDataKeepsOnlySyncedBytes) {
  auto f = Create("/d/a");
  ASSERT_TRUE(env_.SyncDir("/d").ok());
  ASSERT_TRUE(WriteAt(*f, 0, "durable").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(WriteAt(*f, 7, "+lost").ok());
  env_.DropUnsyncedData();
  EXPECT_EQ(*env_.Contents("/d/a"), "durable");
}

TEST_F(MemEnvTest, NameWithoutSyncDirDoesNotSurviveACrash) {
  auto f = Create("/d/new");
  ASSERT_TRUE(WriteAt(*f, 0, "x").ok());
  ASSERT_TRUE(f->Sync().ok());
  env_.DropUnsyncedData();
  EXPECT_FALSE(env_.Exists("/d/new"));
}

TEST_F(MemEnvTest, RenameWithoutSyncDirIsUndoneByACrash) {
  auto f = Create("/d/a");
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(env_.SyncDir("/d").ok());
  ASSERT_TRUE(env_.Rename("/d/a", "/d/b").ok());
  env_.DropUnsyncedData();
  EXPECT_TRUE(env_.Exists("/d/a"));
  EXPECT_FALSE(env_.Exists("/d/b"));
}

TEST_F(MemEnvTest, CreateFreshRefusesAnExistingFile) {
  Create("/d/a");
  EXPECT_EQ(env_.Open("/d/a", OpenMode::kCreateFresh).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(env_.Open("/d/missing", OpenMode::kRead).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(env_.Open("/nodir/a", OpenMode::kCreate).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(MemEnvTest, ListsNamesOfADirectory) {
  Create("/d/a");
  Create("/d/b");
  ASSERT_TRUE(env_.CreateDir("/d/sub/deeper").ok());
  EXPECT_THAT(*env_.List("/d"), UnorderedElementsAre("a", "b", "sub"));
}

TEST_F(MemEnvTest, InjectedWriteFailureWritesNothing) {
  auto f = Create("/d/a");
  env_.FailNext(MemEnv::Op::kWrite, 1, EIO);
  const absl::Status s = WriteAt(*f, 0, "x");
  EXPECT_THAT(std::string(s.message()), HasSubstr("/d/a"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("Input/output error"));
  EXPECT_EQ(*f->Size(), 0u);
  EXPECT_TRUE(WriteAt(*f, 0, "x").ok());  // only the next one
}

TEST_F(MemEnvTest, InjectedSyncFailureKeepsTheDataUnsynced) {
  auto f = Create("/d/a");
  ASSERT_TRUE(env_.SyncDir("/d").ok());
  ASSERT_TRUE(WriteAt(*f, 0, "x").ok());
  env_.FailNext(MemEnv::Op::kSync, 1, EIO);
  EXPECT_FALSE(f->Sync().ok());
  env_.DropUnsyncedData();
  EXPECT_EQ(*env_.Contents("/d/a"), "");
}

TEST_F(MemEnvTest, ShortWriteStoresAPrefixThenFails) {
  auto f = Create("/d/a");
  env_.ShortWrite(3, ENOSPC);
  const absl::Status s = WriteAt(*f, 0, "abcdef");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(*env_.Contents("/d/a"), "abc");
}

TEST_F(MemEnvTest, OpenFileOutlivesItsName) {
  auto f = Create("/d/a");
  ASSERT_TRUE(WriteAt(*f, 0, "x").ok());
  ASSERT_TRUE(env_.Remove("/d/a").ok());
  char c;
  EXPECT_EQ(*f->Read(0, {&c, 1}), 1u);
}

TEST_F(MemEnvTest, CountsCalls) {
  auto f = Create("/d/a");
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(env_.SyncDir("/d").ok());
  EXPECT_EQ(env_.count(MemEnv::Op::kSync), 1);
  EXPECT_EQ(env_.count(MemEnv::Op::kSyncDir), 1);
}

}  // namespace
}  // namespace telemq::storage
