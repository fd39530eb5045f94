// Fuzz target: the broker's start-up from a log it did not write.
//
// Every batch of the log is intact (valid checksums), but the records in it
// are whatever the input says: a buggy older version, a hostile file. The
// broker must never crash on them. Recovery (recovery.h) reports what it
// cannot use (undecodable_records, read_errors, or an error status) and
// restores the rest; the restored state then goes where the broker puts it
// (recovery_fuzz_restart.h): each shard's interest replica and retained
// store, and an MqttEngine per shard, whose restored clients connect (their
// own protocol version, session kept) and acknowledge what they get. Any
// crash, sanitizer report or leak is a finding; so is a restored session
// that is not resumed, output that is not well-formed server packets, or
// (with the log on) a record the broker writes that recovery cannot decode.
// On the way, what telemq-log prints of every record (broker/tools/
// log_text.h) is checked: one line of text each, one JSON object a message.
//
// Input: a header byte, then operations, each writing records to one of two
// partitions (MemEnv, small segments) at that partition's clock (+1 us per
// record).
//   header bit 0:   two shards (else one; partition 1 is then a partition
//                   of no shard, as after the shard count was lowered)
//   header bit 1:   max_queued_messages 4 (recovery and engines; else none)
//   header bit 2:   the engines log to their partition (ShardLog), write the
//                   start-up checkpoint, run log maintenance (retention deletes
//                   all the sessions do not need: none may then fail to read
//                   its backlog back), and the log is recovered again at the
//                   end: the broker's own records must all decode
//   header bit 3:   an observer client per engine subscribes to "#" (the
//                   retained messages) and publishes QoS 1 and 2 messages
//   header bits 4-5: rounds of acknowledgements (1 + value)
//   op byte: partition = op >> 7, f = (op >> 4) & 7, kind = op & 15.
//   A string S is one byte: < 0x80 picks from the kind's dictionary (valid
//   and invalid topics, filters, client ids, property blocks), else
//   (byte & 0x7f) literal bytes follow. N: one byte, then N bytes.
//     0  raw record: u8 type, S key (topics), N value
//     1  session: S client id, version (f & 1: 5, else 4; f & 2: a raw byte),
//        expiry (f & 4: a byte picks from a table, else UINT32_MAX),
//        u8 count % 5, per subscription: S filter, u8 options (bits 0-1 QoS,
//        2 no local, 3 retain as published, 4-7 pick a subscription id)
//     2  message, 12 retained copy: S topic, u8 m (bits 0-1 QoS, 2 retain,
//        3 expiry: u8 e, now + (e - 64) * 100 ms, 4 properties: S, 5 origin:
//        S client id, 6 packet id: u16), N payload
//     3  session end: S client id
//     4  consumed: S client id, u8 count (% 4 unless f & 1), u8 per offset
//        (>= 0xf0 picks a huge one)
//     5  QoS 2 release, 8 QoS 2 out complete: S client id, u16 packet id
//     6  QoS 2 pending: S client id, u8 count % 5, u16 per packet id
//     7  QoS 2 out: S client id, entry (u16 packet id, u8 bit 0 released,
//        u8 partition (255: UINT32_MAX), u8 offset)
//     9  QoS 2 out pending: S client id, u8 count % 5, entry per count
//     10 checkpoint begin, 11 checkpoint end
//     13 the partition's clock moves by (int8) byte ms (backwards too)
//     14 flush, then retention deletes every closed segment below an offset
//        (f & 1: all; else a byte)
//     15 flush (closes the batch; segments roll at 1 KiB)
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/base/log.h"
#include "broker/persist/records.h"
#include "broker/persist/recovery.h"
#include "broker/persist/recovery_fuzz_restart.h"
#include "broker/shard/ownership.h"
#include "broker/tools/json_reader.h"
#include "broker/tools/log_text.h"
#include "storage/mem_env.h"
#include "storage/partition.h"

namespace telemq::persist::fuzz {
namespace {

using namespace std::string_view_literals;

constexpr std::string_view kTopics[] = {"a", "a/b", "a/c", "b", "r/1", "r/2", "$SYS/x", "a//b", "/",
                                        // Not topic names a PUBLISH may carry.
                                        "", "a/+", "#", "a/#/b", "+x", "a\0b"sv, "\xff",
                                        "\xc3\x28/a", "\xed\xa0\x80"};
constexpr std::string_view kFilters[] = {"a/#", "a/+", "#", "+", "a", "a/b", "r/#", "$share/g/a/#",
                                         "$share/g/#", "$SYS/#", "+/+/#",
                                         // Not filters a SUBSCRIBE may carry.
                                         "", "a/#/b", "+x", "a#", "$share//a", "$share/g",
                                         "$share/g/", "a\0"sv, "\xc3\x28", "$share/g+/a"};
constexpr std::string_view kClients[] = {"c0", "c1", "c2", "c3", "", "\xff", "a\0b"sv};
// MQTT 5.0 property blocks as the engine stores them (length prefix first).
constexpr std::string_view kProperties[] = {
    "\x02\x01\x01"sv,                // payload format: UTF-8
    "\x02\x01\x00"sv,                // payload format: bytes
    "\x07\x03\x00\x04text"sv,        // content type
    "\x07\x26\x00\x01k\x00\x01v"sv,  // user property
    "\x05\x08\x00\x02r/"sv,          // response topic
    "\x04\x09\x00\x01\xff"sv,        // correlation data
    "\x00"sv,                        // empty block
    "\x03\x23\x00\x05"sv,            // topic alias 5
    "\x03\x23\x00\x00"sv,            // topic alias 0
    "\x02\x0b\x07"sv,                // subscription identifier
    "\x05\x02\x00\x00\x00\x0a"sv,    // message expiry
    "\x05\x11\x00\x00\x00\x0a"sv,    // session expiry (not a PUBLISH property)
    "\x05\x01"sv,                    // truncated
    "\xff"sv,                        // bad length
    "\x05\x08\x00\x02a#"sv,          // response topic with a wildcard
    "\x05\x03\x00\x02\xc3\x28"sv,    // content type not UTF-8
    "\x04\x01\x01\x01\x01"sv,        // payload format twice
    "\x02\x01\x01\x00"sv,            // trailing byte after the block
};
constexpr uint32_t kExpiries[] = {UINT32_MAX, 0, 1, 60, 3600, 86400, UINT32_MAX - 1, 5};
constexpr uint32_t kSubscriptionIds[] = {0,          1, 2, 7, 42, 268435455, 268435456, UINT32_MAX,
                                         0x7fffffff, 3, 4, 5, 6,  8,         9,         10};
constexpr uint64_t kHugeOffsets[] = {UINT64_MAX, UINT64_MAX - 1, uint64_t{1} << 40, 1u << 20,
                                     INT64_MAX};

class Input {
 public:
  explicit Input(std::span<const uint8_t> data) : data_(data) {}
  bool empty() const { return data_.empty(); }
  uint8_t Byte() {
    if (data_.empty()) return 0;
    const uint8_t b = data_[0];
    data_ = data_.subspan(1);
    return b;
  }
  uint16_t U16() {
    const uint16_t hi = Byte();
    return static_cast<uint16_t>(hi << 8 | Byte());
  }
  std::string_view Bytes(size_t n) {
    n = std::min(n, data_.size());
    const std::string_view s(reinterpret_cast<const char*>(data_.data()), n);
    data_ = data_.subspan(n);
    return s;
  }
  std::string_view Str(std::span<const std::string_view> dictionary) {
    const uint8_t b = Byte();
    return b < 0x80 ? dictionary[b % dictionary.size()] : Bytes(b & 0x7f);
  }

 private:
  std::span<const uint8_t> data_;
};

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Writes the operations' records to the partitions of `log`.
class Writer {
 public:
  explicit Writer(Log* log) : log_(log) {}

  void Op(Input& in) {
    const uint8_t op = in.Byte();
    const uint32_t p = op >> 7;
    const uint8_t f = (op >> 4) & 7;
    switch (op & 15) {
      case 0: {
        const uint8_t type = in.Byte();
        const std::string_view key = in.Str(kTopics);
        return Append(p, type, key, in.Bytes(in.Byte()));
      }
      case 1:
        return Session(p, f, in);
      case 2:
      case 12:
        return Message(p, (op & 15) == 2 ? kRecordMessage : kRecordRetainedCopy, in);
      case 3:
        return Append(p, kRecordSessionEnd, in.Str(kClients), "");
      case 4: {
        const std::string_view client = in.Str(kClients);
        const size_t n = (f & 1) != 0 ? in.Byte() : in.Byte() % 4;
        std::vector<uint64_t> offsets;
        for (size_t i = 0; i < n; ++i) {
          const uint8_t b = in.Byte();
          offsets.push_back(b < 0xf0 ? b : kHugeOffsets[b % std::size(kHugeOffsets)]);
        }
        return Append(p, kRecordConsumed, client, EncodeConsumedValue(offsets));
      }
      case 5:
      case 8: {
        const std::string_view client = in.Str(kClients);
        const uint8_t type = (op & 15) == 5 ? kRecordQos2Release : kRecordQos2OutComplete;
        return Append(p, type, client, EncodeQos2ReleaseValue(in.U16()));
      }
      case 6: {
        const std::string_view client = in.Str(kClients);
        std::vector<uint16_t> ids(in.Byte() % 5);
        for (uint16_t& id : ids) id = in.U16();
        return Append(p, kRecordQos2Pending, client, EncodeQos2PendingValue(ids));
      }
      case 7: {
        const std::string_view client = in.Str(kClients);
        return Append(p, kRecordQos2Out, client, EncodeQos2OutValue(OutEntry(in)));
      }
      case 9: {
        const std::string_view client = in.Str(kClients);
        std::vector<session::OutboundQos2> entries(in.Byte() % 5);
        for (session::OutboundQos2& e : entries) e = OutEntry(in);
        return Append(p, kRecordQos2OutPending, client, EncodeQos2OutPendingValue(entries));
      }
      case 10:
        return Append(p, kRecordCheckpointBegin, "", "");
      case 11:
        return Append(p, kRecordCheckpointEnd, "", "");
      case 13:
        clock_[p] += int64_t{static_cast<int8_t>(in.Byte())} * 1'000'000;
        return;
      case 14: {
        storage::Partition& partition = log_->partition(p);
        (void)partition.FlushNow(/*sync=*/true);
        storage::RetentionPolicy policy;
        policy.max_bytes = 1;
        policy.needed_from = (f & 1) != 0 ? UINT64_MAX : in.Byte();
        (void)partition.ApplyRetention(policy, kNowNs);
        return;
      }
      case 15:
        (void)log_->partition(p).FlushNow(/*sync=*/true);
        return;
    }
  }

 private:
  void Append(uint32_t p, uint8_t type, std::string_view key, std::string_view value) {
    AppendParts(p, type, key, {&value, 1});
  }
  void AppendParts(uint32_t p, uint8_t type, std::string_view key,
                   std::span<const std::string_view> parts) {
    // Too large for a batch: refused, as the broker's own would be.
    (void)log_->partition(p).Append(type, key, parts, clock_[p]);
    clock_[p] += 1000;
  }

  void Session(uint32_t p, uint8_t f, Input& in) {
    session::SessionState s;
    const std::string_view client = in.Str(kClients);
    uint8_t version = (f & 1) != 0 ? 5 : 4;
    if ((f & 2) != 0) version = in.Byte();
    s.version = static_cast<mqtt::ProtocolVersion>(version);
    s.expiry_s = (f & 4) != 0 ? kExpiries[in.Byte() % std::size(kExpiries)] : UINT32_MAX;
    const int n = in.Byte() % 5;
    for (int i = 0; i < n; ++i) {
      const std::string_view filter = in.Str(kFilters);
      const uint8_t o = in.Byte();
      s.subscriptions.emplace_back(
          std::string(filter),
          router::SubscriptionOptions{.qos = static_cast<uint8_t>(o & 3),
                                      .no_local = (o & 4) != 0,
                                      .retain_as_published = (o & 8) != 0,
                                      .subscription_id = kSubscriptionIds[o >> 4]});
    }
    Append(p, kRecordSession, client, EncodeSessionValue(s));
  }

  void Message(uint32_t p, uint8_t type, Input& in) {
    const std::string_view topic = in.Str(kTopics);
    const uint8_t m = in.Byte();
    MessageInit init{.topic = topic, .qos = static_cast<uint8_t>(m & 3), .retain = (m & 4) != 0};
    if ((m & 8) != 0) init.expiry_ns = kNowNs + (int64_t{in.Byte()} - 64) * 100'000'000;
    if ((m & 16) != 0) init.properties = AsBytes(in.Str(kProperties));
    const std::string_view origin = (m & 32) != 0 ? in.Str(kClients) : "";
    const uint16_t packet_id = (m & 64) != 0 ? in.U16() : 0;
    init.payload = AsBytes(in.Bytes(in.Byte()));
    MessageValueParts parts;
    EncodeMessageValue(init, origin, packet_id, &parts);
    AppendParts(p, type, topic, parts.parts);
  }

  static session::OutboundQos2 OutEntry(Input& in) {
    session::OutboundQos2 o;
    o.packet_id = in.U16();
    o.released = (in.Byte() & 1) != 0;
    const uint8_t partition = in.Byte();
    o.partition = partition == 255 ? UINT32_MAX : partition;
    o.offset = in.Byte();
    return o;
  }

  Log* log_;
  std::array<int64_t, 2> clock_ = {kNowNs - 1'000'000'000, kNowNs - 1'000'000'000};
};

// Whether recovery can decode `r` (what Replayer::Apply accepts).
bool Decodes(const storage::Record& r) {
  MessageRecord m;
  session::SessionState state;
  std::vector<uint64_t> consumed;
  uint16_t id;
  std::vector<uint16_t> ids;
  session::OutboundQos2 out;
  std::vector<session::OutboundQos2> outs;
  switch (r.type) {
    case kRecordMessage:
    case kRecordRetainedCopy:
      return DecodeMessage(r.key, r.value, &m);
    case kRecordSession:
      return DecodeSession(r.key, r.value, &state);
    case kRecordSessionEnd:
    case kRecordCheckpointBegin:
    case kRecordCheckpointEnd:
      return true;
    case kRecordConsumed:
      return DecodeConsumedValue(r.value, &consumed);
    case kRecordQos2Release:
    case kRecordQos2OutComplete:
      return DecodeQos2ReleaseValue(r.value, &id);
    case kRecordQos2Pending:
      return DecodeQos2PendingValue(r.value, &ids);
    case kRecordQos2Out:
      return DecodeQos2OutValue(r.value, &out);
    case kRecordQos2OutPending:
      return DecodeQos2OutPendingValue(r.value, &outs);
    default:
      return false;
  }
}

// Calls fn(record) for each record of partition p from offset `from` on.
// False if reading failed before the end.
template <typename Fn>
bool ForEachRecord(Log& log, uint32_t p, uint64_t from, Fn&& fn) {
  storage::Partition& partition = log.partition(p);
  absl::StatusOr<std::unique_ptr<storage::LogReader>> reader =
      partition.NewReader(std::max(from, partition.start_offset()));
  Check(reader.ok());
  storage::Record r;
  for (;;) {
    absl::StatusOr<bool> more = (*reader)->Next(&r);
    if (!more.ok()) return false;
    if (!*more) return true;
    fn(r);
  }
}

// What telemq-log prints of a record (broker/tools/log_text.h): a dump line
// is one line of UTF-8 text; an export line is one JSON object whose topic
// and payload are the message's.
void CheckLogText(uint32_t p, const storage::Record& r) {
  const std::string text = tools::DescribeRecord(r);
  Check(tools::PrintableText(text) == text);
  const std::optional<std::string> line = tools::ExportJson(p, r, "");
  MessageRecord m;
  Check(line.has_value() == (r.type == kRecordMessage && DecodeMessage(r.key, r.value, &m)));
  if (!line) return;
  const auto json = tools::ReadFlatJsonObject(*line);
  Check(json.has_value() && json->at("topic") == m.topic);
  const std::string_view payload(reinterpret_cast<const char*>(m.payload.data()), m.payload.size());
  Check(json->count("payload") == 0 || json->at("payload") == payload);
  Check(json->count("payload") + json->count("payload_base64") == 1);
}

void Run(std::span<const uint8_t> data) {
  Input in(data);
  const uint8_t header = in.Byte();
  const RestartOptions options{.shards = (header & 1) != 0 ? 2u : 1u,
                               .max_queued = (header & 2) != 0 ? 4u : 0u,
                               .log = (header & 4) != 0,
                               .observer = (header & 8) != 0,
                               .rounds = 1 + ((header >> 4) & 3)};
  Log log;
  {
    log.Open();
    Writer writer(&log);
    while (!in.empty()) writer.Op(in);
    log.Close();
  }
  // The broker starts: the partitions are opened afresh and recovered.
  log.Open();
  for (uint32_t p = 0; p < 2; ++p) {
    // A read error ends the partition here as it ends telemq-log's output.
    (void)ForEachRecord(log, p, 0, [p](const storage::Record& r) { CheckLogText(p, r); });
  }
  absl::StatusOr<RecoveredState> state = log.Recover(options);
  if (!state.ok()) return;  // refused, and said why: not a crash
  CheckRecovered(*state, options);
  (void)state->Summary();  // the broker logs it
  const uint64_t ends[] = {log.partition(0).written_offset(), log.partition(1).written_offset()};
  Restart(&log, *std::move(state), options);
  if (!options.log) return;
  // What the broker wrote on top all decodes, and the next start recovers.
  log.Close();
  log.Open();
  for (uint32_t p = 0; p < 2; ++p) {
    Check(ForEachRecord(log, p, ends[p], [](const storage::Record& r) { Check(Decodes(r)); }));
  }
  absl::StatusOr<RecoveredState> again = log.Recover(options);
  Check(again.ok());
  CheckRecovered(*again, options);
}

}  // namespace
}  // namespace telemq::persist::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > 4096) return 0;
  static const bool quiet = [] {
    // Recovery and the engine log what they skip: expected here.
    telemq::SetLogSink(&telemq::persist::fuzz::LogSink);
    return true;
  }();
  (void)quiet;
  telemq::persist::fuzz::Run({data, size});
  return 0;
}
