#include "broker/io/ring.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <string>
#include <thread>
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

// A loopback TCP listener on a free port, and clients connected to it.
struct Loopback {
  int listener = -1;
  sockaddr_in addr{};
  std::vector<int> clients;

  Loopback() {
    listener = socket(AF_INET, SOCK_STREAM, 0);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(listener, 16), 0);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  }
  ~Loopback() {
    for (int c : clients) close(c);
    close(listener);
  }
  int Connect() {
    const int c = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    clients.push_back(c);
    return c;
  }
};

// liburing 2.3's io_uring_prep_accept_direct adds one to the slot it is
// given; the kernel's "pick a free slot" is IORING_FILE_INDEX_ALLOC itself.
constexpr unsigned kAllocSlot = IORING_FILE_INDEX_ALLOC - 1;

// A recv of up to 16 bytes from `slot` of the ring's file table.
std::string RecvDirect(Ring& ring, int slot) {
  char buf[16];
  io_uring_sqe* sqe = ring.NextSqe();
  io_uring_prep_recv(sqe, slot, buf, sizeof(buf), 0);
  sqe->flags |= IOSQE_FIXED_FILE;
  const io_uring_cqe cqe = WaitOne(ring);
  if (cqe.res < 0) return ErrnoText(-cqe.res);
  return std::string(buf, static_cast<size_t>(cqe.res));
}

TEST(RingTest, MultishotAcceptDeliversEveryConnectionFromOneSqe) {
  REQUIRE_RING(ring);
  if (!ring->features().multishot_accept) GTEST_SKIP() << "kernel lacks multishot accept";
  Loopback net;
  io_uring_prep_multishot_accept(ring->NextSqe(), net.listener, nullptr, nullptr, 0);
  for (int i = 0; i < 3; ++i) net.Connect();
  for (int i = 0; i < 3; ++i) {
    const io_uring_cqe cqe = WaitOne(*ring);
    ASSERT_GE(cqe.res, 0) << ErrnoText(-cqe.res);
    EXPECT_TRUE(cqe.flags & IORING_CQE_F_MORE);
    close(cqe.res);
  }
}

TEST(RingTest, DirectAcceptFillsTheFileTableUntilItIsFull) {
  REQUIRE_RING(ring);
  if (!ring->features().multishot_accept) GTEST_SKIP() << "kernel lacks multishot accept";
  ASSERT_TRUE(ring->RegisterFileTable(2).ok());
  EXPECT_EQ(ring->features().direct_slots, 2u);
  Loopback net;
  io_uring_prep_multishot_accept_direct(ring->NextSqe(), net.listener, nullptr, nullptr, 0);
  const int first = net.Connect();
  const io_uring_cqe a = WaitOne(*ring);
  ASSERT_GE(a.res, 0) << ErrnoText(-a.res);
  net.Connect();
  const io_uring_cqe b = WaitOne(*ring);
  ASSERT_GE(b.res, 0) << ErrnoText(-b.res);
  EXPECT_NE(a.res, b.res);
  // Full: the accept ends with ENFILE, and the kernel closes the connection
  // it took from the backlog but could not install (why the broker switches
  // to process descriptors before its table is full).
  const int third = net.Connect();
  const io_uring_cqe full = WaitOne(*ring);
  EXPECT_EQ(full.res, -ENFILE);
  EXPECT_FALSE(full.flags & IORING_CQE_F_MORE);
  char byte;
  EXPECT_EQ(recv(third, &byte, 1, 0), 0);

  // A slot works like a descriptor, and closing it makes room.
  ASSERT_EQ(write(first, "hello", 5), 5);
  EXPECT_EQ(RecvDirect(*ring, a.res), "hello");
  io_uring_prep_close_direct(ring->NextSqe(), static_cast<unsigned>(a.res));
  EXPECT_EQ(WaitOne(*ring).res, 0);
  io_uring_prep_accept_direct(ring->NextSqe(), net.listener, nullptr, nullptr, 0, kAllocSlot);
  net.Connect();
  EXPECT_EQ(WaitOne(*ring).res, a.res);
}

TEST(RingTest, TableLargerThanTheOpenFileLimitIsRefused) {
  REQUIRE_RING(ring);
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  // Past the kernel's own cap (IORING_MAX_FIXED_FILES, 1 << 20) a table is
  // refused as well, so a larger limit still gives a case that must fail.
  const rlim_t slots = std::min<rlim_t>(limit.rlim_cur, rlim_t{1} << 20) + 1;
  const absl::Status s = ring->RegisterFileTable(static_cast<unsigned>(slots));
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(ring->features().direct_slots, 0u);
}

// What a shard does when a client's connection belongs to another shard:
// the socket moves from this ring's table into the table of a ring owned by
// another thread (SINGLE_ISSUER | DEFER_TASKRUN, as the shards' are).
TEST(RingTest, MsgRingMovesADirectDescriptorToAnotherThreadsRing) {
  REQUIRE_RING(ring);
  if (!ring->features().msg_ring || !ring->features().multishot_accept) {
    GTEST_SKIP() << "kernel lacks MSG_RING or multishot accept";
  }
  ASSERT_TRUE(ring->RegisterFileTable(4).ok());
  std::promise<int> target_fd;
  std::promise<std::string> received;
  std::promise<void> client_wrote;
  std::thread owner([&] {
    std::unique_ptr<Ring> other = MakeRingOrSkip();
    if (other == nullptr || !other->RegisterFileTable(4).ok()) {
      target_fd.set_value(-1);
      return;
    }
    target_fd.set_value(other->raw()->ring_fd);
    const io_uring_cqe arrived = WaitOne(*other);  // posted by the MSG_RING
    if (arrived.user_data != 77 || arrived.res < 0) {
      received.set_value("no socket arrived");
      return;
    }
    client_wrote.get_future().wait();
    received.set_value(RecvDirect(*other, arrived.res));
  });
  const int fd = target_fd.get_future().get();
  if (fd < 0) {
    owner.join();
    GTEST_SKIP() << "no second ring with a file table";
  }
  // No ASSERT from here to the join: the owner thread must be joined.
  Loopback net;
  io_uring_prep_accept_direct(ring->NextSqe(), net.listener, nullptr, nullptr, 0, kAllocSlot);
  const int client = net.Connect();
  const io_uring_cqe accepted = WaitOne(*ring);
  EXPECT_GE(accepted.res, 0) << ErrnoText(-accepted.res);
  if (accepted.res >= 0) {
    PrepMsgRingSendFd(ring->NextSqe(), fd, static_cast<unsigned>(accepted.res), 77);
    const io_uring_cqe sent = WaitOne(*ring);
    EXPECT_GE(sent.res, 0) << ErrnoText(-sent.res);
    // The sender's slot is its own to close; the owner's reference stays.
    io_uring_prep_close_direct(ring->NextSqe(), static_cast<unsigned>(accepted.res));
    EXPECT_EQ(WaitOne(*ring).res, 0);
  }
  EXPECT_EQ(write(client, "moved", 5), 5);
  client_wrote.set_value();
  EXPECT_EQ(received.get_future().get(), "moved");
  owner.join();
}

}  // namespace
}  // namespace telemq::io
