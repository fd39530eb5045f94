// telemq: the immutable, shared application message.
//
// A PUBLISH (MQTT) or a sample (M2M) is decoded once into a Message; every
// subscriber's send queue, every shard it is forwarded to, the retained store
// and the log hold the same bytes through a MessageRef. Nothing in a Message
// changes after Create, so any thread may read it; only the reference count
// is shared mutable state (atomic).
//
// One allocation, recycled per shard thread (message_pool.h), holds the
// header and the bytes:
//
//   +----------------+-------------+----------------+-------------------+
//   | Message header | topic bytes | payload bytes  | properties bytes  |
//   +----------------+-------------+----------------+-------------------+
//
// `properties` is the MQTT 5.0 property block to forward to 5.0 subscribers
// (payload format, content type, response topic, correlation data, user
// properties) already encoded, without its length prefix; the message expiry
// is kept as a deadline instead, because it is rewritten per delivery.
//
//   MessageRef m = Message::Create({.topic = "a/b", .payload = bytes, .qos = 1});
//   MessageRef copy = m;              // +1 reference, no copy of the bytes
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

namespace telemq {

class MessagePool;
class MessageRef;

struct MessageInit {
  std::string_view topic;
  std::span<const uint8_t> payload;
  std::span<const uint8_t> properties;
  uint8_t qos = 0;
  bool retain = false;
  // The publishing session (for no-local), or kNoOrigin.
  uint32_t origin_session = UINT32_MAX;
  int32_t origin_shard = -1;
  // Broker time of arrival, ns since the Unix epoch.
  int64_t arrival_ns = 0;
  // Absolute expiry in the same clock; 0 = never.
  int64_t expiry_ns = 0;
  // Where the message is in the durable log: the partition (the shard that
  // appended it) and the record offset, or kNotLogged (QoS 0, or no log).
  uint32_t log_partition = 0;
  uint64_t log_offset = UINT64_MAX;
};

class Message {
 public:
  static constexpr uint32_t kNoOrigin = UINT32_MAX;
  static constexpr uint64_t kNotLogged = UINT64_MAX;

  static MessageRef Create(const MessageInit& init);

  std::string_view topic() const { return {bytes(), topic_size_}; }
  std::span<const uint8_t> payload() const {
    return {reinterpret_cast<const uint8_t*>(bytes()) + topic_size_, payload_size_};
  }
  std::span<const uint8_t> properties() const {
    return {reinterpret_cast<const uint8_t*>(bytes()) + topic_size_ + payload_size_,
            properties_size_};
  }
  uint8_t qos() const { return qos_; }
  bool retain() const { return retain_; }
  uint32_t origin_session() const { return origin_session_; }
  int32_t origin_shard() const { return origin_shard_; }
  int64_t arrival_ns() const { return arrival_ns_; }
  int64_t expiry_ns() const { return expiry_ns_; }
  bool logged() const { return log_offset_ != kNotLogged; }
  uint32_t log_partition() const { return log_partition_; }
  uint64_t log_offset() const { return log_offset_; }
  // Total bytes held, for queue accounting.
  size_t footprint() const {
    return sizeof(Message) + topic_size_ + payload_size_ + properties_size_;
  }

 private:
  friend class MessageRef;
  Message() = default;
  const char* bytes() const { return reinterpret_cast<const char*>(this + 1); }
  char* bytes() { return reinterpret_cast<char*>(this + 1); }

  mutable std::atomic<uint32_t> refs_{1};
  uint32_t topic_size_ = 0;
  uint32_t payload_size_ = 0;
  uint32_t properties_size_ = 0;
  uint32_t origin_session_ = kNoOrigin;
  int32_t origin_shard_ = -1;
  int64_t arrival_ns_ = 0;
  int64_t expiry_ns_ = 0;
  uint64_t log_offset_ = kNotLogged;
  // Where the memory goes back (message_pool.h).
  MessagePool* pool_ = nullptr;
  uint32_t log_partition_ = 0;
  uint8_t qos_ = 0;
  bool retain_ = false;
  uint8_t size_class_ = 0;
};
// The header is one cache line; the bytes follow it.
static_assert(sizeof(Message) == 64);

// An intrusive reference to a Message. Copying adds a reference (relaxed
// increment); the last release frees it (acq_rel decrement), on whichever
// thread that happens.
class MessageRef {
 public:
  MessageRef() = default;
  MessageRef(const MessageRef& other) : m_(other.m_) {
    if (m_ != nullptr) m_->refs_.fetch_add(1, std::memory_order_relaxed);
  }
  MessageRef(MessageRef&& other) noexcept : m_(std::exchange(other.m_, nullptr)) {}
  MessageRef& operator=(MessageRef other) noexcept {
    std::swap(m_, other.m_);
    return *this;
  }
  ~MessageRef() { Release(); }

  const Message* get() const { return m_; }
  const Message* operator->() const { return m_; }
  const Message& operator*() const { return *m_; }
  explicit operator bool() const { return m_ != nullptr; }
  uint32_t use_count() const { return m_ == nullptr ? 0 : m_->refs_.load(); }

 private:
  friend class Message;
  explicit MessageRef(Message* m) : m_(m) {}
  void Release();

  Message* m_ = nullptr;
};

}  // namespace telemq
