#include "broker/session/session.h"

#include <algorithm>

namespace telemq::session {

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

bool Session::RemoveSubscription(std::string_view filter) {
  auto it = std::find_if(subscriptions.begin(), subscriptions.end(),
                         [&](const auto& s) { return s.first == filter; });
  if (it == subscriptions.end()) return false;
  subscriptions.erase(it);
  return true;
}

}  // namespace telemq::session
