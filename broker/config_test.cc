#include "broker/config.h"

#include <cstdio>
#include <fstream>
#include <vector>

#include "gtest/gtest.h"

namespace telemq {
namespace {

absl::StatusOr<BrokerConfig> Parse(std::vector<const char*> args) {
  args.insert(args.begin(), "telemq");
  return ParseCommandLine(static_cast<int>(args.size()), args.data());
}

TEST(ConfigTest, DefaultsListenOnLoopback1883WithDataDir) {
  auto c = Parse({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->host, "127.0.0.1");
  EXPECT_EQ(c->port, 1883);
  EXPECT_EQ(c->data_dir, "./data");
}

TEST(ConfigTest, AcceptsBothFlagForms) {
  auto c = Parse({"--port=0", "--threads", "2", "--max_inflight=5"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->port, 0);
  EXPECT_EQ(c->threads, 2);
  EXPECT_EQ(c->max_inflight, 5u);
}

TEST(ConfigTest, UnknownFlagIsAnErrorNamingIt) {
  auto c = Parse({"--prot=1"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("unknown setting 'prot'"), std::string::npos);
}

TEST(ConfigTest, MalformedNumberIsAnError) {
  auto c = Parse({"--port=18x3"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("'port'"), std::string::npos);
}

TEST(ConfigTest, OutOfRangeValueIsAnError) {
  EXPECT_FALSE(Parse({"--port=70000"}).ok());
  EXPECT_FALSE(Parse({"--max-inflight=0"}).ok());
  EXPECT_FALSE(Parse({"--log-level=loud"}).ok());
}

TEST(ConfigTest, FlagWithoutValueIsAnError) { EXPECT_FALSE(Parse({"--port"}).ok()); }

TEST(ConfigTest, PositionalArgumentIsAnError) { EXPECT_FALSE(Parse({"1883"}).ok()); }

TEST(ConfigTest, FileSettingsApplyAndFlagsOverrideThem) {
  const std::string path = testing::TempDir() + "/telemq_config_test.conf";
  std::ofstream(path) << "# a comment\nport = 2000\nmax_inflight = 7  # trailing\n\n";
  auto c = Parse({"--port=2001", "--config", path.c_str()});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->port, 2001);
  EXPECT_EQ(c->max_inflight, 7u);
  std::remove(path.c_str());
}

TEST(ConfigTest, BadFileLineNamesFileAndLine) {
  BrokerConfig config;
  absl::Status s = ApplyConfigText("port = 1\nnonsense\n", "x.conf", &config);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("x.conf:2"), std::string::npos) << s.message();
}

TEST(ConfigTest, MissingConfigFileIsAnError) {
  EXPECT_FALSE(Parse({"--config=/nonexistent/telemq.conf"}).ok());
}

TEST(ConfigTest, HelpListsEverySetting) {
  auto c = Parse({"--help"});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->help);
  const std::string usage = ConfigUsage();
  for (const char* name : {"--host", "--port", "--threads", "--data-dir", "--log-level",
                           "--max-packet-size", "--max-inflight", "--max-queued-messages"}) {
    EXPECT_NE(usage.find(name), std::string::npos) << name;
  }
}

TEST(ConfigTest, DurabilityDefaultsToSyncAndTakesTheThreeModes) {
  auto c = Parse({});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->durability, "sync");
  for (const char* mode : {"sync", "batch", "none"}) {
    auto m = Parse({"--durability", mode});
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(m->durability, mode);
  }
}

TEST(ConfigTest, UnknownDurabilityIsAnErrorNamingTheChoices) {
  auto c = Parse({"--durability=fsync"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("'fsync' is not one of sync, batch, none"),
            std::string::npos);
}

TEST(ConfigTest, PersistFiltersAccumulateAndAreValidated) {
  auto c = Parse({"--persist", "a/+/temp, b/#", "--persist=c"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->persist_filters, (std::vector<std::string>{"a/+/temp", "b/#", "c"}));
  auto bad = Parse({"--persist", "a/#/b"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'a/#/b' is not a valid MQTT topic filter"),
            std::string::npos);
}

TEST(ConfigTest, RetentionSettingsAreRead) {
  auto c = Parse({"--retention-mb=512", "--retention-hours=24", "--segment-mb=16"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->retention_mb, 512u);
  EXPECT_EQ(c->retention_hours, 24u);
  EXPECT_EQ(c->segment_mb, 16u);
  EXPECT_FALSE(Parse({"--segment-mb=0"}).ok());
}

TEST(ConfigTest, DirectDescriptorsDefaultOnAndTakeABoolean) {
  auto c = Parse({});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->direct_descriptors);
  c = Parse({"--direct-descriptors=false"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->direct_descriptors);
  c = Parse({"--direct-descriptors", "ON"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->direct_descriptors);
  c = Parse({"--direct-descriptors=maybe"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("direct-descriptors"), std::string::npos);
}

TEST(ConfigTest, BusyWaitDefaultsTo50UsAndZeroTurnsItOff) {
  auto c = Parse({});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->busy_wait_us, 50u);
  c = Parse({"--busy-wait-us=0"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->busy_wait_us, 0u);
  EXPECT_FALSE(Parse({"--busy-wait-us=10001"}).ok());  // a turn must not wait 10 ms
}

}  // namespace
}  // namespace telemq
