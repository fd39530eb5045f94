// Copyright telemq authors.
//
// Router micro-benchmarks. Workload (documented in docs/router.md):
//   topic universe  site{0..99}/bldg{0..99}/dev{0..29}/{temp,hum,power}
//                   (topic i: site = i%100, bldg = i/100%100, dev = i/10^4%30,
//                   metric = i/300000), 900,000 topics.
//   N subscriptions 90% exact filters: topics 0..0.9N-1 (each once);
//                   10% wildcard filters, a random topic of that range with
//                   one level wildcarded, four kinds in turn:
//                   s/b/+/m, s/b/d/#, s/+/d/m, s/b/#.
//   sessions        10,000 (a shard's worth), chosen at random.
//   publishes       a pool of 64k topics drawn uniformly from the exact
//                   range, so every publish has at least one subscriber;
//                   random order defeats the CPU caches (honest, uncached).
#include <malloc.h>

#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "broker/router/interest_trie.h"
#include "broker/router/subscription_trie.h"

namespace telemq::router {
namespace {

constexpr const char* kMetrics[] = {"temp", "hum", "power"};
constexpr uint32_t kSessions = 10000;

struct TopicParts {
  uint32_t site, bldg, dev, metric;
};
TopicParts Parts(uint64_t i) {
  return {static_cast<uint32_t>(i % 100), static_cast<uint32_t>(i / 100 % 100),
          static_cast<uint32_t>(i / 10000 % 30), static_cast<uint32_t>(i / 300000 % 3)};
}

std::string Topic(uint64_t i) {
  const TopicParts p = Parts(i);
  char buf[64];
  snprintf(buf, sizeof buf, "site%u/bldg%u/dev%u/%s", p.site, p.bldg, p.dev, kMetrics[p.metric]);
  return buf;
}

std::string WildFilter(uint64_t i, uint32_t kind) {
  const TopicParts p = Parts(i);
  char buf[64];
  switch (kind % 4) {
    case 0:
      snprintf(buf, sizeof buf, "site%u/bldg%u/+/%s", p.site, p.bldg, kMetrics[p.metric]);
      break;
    case 1:
      snprintf(buf, sizeof buf, "site%u/bldg%u/dev%u/#", p.site, p.bldg, p.dev);
      break;
    case 2:
      snprintf(buf, sizeof buf, "site%u/+/dev%u/%s", p.site, p.dev, kMetrics[p.metric]);
      break;
    default:
      snprintf(buf, sizeof buf, "site%u/bldg%u/#", p.site, p.bldg);
      break;
  }
  return buf;
}

// Calls f(session, filter) for the N subscriptions of the workload.
template <class F>
void ForEachSubscription(uint64_t n, F&& f) {
  std::mt19937_64 rng(42);
  const uint64_t exact = n * 9 / 10;
  for (uint64_t i = 0; i < exact; ++i) f(static_cast<SessionId>(rng() % kSessions), Topic(i));
  for (uint64_t k = 0; exact + k < n; ++k) {
    f(static_cast<SessionId>(rng() % kSessions),
      WildFilter(rng() % exact, static_cast<uint32_t>(k)));
  }
}

// Bytes handed out by glibc malloc: heap (uordblks) plus blocks it mmapped
// (hblkhd: the big hash tables).
size_t MallocedBytes() {
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

struct Fixture {
  SubscriptionTrie trie;
  InterestTrie interest;
  std::vector<std::string> topics;  // publish pool
  double malloc_bytes = 0;          // mallinfo2 delta while subscribing
};

Fixture& Get(uint64_t n) {
  static std::map<uint64_t, std::unique_ptr<Fixture>> cache;
  auto& f = cache[n];
  if (f == nullptr) {
    f = std::make_unique<Fixture>();
    const size_t before = MallocedBytes();
    ForEachSubscription(n, [&](SessionId s, const std::string& filter) {
      f->trie.Subscribe(s, filter, {.qos = 1});
    });
    f->malloc_bytes = static_cast<double>(MallocedBytes() - before);
    std::mt19937_64 rng(7);
    f->topics.reserve(1 << 16);
    for (int i = 0; i < (1 << 16); ++i) f->topics.push_back(Topic(rng() % (n * 9 / 10)));
  }
  return *f;
}

void SetMemoryCounters(benchmark::State& state, Fixture& f) {
  const double subs = static_cast<double>(f.trie.subscription_count());
  state.counters["subs"] = subs;
  state.counters["bytes_per_sub"] = static_cast<double>(f.trie.MemoryUsage()) / subs;
  state.counters["malloc_bytes_per_sub"] = f.malloc_bytes / subs;
}

void BM_Match(benchmark::State& state) {
  Fixture& f = Get(static_cast<uint64_t>(state.range(0)));
  MatchResult out;
  size_t i = 0, deliveries = 0;
  for (auto _ : state) {
    const std::string& topic = f.topics[i++ & 0xFFFF];
    benchmark::DoNotOptimize(topic.data());
    f.trie.Match(topic, kNoSession, &out);
    deliveries += out.size();
    benchmark::DoNotOptimize(out.deliveries().data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["deliveries_per_match"] =
      static_cast<double>(deliveries) / static_cast<double>(state.iterations());
  SetMemoryCounters(state, f);
}
BENCHMARK(BM_Match)->RangeMultiplier(10)->Range(1000, 1000000)->Unit(benchmark::kNanosecond);

// Same workload through MatchBatch, range(1) publishes per batch (one loop
// turn's worth); items = publishes.
void BM_MatchBatch(benchmark::State& state) {
  Fixture& f = Get(static_cast<uint64_t>(state.range(0)));
  const auto batch = static_cast<size_t>(state.range(1));
  std::vector<MatchRequest> requests(batch);
  std::vector<MatchResult> outs(batch);
  size_t i = 0;
  for (auto _ : state) {
    for (MatchRequest& r : requests) r.topic = f.topics[i++ & 0xFFFF];
    f.trie.MatchBatch(requests, absl::MakeSpan(outs));
    benchmark::DoNotOptimize(outs.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
  SetMemoryCounters(state, f);
}
BENCHMARK(BM_MatchBatch)
    ->ArgsProduct({{1000, 10000, 100000, 1000000}, {16}})
    ->Args({1000000, 4})
    ->Args({1000000, 64});

// Same, through the per-shard match cache (64k entries: the whole publish
// pool, i.e. a steady telemetry working set of 64k distinct topics).
void BM_MatchCached(benchmark::State& state) {
  Fixture& f = Get(static_cast<uint64_t>(state.range(0)));
  f.trie.EnableMatchCache(1 << 16);
  MatchResult out;
  size_t i = 0;
  for (const std::string& topic : f.topics) f.trie.Match(topic, kNoSession, &out);  // warm
  for (auto _ : state) {
    const std::string& topic = f.topics[i++ & 0xFFFF];
    benchmark::DoNotOptimize(topic.data());
    f.trie.Match(topic, kNoSession, &out);
    benchmark::DoNotOptimize(out.deliveries().data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["cache_bytes"] = static_cast<double>(f.trie.MatchCacheMemoryUsage());
  f.trie.EnableMatchCache(0);
  SetMemoryCounters(state, f);
}
BENCHMARK(BM_MatchCached)->RangeMultiplier(10)->Range(1000, 1000000);

// Subscribe + unsubscribe of fresh (session, filter) pairs on a router that
// already holds N subscriptions: each iteration is 2 operations and creates
// and prunes the nodes of the pairs that are new paths.
void BM_Churn(benchmark::State& state) {
  const auto n = static_cast<uint64_t>(state.range(0));
  Fixture& f = Get(n);
  std::vector<std::pair<SessionId, std::string>> pool;
  std::mt19937_64 rng(11);
  for (uint32_t k = 0; k < 4096; ++k) {
    const uint64_t i = rng() % 900000;  // also paths the router does not hold
    pool.emplace_back(kSessions + k % 1000, k % 10 == 0 ? WildFilter(i, k / 10) : Topic(i));
  }
  size_t i = 0;
  for (auto _ : state) {
    const auto& [session, filter] = pool[i++ & 4095];
    benchmark::DoNotOptimize(f.trie.Subscribe(session, filter, {.qos = 1}));
    benchmark::DoNotOptimize(f.trie.Unsubscribe(session, filter));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 2);
  state.counters["subs"] = static_cast<double>(f.trie.subscription_count());
}
BENCHMARK(BM_Churn)->Arg(100000)->Arg(1000000);

// The interest replica: N filters spread over 8 shards.
void BM_InterestMatch(benchmark::State& state) {
  const auto n = static_cast<uint64_t>(state.range(0));
  Fixture& f = Get(n);
  if (f.interest.node_count() == 1) {
    ForEachSubscription(
        n, [&](SessionId s, const std::string& filter) { f.interest.Add(filter, s % 8); });
  }
  InterestMatch m;
  size_t i = 0;
  for (auto _ : state) {
    f.interest.Match(f.topics[i++ & 0xFFFF], &m);
    benchmark::DoNotOptimize(m.shards);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["bytes_per_filter"] =
      static_cast<double>(f.interest.MemoryUsage()) / static_cast<double>(n);
}
BENCHMARK(BM_InterestMatch)->Arg(1000000);

}  // namespace
}  // namespace telemq::router
