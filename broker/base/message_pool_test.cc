#include "broker/base/message_pool.h"

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "broker/base/message.h"
#include "gtest/gtest.h"

namespace telemq {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

MessageRef Make(size_t payload_size) {
  const std::string payload(payload_size, 'x');
  return Message::Create({.topic = "t", .payload = Bytes(payload)});
}

TEST(MessagePoolTest, WithoutAScopeBlocksComeFromTheAllocator) {
  MessagePool* pool = reinterpret_cast<MessagePool*>(1);
  uint8_t size_class = 0;
  void* b = MessagePool::Allocate(100, &pool, &size_class);
  EXPECT_EQ(pool, nullptr);
  EXPECT_EQ(size_class, MessagePool::kNoClass);
  MessagePool::Free(b, pool, size_class);
  EXPECT_EQ(MessagePool::CachedBlocksForTest(), 0u);
}

TEST(MessagePoolTest, AFreedBlockIsReusedForTheSameClass) {
  MessagePool::Scope scope;
  const Message* first = nullptr;
  {
    MessageRef m = Make(10);
    first = m.get();
  }
  EXPECT_EQ(MessagePool::CachedBlocksForTest(), 1u);
  MessageRef again = Make(12);  // 64 + 1 + 12 bytes: the same 128-byte class
  EXPECT_EQ(again.get(), first);
  EXPECT_EQ(MessagePool::CachedBlocksForTest(), 0u);
  MessageRef bigger = Make(200);  // another class: a new block
  EXPECT_NE(bigger.get(), first);
}

TEST(MessagePoolTest, BlocksAboveTheLargestClassAreNotCached) {
  MessagePool::Scope scope;
  { MessageRef m = Make(MessagePool::kClassBytes * MessagePool::kClasses); }
  EXPECT_EQ(MessagePool::CachedBlocksForTest(), 0u);
}

TEST(MessagePoolTest, TheCacheIsBounded) {
  MessagePool::Scope scope;
  const size_t block = 1024;  // the largest class
  const size_t fit = MessagePool::kMaxCachedBytes / block;
  {
    std::vector<MessageRef> many;
    for (size_t i = 0; i < fit + 100; ++i) many.push_back(Make(block - sizeof(Message) - 1));
  }
  EXPECT_EQ(MessagePool::CachedBlocksForTest(), fit);
}

// A message created under one pool and released on another pooled thread
// goes back to its own pool, and the owner reuses the very block.
TEST(MessagePoolTest, ARemoteFreeReturnsTheBlockToItsOwner) {
  MessagePool::Scope scope;
  MessageRef m = Make(20);
  const Message* block = m.get();
  std::thread other([m = std::move(m)]() mutable {
    MessagePool::Scope other_scope;
    m = MessageRef();  // batched: not yet visible to the owner
    MessagePool::FlushRemote();
  });
  other.join();
  EXPECT_EQ(MessagePool::CachedBlocksForTest(), 0u);  // on the stack, not yet taken
  MessageRef reused = Make(20);
  EXPECT_EQ(reused.get(), block);
}

// A thread without a pool pushes its frees at once: nothing waits for a
// flush that would never come.
TEST(MessagePoolTest, AnUnpooledThreadReturnsBlocksImmediately) {
  MessagePool::Scope scope;
  MessageRef m = Make(20);
  const Message* block = m.get();
  std::thread other([m = std::move(m)]() mutable { m = MessageRef(); });
  other.join();
  MessageRef reused = Make(20);
  EXPECT_EQ(reused.get(), block);
}

// Two pooled threads pass messages both ways, as two shards do, releasing
// each other's; ASan reports a leak or double free, TSan a race.
TEST(MessagePoolTest, TwoThreadsExchangingMessagesFreeEachBlockOnce) {
  std::mutex mu;
  std::vector<MessageRef> to[2];
  std::atomic<int> done{0};
  constexpr int kMessages = 20000;
  auto worker = [&](int self) {
    MessagePool::Scope scope;
    int sent = 0;
    while (sent < kMessages || done.load() < 2) {
      if (sent < kMessages) {
        MessageRef m = Make(static_cast<size_t>(sent % 300));
        std::lock_guard<std::mutex> lock(mu);
        to[1 - self].push_back(std::move(m));
        if (++sent == kMessages) done.fetch_add(1);
      }
      std::vector<MessageRef> mine;
      {
        std::lock_guard<std::mutex> lock(mu);
        mine.swap(to[self]);
      }
      for (MessageRef& m : mine) EXPECT_EQ(m->topic(), "t");
      mine.clear();
      MessagePool::FlushRemote();
    }
  };
  std::thread a(worker, 0);
  std::thread b(worker, 1);
  a.join();
  b.join();
  to[0].clear();
  to[1].clear();
}

}  // namespace
}  // namespace telemq
