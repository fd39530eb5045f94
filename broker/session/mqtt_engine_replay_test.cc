// Reading from the log: replay of history on SUBSCRIBE (an MQTT 5 user
// property) and an offline backlog beyond the queue limit read back in order.
#include <string>
#include <vector>

#include "broker/session/persistence_fixture.h"
#include "gtest/gtest.h"

namespace telemq::session {
namespace {

using mqtt::Packet;
using mqtt::QoS;
using mqtt::ReasonCode;
using testing::Bytes;
using testing::kV311;
using testing::kV5;
using testing::PersistenceTest;
using testing::Wire;

class ReplayTest : public PersistenceTest {
 protected:
  static constexpr int64_t kNow = 1'700'000'000'000'000'000;
  void SetUp() override {
    for (int i = 0; i < 5; ++i) {
      log_.history.push_back(Message::Create({.topic = i % 2 ? "odd/x" : "even/x",
                                              .payload = Bytes(payloads_[i]),
                                              .qos = 1,
                                              .arrival_ns = kNow - (5 - i) * int64_t{1'000'000'000},
                                              .log_partition = 0,
                                              .log_offset = uint64_t(10 + i)}));
    }
  }
  std::vector<mqtt::Publish> SubscribeWithReplay(ConnId c, std::string_view filter,
                                                 std::string_view from,
                                                 QoS qos = QoS::kAtLeastOnce) {
    mqtt::Subscribe sub;
    sub.packet_id = 2;
    sub.subscriptions.push_back({filter, {.max_qos = qos}});
    mqtt::StringPair up{"replay-from", from};
    sub.properties.set_user_properties({&up, 1});
    Feed(c, sub, kV5);
    std::vector<Packet> out = t_.Take(c, kV5);
    EXPECT_FALSE(out.empty());
    if (!out.empty()) suback_ = std::get<mqtt::Suback>(out[0]);
    return Only<mqtt::Publish>(out);
  }
  std::string payloads_[5] = {"0", "1", "2", "3", "4"};
  mqtt::Suback suback_;
};

TEST_F(ReplayTest, ReplayFromDeliversTheMatchingHistoryAfterTheSuback) {
  const ConnId c = Connect("r", true, kV5);
  auto got = SubscribeWithReplay(c, "even/#", "-10s");
  EXPECT_EQ(suback_.reason_codes[0], ReasonCode::kGrantedQoS1);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(got[0].payload.data()), 1), "0");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(got[2].payload.data()), 1), "4");
  EXPECT_EQ(got[0].qos, QoS::kAtLeastOnce);
  EXPECT_EQ(log_.last_history_from_ns, kNow - 10'000'000'000);
}

TEST_F(ReplayTest, ReplayFromAnAbsoluteTimeSkipsOlderMessages) {
  const ConnId c = Connect("r", true, kV5);
  // kNow - 2.5 s, as Unix seconds: messages 3 and 4 are newer.
  auto got = SubscribeWithReplay(c, "#", "1699999997.5");
  ASSERT_EQ(got.size(), 2u);
}

TEST_F(ReplayTest, ABadReplayFromRefusesTheSubscribe) {
  const ConnId c = Connect("r", true, kV5);
  auto got = SubscribeWithReplay(c, "#", "yesterday");
  EXPECT_TRUE(got.empty());
  ASSERT_EQ(suback_.reason_codes.size(), 1u);
  EXPECT_EQ(suback_.reason_codes[0], ReasonCode::kImplementationSpecificError);
  // Not subscribed: a live message does not arrive.
  const ConnId pub = Connect("p", true);
  Publish(pub, "x", QoS::kAtLeastOnce, 1);
  EXPECT_TRUE(Only<mqtt::Publish>(t_.Take(c, kV5)).empty());
}

TEST_F(ReplayTest, LiveMessagesAlreadyReplayedAreNotDeliveredTwice) {
  const ConnId c = Connect("r", true, kV5);
  ASSERT_EQ(SubscribeWithReplay(c, "even/#", "-10s").size(), 3u);
  // The last replayed message (offset 14) arriving live from another shard:
  t_.RouteFromElsewhere(log_.history[4]);
  EXPECT_TRUE(Only<mqtt::Publish>(t_.Take(c, kV5)).empty());
  // A newer one does arrive.
  t_.RouteFromElsewhere(Message::Create(
      {.topic = "even/y", .payload = Bytes("5"), .qos = 1, .log_partition = 0, .log_offset = 15}));
  EXPECT_EQ(Only<mqtt::Publish>(t_.Take(c, kV5)).size(), 1u);
}

TEST_F(ReplayTest, ReplayedMessagesBeyondTheInFlightWindowWaitInTheQueue) {
  const ConnId c = Connect("r", true, kV5);
  engine_.SetClock(0, kNow);
  // max_inflight 4: 4 in flight, the rest queued; the default queue (10000)
  // has room for all 5.
  auto got = SubscribeWithReplay(c, "#", "-1h");
  EXPECT_EQ(got.size(), 4u);
}

TEST(ParseReplayFrom, AcceptsTheThreeForms) {
  int64_t ns = 0;
  EXPECT_TRUE(ParseReplayFrom("2026-11-30T06:00:00Z", 0, &ns));
  EXPECT_EQ(ns, 1796018400ll * 1'000'000'000);
  EXPECT_TRUE(ParseReplayFrom("1796018400.5", 0, &ns));
  EXPECT_EQ(ns, 1796018400ll * 1'000'000'000 + 500'000'000);
  EXPECT_TRUE(ParseReplayFrom("-90s", 100'000'000'000, &ns));
  EXPECT_EQ(ns, 10'000'000'000);
  EXPECT_TRUE(ParseReplayFrom("-2h", 8'000'000'000'000, &ns));
  EXPECT_EQ(ns, 800'000'000'000);
  EXPECT_FALSE(ParseReplayFrom("", 0, &ns));
  EXPECT_FALSE(ParseReplayFrom("-5x", 0, &ns));
  EXPECT_FALSE(ParseReplayFrom("-s", 0, &ns));
  EXPECT_FALSE(ParseReplayFrom("tomorrow", 0, &ns));
  EXPECT_FALSE(ParseReplayFrom("-1e30d", 0, &ns));
}

// A backlog beyond the queue limits stays in the log (mqtt_backlog.cc).
class BacklogTest : public PersistenceTest {
 protected:
  BacklogTest() { log_.keep_history = true; }
  // Receives `n` PUBLISHes on `c`, acknowledging each, and returns their payloads.
  std::vector<std::string> Drain(ConnId c, size_t n) {
    std::vector<std::string> got;
    for (int round = 0; round < 1000 && got.size() < n; ++round) {
      auto pubs = Only<mqtt::Publish>(t_.Take(c, kV311));
      if (pubs.empty()) break;
      for (const auto& p : pubs) {
        got.emplace_back(reinterpret_cast<const char*>(p.payload.data()), p.payload.size());
        Feed(c, mqtt::Puback{.packet_id = p.packet_id});
      }
    }
    return got;
  }
  void PublishNumbered(ConnId pub, int first, int count) {
    for (int i = first; i < first + count; ++i) {
      payloads_.push_back(std::to_string(i));
      mqtt::Publish p;
      p.topic = "a";
      p.payload = Bytes(payloads_.back());
      p.qos = QoS::kAtLeastOnce;
      p.packet_id = static_cast<uint16_t>(i % 60000 + 1);
      Feed(pub, p);
    }
  }
  static std::vector<std::string> Numbers(int from, int to) {
    std::vector<std::string> out;
    for (int i = from; i < to; ++i) out.push_back(std::to_string(i));
    return out;
  }
  std::deque<std::string> payloads_;  // stable addresses for the PUBLISH views
};

TEST_F(BacklogTest, AnOfflineBacklogBeyondTheQueueLimitStaysInTheLogAndIsReadBackInOrder) {
  EngineOptions o = Options();
  o.max_queued_messages = 8;
  MqttEngine engine(o, &t_, &log_);
  t_.set_engine(&engine);
  engine.SetClock(0, 1'700'000'000'000'000'000);
  // Connects; the CONNACK (and whatever follows it) stays in the output.
  auto connect = [&](std::string_view id, bool clean) {
    const ConnId c = next_conn_++;
    testing::OpenAndConnect(engine, c, id, kV311, clean);
    return c;
  };
  const ConnId sub = connect("sub", false);
  t_.Take(sub, kV311);
  mqtt::Subscribe s;
  s.packet_id = 1;
  s.subscriptions.push_back({"a", {.max_qos = QoS::kAtLeastOnce}});
  engine.OnBytes(sub, Wire(s, kV311));
  t_.Take(sub, kV311);
  engine.OnBytes(sub, Wire(mqtt::Disconnect{}, kV311));
  const ConnId pub = connect("pub", true);
  t_.Take(pub, kV311);
  for (int i = 0; i < 30; ++i) {
    payloads_.push_back(std::to_string(i));
    mqtt::Publish p;
    p.topic = "a";
    p.payload = Bytes(payloads_.back());
    p.qos = QoS::kAtLeastOnce;
    p.packet_id = static_cast<uint16_t>(i + 1);
    engine.OnBytes(pub, Wire(p, kV311));
  }
  EXPECT_EQ(engine.stats().queue_dropped, 0u);
  EXPECT_EQ(engine.stats().spilled_sessions, 1u);
  // Consumption stops at the first message still owed, in memory or in the log.
  engine.FlushConsumed();
  auto consumed = log_.Of("consumed");
  ASSERT_FALSE(consumed.empty());
  EXPECT_EQ(consumed.back().consumed[0], log_.Of("message")[0].offset);

  const ConnId again = connect("sub", false);
  std::vector<std::string> got;
  for (int round = 0; round < 100 && got.size() < 30; ++round) {
    auto pubs = Only<mqtt::Publish>(t_.Take(again, kV311));
    if (pubs.empty()) break;
    for (const auto& p : pubs) {
      got.emplace_back(reinterpret_cast<const char*>(p.payload.data()), p.payload.size());
      engine.OnBytes(again, Wire(mqtt::Puback{.packet_id = p.packet_id}, kV311));
    }
  }
  EXPECT_EQ(got, Numbers(0, 30));
  EXPECT_EQ(engine.stats().refilled, 22u);
  EXPECT_GE(log_.history_reads, 2);  // read back in parts, as the queue drained
  // Caught up: new messages are queued in memory again.
  const int reads = log_.history_reads;
  payloads_.push_back("live");
  mqtt::Publish p;
  p.topic = "a";
  p.payload = Bytes(payloads_.back());
  p.qos = QoS::kAtLeastOnce;
  p.packet_id = 999;
  engine.OnBytes(pub, Wire(p, kV311));
  auto live = Only<mqtt::Publish>(t_.Take(again, kV311));
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(log_.history_reads, reads);
  t_.set_engine(&engine_);
}

TEST_F(BacklogTest, ARestoredSpilledSessionReadsItsBacklogFromTheLog) {
  const ConnId pub = Connect("pub", true);
  PublishNumbered(pub, 0, 6);  // in the fake log
  RestoredSession r;
  r.state = {"sub", kV311, UINT32_MAX, {{"a", {.qos = 1}}}};
  r.queue.push_back({log_.history[0], 1, false, {}});
  r.queue.push_back({log_.history[1], 1, false, {}});
  r.consumed = {log_.history.back()->log_offset() + 1};
  r.spill_from = {log_.history[2]->log_offset()};
  engine_.Restore(std::move(r));
  const ConnId c = SendConnect("sub", false);
  EXPECT_EQ(Drain(c, 6), Numbers(0, 6));
  EXPECT_GE(log_.history_reads, 1);
  engine_.FlushConsumed();
  const auto consumed = log_.Of("consumed");
  ASSERT_FALSE(consumed.empty());
  EXPECT_EQ(consumed.back().consumed[0], log_.history.back()->log_offset() + 1);
}

TEST_F(BacklogTest, NoLocalIsHonouredWhenReadingBack) {
  // Two logged messages of topic "a": one published by "me", one by "other".
  for (const char* origin : {"me", "other"}) {
    payloads_.push_back(origin);
    log_.history.push_back(Message::Create({.topic = "a",
                                            .payload = Bytes(payloads_.back()),
                                            .qos = 1,
                                            .log_partition = 0,
                                            .log_offset = log_.history.size() + 50}));
    log_.history_origin.emplace_back(origin);
  }
  RestoredSession r;
  r.state = {"me", kV311, UINT32_MAX, {{"a", {.qos = 1, .no_local = true}}}};
  r.consumed = {52};
  r.spill_from = {50};
  engine_.Restore(std::move(r));
  const ConnId me = SendConnect("me", false);
  EXPECT_EQ(Drain(me, 2), std::vector<std::string>{"other"});
}

}  // namespace
}  // namespace telemq::session
