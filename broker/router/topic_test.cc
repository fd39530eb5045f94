// Copyright telemq authors.
#include "broker/router/topic.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace telemq::router {
namespace {

std::vector<std::string> Levels(std::string_view s) {
  std::vector<std::string> out;
  ForEachLevel(s, [&](std::string_view l) { out.emplace_back(l); });
  return out;
}

TEST(ForEachLevel, KeepsEmptyLevels) {
  EXPECT_EQ(Levels("a//b"), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(Levels("/a"), (std::vector<std::string>{"", "a"}));
  EXPECT_EQ(Levels("a/"), (std::vector<std::string>{"a", ""}));
  EXPECT_EQ(Levels("/"), (std::vector<std::string>{"", ""}));
  EXPECT_EQ(Levels("abc"), (std::vector<std::string>{"abc"}));
}

TEST(ParseFilterSpec, SplitsSharedSubscription) {
  const FilterSpec s = ParseFilterSpec("$share/g1/a/+/c");
  EXPECT_TRUE(s.shared());
  EXPECT_EQ(s.group, "g1");
  EXPECT_EQ(s.filter, "a/+/c");
}

TEST(ParseFilterSpec, PlainFilterIsNotShared) {
  const FilterSpec s = ParseFilterSpec("a/+/c");
  EXPECT_FALSE(s.shared());
  EXPECT_EQ(s.filter, "a/+/c");
  EXPECT_FALSE(ParseFilterSpec("$share").shared());
  EXPECT_FALSE(ParseFilterSpec("$shared/g/a").shared());
  EXPECT_FALSE(ParseFilterSpec("$share//a").shared());  // malformed: kept whole
  EXPECT_FALSE(ParseFilterSpec("$share/g").shared());
}

TEST(SharedKeyOf, DependsOnGroupAndFilter) {
  EXPECT_EQ(SharedKeyOf("g", "a/b"), SharedKeyOf("g", "a/b"));
  EXPECT_NE(SharedKeyOf("g", "a/b"), SharedKeyOf("h", "a/b"));
  EXPECT_NE(SharedKeyOf("g", "a/b"), SharedKeyOf("g", "a/c"));
  EXPECT_NE(SharedKeyOf("g/a", "b"), SharedKeyOf("g", "a/b"));
}

TEST(TopicMatchesFilter, PlusMatchesExactlyOneLevel) {
  EXPECT_TRUE(TopicMatchesFilter("a/+/c", "a/b/c"));
  EXPECT_FALSE(TopicMatchesFilter("a/+/c", "a/b/x/c"));
  EXPECT_FALSE(TopicMatchesFilter("a/+", "a"));
  EXPECT_TRUE(TopicMatchesFilter("a/+", "a/"));  // one empty level
  EXPECT_TRUE(TopicMatchesFilter("+/+", "/"));
}

TEST(TopicMatchesFilter, HashMatchesParentAndDescendants) {
  EXPECT_TRUE(TopicMatchesFilter("a/#", "a"));
  EXPECT_TRUE(TopicMatchesFilter("a/#", "a/b/c"));
  EXPECT_FALSE(TopicMatchesFilter("a/#", "b"));
  EXPECT_TRUE(TopicMatchesFilter("#", "/"));
}

TEST(TopicMatchesFilter, DollarTopicsNotMatchedByLeadingWildcard) {
  EXPECT_FALSE(TopicMatchesFilter("#", "$SYS/x"));
  EXPECT_FALSE(TopicMatchesFilter("+/x", "$SYS/x"));
  EXPECT_TRUE(TopicMatchesFilter("$SYS/#", "$SYS/x"));
  EXPECT_TRUE(TopicMatchesFilter("$SYS/+", "$SYS/x"));
  EXPECT_TRUE(TopicMatchesFilter("a/+", "a/$x"));  // only the first level counts
}

TEST(TopicMatchesFilter, ExactNeedsEveryLevel) {
  EXPECT_TRUE(TopicMatchesFilter("a//b", "a//b"));
  EXPECT_FALSE(TopicMatchesFilter("a/b", "a//b"));
  EXPECT_FALSE(TopicMatchesFilter("a/b", "a/b/"));
  EXPECT_FALSE(TopicMatchesFilter("/a", "a"));
}

}  // namespace
}  // namespace telemq::router
