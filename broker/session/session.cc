#include "broker/session/session.h"

#include <algorithm>

namespace telemq::session {

// Memory per idle connection: see the comment on Session. A field added
// there has to find room in the existing slots or justify the next chunk.
static_assert(sizeof(void*) != 8 || sizeof(Session) <= 312,
              "Session outgrew its 320-byte malloc chunk");

uint16_t Session::AllocatePacketId() {
  // In-flight is bounded (at most 65535 by configuration), so a free id
  // exists; the scan is short because ids are handed out in order.
  for (;;) {
    const uint16_t id = next_packet_id;
    next_packet_id = static_cast<uint16_t>(next_packet_id == 65535 ? 1 : next_packet_id + 1);
    if (FindInFlight(id) == nullptr) return id;
  }
}

InFlight* Session::FindInFlight(uint16_t packet_id) {
  // Acks usually come in order: the front is the likely match.
  for (InFlight& f : inflight) {
    if (f.packet_id == packet_id) return &f;
  }
  return nullptr;
}

bool Session::EraseInFlight(uint16_t packet_id) {
  return inflight.EraseFirst([&](const InFlight& f) { return f.packet_id == packet_id; });
}

void Session::SetSubscription(std::string_view filter, const router::SubscriptionOptions& options) {
  for (auto& [f, o] : subscriptions) {
    if (f == filter) {
      o = options;
      return;
    }
  }
  subscriptions.emplace_back(std::string(filter), options);
}

bool Session::HasSubscription(std::string_view filter) const {
  return std::any_of(subscriptions.begin(), subscriptions.end(),
                     [&](const auto& s) { return s.first == filter; });
}

bool Session::RemoveSubscription(std::string_view filter) {
  auto it = std::find_if(subscriptions.begin(), subscriptions.end(),
                         [&](const auto& s) { return s.first == filter; });
  if (it == subscriptions.end()) return false;
  subscriptions.erase(it);
  return true;
}

void Session::NoteRouted(const Message& m) {
  const uint32_t p = m.log_partition();
  if (progress.size() <= p) progress.resize(size_t{p} + 1);
  progress[p].seen_end = std::max(progress[p].seen_end, m.log_offset() + 1);
}

void Session::NoteSpilled(const Message& m) {
  const uint32_t p = m.log_partition();
  if (spill_from.size() <= p) spill_from.resize(size_t{p} + 1, UINT64_MAX);
  spill_from[p] = std::min(spill_from[p], m.log_offset());
}

void Session::AddPending(const Message& m) { ++progress[m.log_partition()].pending; }

void Session::Settle(Outbound& out) {
  if (!out.tracked) return;
  out.tracked = false;
  --progress[out.message->log_partition()].pending;
}

void Session::ConsumedOffsets(std::vector<uint64_t>* out) const {
  out->resize(progress.size());
  for (uint32_t p = 0; p < progress.size(); ++p) {
    (*out)[p] = progress[p].seen_end;
    if (progress[p].pending == 0) continue;
    // Tracked messages of one partition arrive in offset order, and the
    // in-flight window followed by the queue keeps arrival order: the first
    // one met is the oldest still pending.
    auto of_p = [p](const Outbound& o) { return o.tracked && o.message->log_partition() == p; };
    const Outbound* oldest = nullptr;
    for (const InFlight& f : inflight) {
      if (of_p(f.out)) {
        oldest = &f.out;
        break;
      }
    }
    if (oldest == nullptr) {
      for (const Outbound& o : queue) {
        if (of_p(o)) {
          oldest = &o;
          break;
        }
      }
    }
    if (oldest != nullptr) (*out)[p] = oldest->message->log_offset();
  }
  // What is spilled is pending too, from its first offset on.
  for (size_t p = 0; p < spill_from.size() && p < out->size(); ++p) {
    (*out)[p] = std::min((*out)[p], spill_from[p]);
  }
}

}  // namespace telemq::session
