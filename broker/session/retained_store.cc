#include "broker/session/retained_store.h"

#include "broker/router/topic.h"

namespace telemq::session {

bool RetainedStore::Apply(const MessageRef& message) {
  const std::string topic(message->topic());
  auto it = by_topic_.find(topic);
  if (it != by_topic_.end() && !Newer(message, it->second)) return false;
  if (message->payload().empty()) {
    // A clear. Keeping a tombstone would only matter against a concurrent
    // older set arriving late from another shard; drop the entry instead and
    // accept that rare reordering (documented in docs/architecture.md).
    if (it != by_topic_.end()) by_topic_.erase(it);
    return true;
  }
  Entry& e = by_topic_[topic];
  e.message = message;
  e.version_ns = message->arrival_ns();
  e.version_shard = message->origin_shard();
  return true;
}

void RetainedStore::Match(std::string_view filter, int64_t now_ns, std::vector<MessageRef>* out) {
  const bool wildcard = filter.find_first_of("+#") != std::string_view::npos;
  if (!wildcard) {
    auto it = by_topic_.find(std::string(filter));
    if (it == by_topic_.end()) return;
    if (Live(it->second, now_ns)) {
      out->push_back(it->second.message);
    } else {
      by_topic_.erase(it);
    }
    return;
  }
  for (auto it = by_topic_.begin(); it != by_topic_.end();) {
    if (!Live(it->second, now_ns)) {
      by_topic_.erase(it++);
      continue;
    }
    if (router::TopicMatchesFilter(filter, it->first)) out->push_back(it->second.message);
    ++it;
  }
}

}  // namespace telemq::session
