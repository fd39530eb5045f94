// MQTT codec micro-benchmarks. Targets (one core): >= 20 M decodes/s and
// >= 20 M encodes/s of a 64-byte QoS 0 PUBLISH.
//
//   mqtt_codec_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "protocol/mqtt/decoder.h"
#include "protocol/mqtt/encoder.h"

namespace telemq::mqtt {
namespace {

constexpr std::string_view kTopic = "site1/building2/device3/temp";

ProtocolVersion VersionArg(const benchmark::State& state) {
  return state.range(0) == 5 ? ProtocolVersion::kV5 : ProtocolVersion::kV311;
}

std::vector<uint8_t> EncodePublish(ProtocolVersion v, QoS qos, size_t payload_size,
                                   std::string* payload) {
  payload->assign(payload_size, 'x');
  Publish p{.qos = qos, .topic = kTopic};
  if (qos != QoS::kAtMostOnce) p.packet_id = 1;
  p.payload = {reinterpret_cast<const uint8_t*>(payload->data()), payload->size()};
  std::vector<uint8_t> out(EncodedSize(p, v));
  Encode(p, v, out);
  return out;
}

void DecodeLoop(benchmark::State& state, ProtocolVersion v, const std::vector<uint8_t>& bytes) {
  Decoder decoder({.role = Role::kServer, .version = v});
  Packet packet;
  for (auto _ : state) {
    benchmark::DoNotOptimize(bytes.data());
    DecodeResult r = decoder.Decode(bytes, &packet);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(packet);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
}

void BM_DecodePublishQoS0(benchmark::State& state) {
  std::string payload;
  const ProtocolVersion v = VersionArg(state);
  DecodeLoop(state, v, EncodePublish(v, QoS::kAtMostOnce, 64, &payload));
}
BENCHMARK(BM_DecodePublishQoS0)->Arg(4)->Arg(5);

void BM_DecodePublishQoS1(benchmark::State& state) {
  std::string payload;
  const ProtocolVersion v = VersionArg(state);
  DecodeLoop(state, v, EncodePublish(v, QoS::kAtLeastOnce, 64, &payload));
}
BENCHMARK(BM_DecodePublishQoS1)->Arg(4)->Arg(5);

void BM_DecodePublishPayloadSweep(benchmark::State& state) {
  std::string payload;
  DecodeLoop(state, ProtocolVersion::kV5,
             EncodePublish(ProtocolVersion::kV5, QoS::kAtMostOnce,
                           static_cast<size_t>(state.range(0)), &payload));
}
BENCHMARK(BM_DecodePublishPayloadSweep)->RangeMultiplier(4)->Range(16, 4096);

void BM_DecodeConnect(benchmark::State& state) {
  const ProtocolVersion v = VersionArg(state);
  Connect c{.version = v, .keep_alive = 60, .client_id = "device-000123"};
  c.username = "telemetry";
  static constexpr uint8_t kPassword[] = {'s', 'e', 'c', 'r', 'e', 't'};
  c.password = std::span<const uint8_t>(kPassword);
  if (v == ProtocolVersion::kV5) {
    c.properties.SetInt(PropertyId::kSessionExpiryInterval, 3600);
    c.properties.SetInt(PropertyId::kReceiveMaximum, 100);
  }
  std::vector<uint8_t> bytes(EncodedSize(c, v));
  Encode(c, v, bytes);
  Packet packet;
  for (auto _ : state) {
    Decoder decoder({.role = Role::kServer});  // a CONNECT is a connection's first packet
    DecodeResult r = decoder.Decode(bytes, &packet);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(packet);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
}
BENCHMARK(BM_DecodeConnect)->Arg(4)->Arg(5);

Publish MakePublish(size_t payload_size, std::string* payload) {
  payload->assign(payload_size, 'x');
  Publish p{.topic = kTopic};
  p.payload = {reinterpret_cast<const uint8_t*>(payload->data()), payload->size()};
  return p;
}

void EncodeLoop(benchmark::State& state, ProtocolVersion v, size_t payload_size) {
  std::string payload;
  Publish p = MakePublish(payload_size, &payload);
  std::vector<uint8_t> out(EncodedSize(p, v));
  for (auto _ : state) {
    benchmark::DoNotOptimize(p);
    size_t n = Encode(p, v, out);
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(out.size()));
}

void BM_EncodePublishQoS0(benchmark::State& state) { EncodeLoop(state, VersionArg(state), 64); }
BENCHMARK(BM_EncodePublishQoS0)->Arg(4)->Arg(5);

void BM_EncodePublishPayloadSweep(benchmark::State& state) {
  EncodeLoop(state, ProtocolVersion::kV5, static_cast<size_t>(state.range(0)));
}
BENCHMARK(BM_EncodePublishPayloadSweep)->RangeMultiplier(4)->Range(16, 4096);

// Fan-out path: per-subscriber header only; the payload goes out as its own iovec.
void BM_EncodePublishHeader(benchmark::State& state) {
  const ProtocolVersion v = VersionArg(state);
  std::string payload;
  Publish p = MakePublish(64, &payload);
  p.qos = QoS::kAtLeastOnce;
  uint8_t header[kMaxPublishHeaderStackSize];
  uint16_t id = 1;
  for (auto _ : state) {
    p.packet_id = id++ | 1;  // a different packet id per subscriber
    size_t n = EncodePublishHeader(p, v, header);
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodePublishHeader)->Arg(4)->Arg(5);

}  // namespace
}  // namespace telemq::mqtt
