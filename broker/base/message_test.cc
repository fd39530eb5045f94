#include "broker/base/message.h"

#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace telemq {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(MessageTest, KeepsTopicPayloadAndPropertiesInOneBlock) {
  const std::string payload = "21.5C";
  const std::string props = "\x01\x01";
  MessageRef m = Message::Create({.topic = "site/1/temp",
                                  .payload = Bytes(payload),
                                  .properties = Bytes(props),
                                  .qos = 1,
                                  .retain = true,
                                  .origin_session = 7});
  EXPECT_EQ(m->topic(), "site/1/temp");
  EXPECT_EQ(std::string(m->payload().begin(), m->payload().end()), payload);
  EXPECT_EQ(std::string(m->properties().begin(), m->properties().end()), props);
  EXPECT_EQ(m->qos(), 1);
  EXPECT_TRUE(m->retain());
  EXPECT_EQ(m->origin_session(), 7u);
  EXPECT_EQ(m->footprint(), sizeof(Message) + 11 + 5 + 2);
}

TEST(MessageTest, EmptyPayloadIsAllowed) {
  MessageRef m = Message::Create({.topic = "a"});
  EXPECT_TRUE(m->payload().empty());
  EXPECT_TRUE(m->properties().empty());
}

TEST(MessageTest, CopiesShareOneMessageAndCountReferences) {
  MessageRef a = Message::Create({.topic = "t"});
  MessageRef b = a;
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(a.use_count(), 2u);
  b = MessageRef();
  EXPECT_EQ(a.use_count(), 1u);
  MessageRef c = std::move(a);
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): the moved-from state is the point
  EXPECT_EQ(c.use_count(), 1u);
}

// References released on several threads at once free the message exactly
// once (ASan reports a double free or a leak otherwise; TSan a race).
TEST(MessageTest, ReleasesFromManyThreadsFreeOnce) {
  MessageRef m = Message::Create({.topic = "shared"});
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([copy = m]() mutable {
      for (int i = 0; i < 10000; ++i) {
        MessageRef local = copy;  // NOLINT(performance-unnecessary-copy-initialization)
        (void)local->topic();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(m.use_count(), 1u);
}

}  // namespace
}  // namespace telemq
