#include "broker/net/output_queue.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace telemq::net {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string Gather(const OutputQueue& q) {
  iovec iov[64];
  const int n = q.FillIovecs(iov, 64);
  std::string out;
  for (int i = 0; i < n; ++i) out.append(static_cast<char*>(iov[i].iov_base), iov[i].iov_len);
  return out;
}

TEST(OutputQueueTest, EmptyQueueHoldsNoChunk) {
  ChunkPool pool;
  OutputQueue q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(pool.chunks_in_use(), 0u);
  iovec iov[4];
  EXPECT_EQ(q.FillIovecs(iov, 4), 0);
}

TEST(OutputQueueTest, SmallPacketsCoalesceIntoOneSegment) {
  ChunkPool pool;
  OutputQueue q;
  for (int i = 0; i < 100; ++i) q.Append(pool, Bytes("0123456789"));
  iovec iov[4];
  EXPECT_EQ(q.FillIovecs(iov, 4), 1);
  EXPECT_EQ(q.size(), 1000u);
  EXPECT_EQ(pool.chunks_in_use(), 1u);
  q.Clear(pool);
}

TEST(OutputQueueTest, ShortSendResumesAtTheRightByte) {
  ChunkPool pool;
  OutputQueue q;
  q.Append(pool, Bytes("hello world"));
  q.Consume(pool, 6);
  EXPECT_EQ(Gather(q), "world");
  q.Append(pool, Bytes("!"));
  EXPECT_EQ(Gather(q), "world!");
  q.Consume(pool, 6);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(pool.chunks_in_use(), 0u) << "a drained queue returns its chunks";
}

TEST(OutputQueueTest, SpansChunksAndFreesThemAsTheyAreSent) {
  ChunkPool pool;
  OutputQueue q;
  const std::string block(ChunkPool::kChunkSize - 100, 'a');
  q.Append(pool, Bytes(block));
  q.Append(pool, Bytes(std::string(200, 'b')));  // does not fit: second chunk
  EXPECT_EQ(pool.chunks_in_use(), 2u);
  iovec iov[4];
  ASSERT_EQ(q.FillIovecs(iov, 4), 2);
  q.Consume(pool, block.size() + 50);
  EXPECT_EQ(pool.chunks_in_use(), 1u);
  EXPECT_EQ(Gather(q), std::string(150, 'b'));
  q.Clear(pool);
  EXPECT_EQ(pool.chunks_in_use(), 0u);
}

TEST(OutputQueueTest, PacketLargerThanAChunkGetsItsOwnChunk) {
  ChunkPool pool;
  OutputQueue q;
  const std::string big(size_t{ChunkPool::kChunkSize} * 3, 'z');
  q.Append(pool, Bytes(big));
  EXPECT_EQ(Gather(q), big);
  q.Consume(pool, big.size());
  EXPECT_EQ(pool.chunks_in_use(), 0u);
}

TEST(OutputQueueTest, BytesAppendedDuringASendFollowTheDescribedRanges) {
  ChunkPool pool;
  OutputQueue q;
  q.Append(pool, Bytes("first"));
  iovec iov[4];
  ASSERT_EQ(q.FillIovecs(iov, 4), 1);
  const void* in_flight = iov[0].iov_base;
  q.Append(pool, Bytes("second"));  // while "first" is being sent
  EXPECT_EQ(std::string(static_cast<const char*>(in_flight), 5), "first");
  q.Consume(pool, 5);
  EXPECT_EQ(Gather(q), "second");
  q.Clear(pool);
}

TEST(OutputQueueTest, FillIovecsRespectsTheSegmentLimit) {
  ChunkPool pool;
  OutputQueue q;
  for (int i = 0; i < 5; ++i) q.Append(pool, Bytes(std::string(ChunkPool::kChunkSize, 'x')));
  iovec iov[3];
  EXPECT_EQ(q.FillIovecs(iov, 3), 3);
  q.Clear(pool);
}

}  // namespace
}  // namespace telemq::net
