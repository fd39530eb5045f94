#include "broker/base/message.h"

#include <cstring>
#include <new>

#include "broker/base/message_pool.h"

namespace telemq {

MessageRef Message::Create(const MessageInit& init) {
  const size_t extra = init.topic.size() + init.payload.size() + init.properties.size();
  MessagePool* pool = nullptr;
  uint8_t size_class = MessagePool::kNoClass;
  void* raw = MessagePool::Allocate(sizeof(Message) + extra, &pool, &size_class);
  Message* m = new (raw) Message();
  m->pool_ = pool;
  m->size_class_ = size_class;
  m->topic_size_ = static_cast<uint32_t>(init.topic.size());
  m->payload_size_ = static_cast<uint32_t>(init.payload.size());
  m->properties_size_ = static_cast<uint32_t>(init.properties.size());
  m->qos_ = init.qos;
  m->retain_ = init.retain;
  m->origin_session_ = init.origin_session;
  m->origin_shard_ = init.origin_shard;
  m->arrival_ns_ = init.arrival_ns;
  m->expiry_ns_ = init.expiry_ns;
  m->log_partition_ = init.log_partition;
  m->log_offset_ = init.log_offset;
  char* out = m->bytes();
  // memcpy with a null source is undefined even for size 0.
  if (!init.topic.empty()) std::memcpy(out, init.topic.data(), init.topic.size());
  out += init.topic.size();
  if (!init.payload.empty()) std::memcpy(out, init.payload.data(), init.payload.size());
  out += init.payload.size();
  if (!init.properties.empty()) std::memcpy(out, init.properties.data(), init.properties.size());
  return MessageRef(m);
}

void MessageRef::Release() {
  if (m_ == nullptr) return;
  if (m_->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    MessagePool* pool = m_->pool_;
    const uint8_t size_class = m_->size_class_;
    m_->~Message();
    MessagePool::Free(m_, pool, size_class);
  }
  m_ = nullptr;
}

}  // namespace telemq
