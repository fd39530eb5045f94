// telemq-bench: the MQTT client side the load generator needs, as a thin
// layer over the project codec (protocol/mqtt: encoder.h, decoder.h).
//
// Encoding appends packets to a connection's OutBuffer; decoding turns the
// bytes read from a socket into InPacket events. No MQTT framing is done
// here: every byte on the wire is written or parsed by the codec; this file
// only chooses the packets and flattens what the loop needs from them.
//
// FrameReader keeps the tail of a frame split across reads (a carry buffer)
// and otherwise decodes straight from the read buffer, without a copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "bench/loadgen/out_buffer.h"
#include "protocol/mqtt/decoder.h"
#include "protocol/mqtt/packets.h"

namespace telemq::bench {

enum class InKind : uint8_t {
  kConnack,
  kSuback,
  kPublish,
  kPuback,
  kPubrec,
  kPubrel,
  kPubcomp,
  kPingresp,
  kDisconnect,  // MQTT 5 server DISCONNECT
  kOther,       // anything a client should not receive (reported as an error)
};

// One decoded packet. Spans point into the bytes given to FrameReader::Feed
// (or its carry buffer) and are valid only during the callback.
struct InPacket {
  InKind kind = InKind::kOther;
  uint8_t code = 0;  // CONNACK: 5.0 reason code (3.1.1 return codes mapped);
                     // SUBACK: first return/reason code; acks, DISCONNECT: reason
  bool session_present = false;
  bool retain = false;
  bool dup = false;
  uint8_t qos = 0;
  uint16_t packet_id = 0;
  uint16_t receive_maximum = 0;  // CONNACK 5.0 property; 0 = absent
  std::span<const uint8_t> payload;
  std::string_view topic;
};

// Human-readable name of a CONNACK/SUBACK/DISCONNECT code (5.0 names).
absl::string_view CodeName(uint8_t code);

struct ConnectArgs {
  int version = 4;  // 4 = 3.1.1, 5 = 5.0
  std::string_view client_id;
  bool clean_start = true;
  uint16_t keepalive = 60;
  uint32_t session_expiry = 0;  // 5.0 only; 3.1.1 persists while !clean_start
};

void EncodeConnect(OutBuffer& out, const ConnectArgs& args);
void EncodeSubscribe(OutBuffer& out, int version, uint16_t packet_id, std::string_view filter,
                     int qos);
// A PUBLISH whose payload is the `payload_size` bytes at the returned pointer,
// which the caller fills before the next call on `out`.
uint8_t* EncodePublish(OutBuffer& out, int version, std::string_view topic, int qos, bool retain,
                       uint16_t packet_id, size_t payload_size);

// The same for a publisher that sends many PUBLISHes of one shape: the codec
// encodes the header once; each message copies it and patches its packet id.
class PublishEncoder {
 public:
  PublishEncoder(int version, std::string_view topic, int qos, bool retain, size_t payload_size);
  uint8_t* Append(OutBuffer& out, uint16_t packet_id);

 private:
  std::vector<uint8_t> header_;  // fixed header, topic, packet id, 5.0 properties
  size_t packet_id_at_ = 0;      // offset of the packet id in header_; 0: QoS 0
  size_t payload_size_;
};
enum class AckKind : uint8_t { kPuback, kPubrec, kPubrel, kPubcomp };
// A success acknowledgement: the same four bytes in 3.1.1 and 5.0.
void EncodeAck(OutBuffer& out, AckKind kind, uint16_t packet_id);
void EncodePingreq(OutBuffer& out, int version);
void EncodeDisconnect(OutBuffer& out, int version);

class FrameReader {
 public:
  explicit FrameReader(int version);

  // Decodes every complete packet of carry + `data`, calling on_packet(const
  // InPacket&) for each, and keeps an incomplete tail for the next call.
  // Returns an error (naming the codec's reason) on a malformed packet; the
  // reader is then unusable.
  template <typename OnPacket>
  absl::Status Feed(std::span<const uint8_t> data, OnPacket&& on_packet) {
    std::span<const uint8_t> buf = data;
    if (!carry_.empty()) {
      carry_.insert(carry_.end(), data.begin(), data.end());
      buf = carry_;
    }
    size_t off = 0;
    while (off < buf.size()) {
      InPacket pkt;
      size_t used = 0;
      absl::Status st = DecodeOne(buf.subspan(off), &pkt, &used);
      if (!st.ok()) return st;
      if (used == 0) break;  // need more bytes
      on_packet(static_cast<const InPacket&>(pkt));
      off += used;
    }
    if (carry_.empty()) {
      carry_.assign(buf.begin() + static_cast<ptrdiff_t>(off), buf.end());
    } else {
      carry_.erase(carry_.begin(), carry_.begin() + static_cast<ptrdiff_t>(off));
    }
    return absl::OkStatus();
  }

  size_t carried() const { return carry_.size(); }

 private:
  // One packet from the front of `bytes`: *used = its size, or 0 if the
  // packet is incomplete.
  absl::Status DecodeOne(std::span<const uint8_t> bytes, InPacket* out, size_t* used);
  // The common case, a complete and well-formed 3.1.1 PUBLISH, read without
  // the codec's validation (the topic's UTF-8 and wildcard checks were a
  // fifth of the client's CPU per message). False: not that case; the codec
  // decodes it, or reports what is wrong.
  static bool DecodePublish311(std::span<const uint8_t> bytes, InPacket* out, size_t* used);
  // Likewise a complete PUBACK, PUBREC, PUBREL or PUBCOMP of two bytes'
  // remaining length (3.1.1, or 5.0 success without properties): what a
  // QoS 1/2 run receives most.
  static bool DecodeShortAck(std::span<const uint8_t> bytes, InPacket* out, size_t* used);

  bool v5_ = false;
  mqtt::Decoder decoder_;
  mqtt::Packet packet_;  // reused: decoding does not allocate per packet
  std::vector<uint8_t> carry_;
};

}  // namespace telemq::bench
