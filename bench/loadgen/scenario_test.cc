#include "bench/loadgen/scenario.h"

#include "bench/loadgen/topic_match.h"
#include "gtest/gtest.h"

namespace telemq::bench {
namespace {

TEST(ScenarioTest, DefaultsAreOneToOneQos0OnLoopback) {
  auto s = ParseScenario({});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->mode, Mode::kPubSub);
  EXPECT_EQ(s->publishers, 1u);
  EXPECT_EQ(s->subscribers, 1u);
  EXPECT_EQ(s->qos, 0);
  EXPECT_EQ(s->host, "127.0.0.1");
  EXPECT_DOUBLE_EQ(s->time_limit, s->duration + s->drain + 10);
}

TEST(ScenarioTest, ExplicitFlagsOverridePresetWhateverTheOrder) {
  auto s = ParseScenario({"--publishers=7", "--preset=fan-in", "--qos", "1"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->publishers, 7u);
  EXPECT_EQ(s->qos, 1);
  EXPECT_EQ(s->sub_filter, "sensors/+/temp");  // from the preset
}

TEST(ScenarioTest, UnknownFlagAndPresetAreErrorsNamingThem) {
  auto a = ParseScenario({"--bogus=1"});
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("--bogus"), std::string::npos);
  auto b = ParseScenario({"--preset=nope"});
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("nope"), std::string::npos);
}

TEST(ScenarioTest, OutOfRangeValuesAreRejected) {
  EXPECT_FALSE(ParseScenario({"--qos=3"}).ok());
  EXPECT_FALSE(ParseScenario({"--payload=8"}).ok());  // no room for the header
  EXPECT_FALSE(ParseScenario({"--port=70000"}).ok());
  EXPECT_FALSE(ParseScenario({"--duration=abc"}).ok());
  EXPECT_FALSE(ParseScenario({"--duration=10", "--time-limit=5"}).ok());
  EXPECT_FALSE(ParseScenario({"--preset=backlog", "--qos=0"}).ok());
}

TEST(ScenarioTest, EveryPresetParses) {
  for (const char* p : {"1to1", "fan-in", "fan-out", "many-to-many", "qos1", "qos2", "storm",
                        "idle", "retained", "backlog"}) {
    auto s = ParseScenario({std::string("--preset=") + p});
    EXPECT_TRUE(s.ok()) << p << ": " << s.status();
  }
}

TEST(ScenarioTest, TopicPatternsExpandIdAndGroup) {
  EXPECT_EQ(ExpandTopic("sensors/{id}/temp", 42, 1), "sensors/42/temp");
  EXPECT_EQ(ExpandTopic("m2m/{group}/{id}", 13, 8), "m2m/5/13");
}

TEST(ScenarioTest, ManyToManyPresetGivesEachGroupItsSubscribers) {
  auto s = ParseScenario({"--preset=many-to-many"});
  ASSERT_TRUE(s.ok());
  // Publisher 13 is in group 5; subscribers 5 and 13 subscribe to m2m/5/#.
  const std::string topic = ExpandTopic(s->pub_topic, 13, s->groups);
  int matches = 0;
  for (uint32_t j = 0; j < s->subscribers; ++j) {
    matches += TopicMatches(ExpandTopic(s->sub_filter, j, s->groups), topic);
  }
  EXPECT_EQ(matches, 2);
}

TEST(TopicMatchTest, WildcardsFollowMqttRules) {
  EXPECT_TRUE(TopicMatches("sensors/+/temp", "sensors/7/temp"));
  EXPECT_FALSE(TopicMatches("sensors/+/temp", "sensors/7/hum"));
  EXPECT_FALSE(TopicMatches("sensors/+", "sensors/7/temp"));
  EXPECT_TRUE(TopicMatches("sensors/#", "sensors/7/temp"));
  EXPECT_TRUE(TopicMatches("sensors/#", "sensors"));  // '#' includes the parent
  EXPECT_TRUE(TopicMatches("#", "a/b/c"));
  EXPECT_TRUE(TopicMatches("a/b", "a/b"));
  EXPECT_FALSE(TopicMatches("a/b", "a/b/c"));
  EXPECT_FALSE(TopicMatches("a/b/c", "a/b"));
  EXPECT_TRUE(TopicMatches("+/+", "a/"));  // empty level
}

}  // namespace
}  // namespace telemq::bench
