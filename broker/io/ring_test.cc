#include "broker/io/ring.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "broker/io/buffer_ring.h"
#include "broker/io/completion.h"
#include "gtest/gtest.h"
#include "protocol/common/errno_text.h"

namespace telemq::io {
namespace {

// io_uring may be disabled (io_uring_disabled sysctl, seccomp): such kernels
// skip these tests rather than fail them.
std::unique_ptr<Ring> MakeRingOrSkip(const RingOptions& options = {}) {
  auto ring = Ring::Create(options);
  if (!ring.ok()) return nullptr;
  return *std::move(ring);
}

#define REQUIRE_RING(var, ...)                             \
  std::unique_ptr<Ring> var = MakeRingOrSkip(__VA_ARGS__); \
  if (var == nullptr) GTEST_SKIP() << "io_uring is not available here"

struct SocketPair {
  int fds[2] = {-1, -1};
  SocketPair() { EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0); }
  ~SocketPair() {
    close(fds[0]);
    close(fds[1]);
  }
};

// Waits for exactly one completion and returns a copy of it.
io_uring_cqe WaitOne(Ring& ring) {
  io_uring_cqe out{};
  for (int attempts = 0; attempts < 50; ++attempts) {
    EXPECT_TRUE(ring.SubmitAndWait(1, absl::Milliseconds(100)).ok());
    io_uring_cqe* cqe = nullptr;
    if (io_uring_peek_cqe(ring.raw(), &cqe) == 0 && cqe != nullptr) {
      out = *cqe;
      io_uring_cqe_seen(ring.raw(), cqe);
      return out;
    }
  }
  ADD_FAILURE() << "no completion within 5 s";
  return out;
}

TEST(OpTagTest, RoundTripsKindGenerationAndIndex) {
  const OpTag tag{OpKind::kSend, 0xABCDEF, 0x12345678};
  const OpTag back = DecodeOpTag(EncodeOpTag(tag));
  EXPECT_EQ(back.kind, OpKind::kSend);
  EXPECT_EQ(back.generation, 0xABCDEFu);
  EXPECT_EQ(back.index, 0x12345678u);
}

TEST(OpTagTest, GenerationKeepsOnlyTwentyFourBits) {
  const OpTag back = DecodeOpTag(EncodeOpTag({OpKind::kRecv, 0x01000005, 7}));
  EXPECT_EQ(back.kind, OpKind::kRecv);
  EXPECT_EQ(back.generation, 5u);
  EXPECT_EQ(back.index, 7u);
}

TEST(RingTest, PrefersDeferTaskrunAndReportsFeatures) {
  REQUIRE_RING(ring);
  EXPECT_FALSE(ring->features().ToString().empty());
  // On a 6.x kernel the preferred mode is accepted; older kernels fall back.
  if (ring->features().send_zc) {
    EXPECT_STREQ(ring->mode(), "defer_taskrun");
  }
}

TEST(RingTest, FallsBackWhenDeferTaskrunIsRefused) {
  REQUIRE_RING(ring, RingOptions{.allow_defer_taskrun = false});
  EXPECT_STRNE(ring->mode(), "defer_taskrun");
  REQUIRE_RING(plain, RingOptions{.allow_defer_taskrun = false, .allow_coop_taskrun = false});
  EXPECT_STREQ(plain->mode(), "plain");
}

TEST(RingTest, TimeoutWithoutCompletionsIsNotAnError) {
  REQUIRE_RING(ring);
  EXPECT_TRUE(ring->SubmitAndWait(1, absl::Milliseconds(1)).ok());
  EXPECT_EQ(ring->ForEachCompletion([](const io_uring_cqe&) {}), 0u);
}

TEST(BufferRingTest, RejectsSizeThatIsNotAPowerOfTwo) {
  REQUIRE_RING(ring);
  EXPECT_FALSE(BufferRing::Create(ring->raw(), 1, 3, 64).ok());
}

TEST(BufferRingTest, MultishotRecvFillsProvidedBuffersAndKeepsGoing) {
  REQUIRE_RING(ring);
  if (!ring->features().multishot_recv) GTEST_SKIP() << "kernel lacks multishot recv";
  auto br = BufferRing::Create(ring->raw(), 7, 8, 64);
  ASSERT_TRUE(br.ok()) << br.status();
  SocketPair sp;
  io_uring_sqe* sqe = ring->NextSqe();
  io_uring_prep_recv_multishot(sqe, sp.fds[0], nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = br->group_id();
  io_uring_sqe_set_data64(sqe, EncodeOpTag({OpKind::kRecv, 1, 42}));

  std::string received;
  for (const char* chunk : {"hello ", "multishot ", "world"}) {
    ASSERT_EQ(write(sp.fds[1], chunk, strlen(chunk)), static_cast<ssize_t>(strlen(chunk)));
    const io_uring_cqe cqe = WaitOne(*ring);
    ASSERT_GT(cqe.res, 0);
    ASSERT_TRUE(cqe.flags & IORING_CQE_F_BUFFER);
    EXPECT_TRUE(cqe.flags & IORING_CQE_F_MORE) << "multishot recv must stay armed";
    EXPECT_EQ(DecodeOpTag(cqe.user_data).index, 42u);
    const auto id = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    br->NoteHandedOut();
    auto data = br->Data(id, static_cast<size_t>(cqe.res));
    received.append(reinterpret_cast<const char*>(data.data()), data.size());
    br->Recycle(id);
    br->Publish();
  }
  EXPECT_EQ(received, "hello multishot world");
  EXPECT_EQ(br->in_user_hands(), 0u);
}

TEST(BufferRingTest, ExhaustedRingEndsMultishotWithEnobufsAndNoDataIsLost) {
  REQUIRE_RING(ring);
  if (!ring->features().multishot_recv) GTEST_SKIP() << "kernel lacks multishot recv";
  auto br = BufferRing::Create(ring->raw(), 3, 2, 16);
  ASSERT_TRUE(br.ok()) << br.status();
  SocketPair sp;
  auto arm = [&] {
    io_uring_sqe* sqe = ring->NextSqe();
    io_uring_prep_recv_multishot(sqe, sp.fds[0], nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = br->group_id();
  };
  arm();
  std::string received;
  std::vector<uint16_t> held;
  bool saw_enobufs = false;
  const std::string sent = "0123456789abcdef0123456789abcdefTAIL";
  ASSERT_EQ(write(sp.fds[1], sent.data(), sent.size()), static_cast<ssize_t>(sent.size()));
  while (received.size() < sent.size()) {
    const io_uring_cqe cqe = WaitOne(*ring);
    if (cqe.res == -ENOBUFS) {
      // The contract the shard relies on: give buffers back, then re-arm.
      saw_enobufs = true;
      EXPECT_FALSE(cqe.flags & IORING_CQE_F_MORE);
      for (uint16_t id : held) br->Recycle(id);
      held.clear();
      br->Publish();
      arm();
      continue;
    }
    ASSERT_GT(cqe.res, 0);
    const auto id = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    br->NoteHandedOut();
    auto data = br->Data(id, static_cast<size_t>(cqe.res));
    received.append(reinterpret_cast<const char*>(data.data()), data.size());
    held.push_back(id);  // not recycled: the two buffers run out
    if (!(cqe.flags & IORING_CQE_F_MORE)) arm();
  }
  EXPECT_TRUE(saw_enobufs);
  EXPECT_EQ(received, sent);
}

TEST(RingTest, MultishotAcceptDeliversEveryConnectionFromOneSqe) {
  REQUIRE_RING(ring);
  if (!ring->features().multishot_accept) GTEST_SKIP() << "kernel lacks multishot accept";
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 16), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);

  io_uring_prep_multishot_accept(ring->NextSqe(), listener, nullptr, nullptr, 0);
  std::vector<int> clients;
  for (int i = 0; i < 3; ++i) {
    const int c = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    clients.push_back(c);
  }
  for (int i = 0; i < 3; ++i) {
    const io_uring_cqe cqe = WaitOne(*ring);
    ASSERT_GE(cqe.res, 0) << ErrnoText(-cqe.res);
    EXPECT_TRUE(cqe.flags & IORING_CQE_F_MORE);
    close(cqe.res);
  }
  for (int c : clients) close(c);
  close(listener);
}

}  // namespace
}  // namespace telemq::io
