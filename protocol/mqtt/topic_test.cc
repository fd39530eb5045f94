#include "protocol/mqtt/topic.h"

#include <string>

#include "gtest/gtest.h"

namespace telemq::mqtt {
namespace {

using TE = TopicError;

struct TopicCase {
  std::string_view topic;
  TopicError expected;
};

TEST(TopicNameTest, ValidationTable) {
  using namespace std::string_view_literals;
  const TopicCase cases[] = {
      {"a", TE::kOk},
      {"site1/building2/device3/temp", TE::kOk},
      {"/", TE::kOk},
      {"a//b", TE::kOk},
      {"$SYS/broker/uptime", TE::kOk},
      {"caf\xC3\xA9/x", TE::kOk},
      {"", TE::kEmpty},
      {"+", TE::kWildcardInName},
      {"#", TE::kWildcardInName},
      {"a/+/b", TE::kWildcardInName},
      {"site1/building2/#", TE::kWildcardInName},
      {"site1/building2/device3/te+mp", TE::kWildcardInName},
      {"caf\xC3\xA9/#", TE::kWildcardInName},
      {"a\0b"sv, TE::kInvalidUtf8},
      {"site1/building2\0"sv, TE::kInvalidUtf8},
      {"a\xFF", TE::kInvalidUtf8},
      {"site1/building2/\xED\xA0\x80", TE::kInvalidUtf8},
  };
  for (const TopicCase& c : cases) {
    EXPECT_EQ(ValidateTopicName(c.topic), c.expected) << c.topic;
  }
  EXPECT_EQ(ValidateTopicName(std::string(65536, 'a')), TE::kTooLong);
}

TEST(TopicFilterTest, ValidationTable) {
  const TopicCase cases[] = {
      {"#", TE::kOk},
      {"+", TE::kOk},
      {"a/#", TE::kOk},
      {"a/+/b", TE::kOk},
      {"+/+", TE::kOk},
      {"/+", TE::kOk},
      {"+/", TE::kOk},
      {"a//#", TE::kOk},
      {"$SYS/#", TE::kOk},
      {"$share", TE::kOk},  // no slash: an ordinary filter
      {"", TE::kEmpty},
      {"a/#/b", TE::kMisplacedWildcard},
      {"a+", TE::kMisplacedWildcard},
      {"a#", TE::kMisplacedWildcard},
      {"#/", TE::kMisplacedWildcard},
      {"##", TE::kMisplacedWildcard},
      {"a/b+/c", TE::kMisplacedWildcard},
      {"++", TE::kMisplacedWildcard},
      {"a\xC0\x80", TE::kInvalidUtf8},
  };
  for (const TopicCase& c : cases) {
    EXPECT_EQ(ValidateTopicFilter(c.topic), c.expected) << c.topic;
  }
}

TEST(SharedSubscriptionTest, SplitsGroupAndFilter) {
  SharedSubscription s;
  ASSERT_EQ(ParseSharedSubscription("$share/group/site1/+/temp", &s), TE::kOk);
  EXPECT_TRUE(s.shared);
  EXPECT_EQ(s.group, "group");
  EXPECT_EQ(s.filter, "site1/+/temp");
  ASSERT_EQ(ParseSharedSubscription("$share/g/#", &s), TE::kOk);
  EXPECT_EQ(s.filter, "#");
  ASSERT_EQ(ParseSharedSubscription("$share/g//", &s), TE::kOk);
  EXPECT_EQ(s.filter, "/");
}

TEST(SharedSubscriptionTest, NonSharedFilterPassesThrough) {
  SharedSubscription s;
  ASSERT_EQ(ParseSharedSubscription("a/b", &s), TE::kOk);
  EXPECT_FALSE(s.shared);
  EXPECT_EQ(s.filter, "a/b");
  EXPECT_EQ(ParseSharedSubscription("$sharex/g/a", &s), TE::kOk);
  EXPECT_FALSE(s.shared);
}

TEST(SharedSubscriptionTest, RejectsMalformedShares) {
  SharedSubscription s;
  EXPECT_EQ(ParseSharedSubscription("$share/group", &s), TE::kMissingShareFilter);
  EXPECT_EQ(ParseSharedSubscription("$share/group/", &s), TE::kMissingShareFilter);
  EXPECT_EQ(ParseSharedSubscription("$share/", &s), TE::kInvalidShareGroup);
  EXPECT_EQ(ParseSharedSubscription("$share//a", &s), TE::kInvalidShareGroup);
  EXPECT_EQ(ParseSharedSubscription("$share/g+/a", &s), TE::kInvalidShareGroup);
  EXPECT_EQ(ParseSharedSubscription("$share/#/a", &s), TE::kInvalidShareGroup);
  EXPECT_EQ(ParseSharedSubscription("$share/g/a/#/b", &s), TE::kMisplacedWildcard);
  EXPECT_EQ(ParseSharedSubscription("$share/g/a\xFF", &s), TE::kInvalidUtf8);
}

}  // namespace
}  // namespace telemq::mqtt
