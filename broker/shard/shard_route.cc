// Shard: routing. A PUBLISH goes to this shard's subscribers and, as mail,
// to every other shard with interest; subscriptions update the interest
// replicas of the other shards. Mail is pushed into the SPSC rings of
// ShardGroup and drained once per loop turn (ordering rule: shard.h).
#include <unistd.h>

#include <atomic>

#include "broker/shard/shard.h"

namespace telemq::shard {

void Shard::DeliverLocal(const MessageRef& message, session::SessionId publisher,
                         router::SharedSelection shared) {
  local_.Match(message->topic(), publisher, &match_, shared);
  if (!match_.empty()) engine_.Deliver(message, match_);
}

void Shard::Route(const MessageRef& message, session::SessionId publisher) {
  if (group_->size() == 1) {
    DeliverLocal(message, publisher, router::SharedSelection::All());
    return;
  }
  interest_.Match(message->topic(), &interest_match_);
  router::ShardMask targets = interest_match_.shards;
  // Shared groups: one shard each, the shards with members taking turns. Rare, so the
  // per-target key lists are built only when a group matched.
  using Keys = absl::InlinedVector<router::SharedGroupKey, 1>;
  absl::InlinedVector<Keys, 8> keys;
  if (!interest_match_.shared.empty()) {
    keys.resize(group_->size());
    for (const router::SharedInterest& si : interest_match_.shared) {
      const uint32_t t = shared_picker_.Pick(si);
      keys[t].push_back(si.key);
      targets |= router::ShardMask{1} << t;
    }
  }
  for (uint32_t t = 0; t < group_->size(); ++t) {
    if (!(targets & (router::ShardMask{1} << t))) continue;
    const absl::Span<const router::SharedGroupKey> for_t =
        keys.empty() ? absl::Span<const router::SharedGroupKey>() : absl::MakeConstSpan(keys[t]);
    if (t == index_) {
      DeliverLocal(message, publisher, router::SharedSelection::Only(for_t));
      continue;
    }
    Mail mail;
    mail.kind = Mail::Kind::kPublish;
    mail.from = index_;
    mail.message = message;
    mail.shared_keys.assign(for_t.begin(), for_t.end());
    Post(t, std::move(mail));
  }
}

void Shard::RouteRetained(const MessageRef& message) {
  engine_.ApplyRetained(message);
  for (uint32_t t = 0; t < group_->size(); ++t) {
    if (t == index_) continue;
    Mail mail;
    mail.kind = Mail::Kind::kRetained;
    mail.from = index_;
    mail.message = message;
    Post(t, std::move(mail));
  }
}

router::SubscribeResult Shard::Subscribe(session::SessionId s, std::string_view filter,
                                         const router::SubscriptionOptions& options) {
  const router::SubscribeResult r = local_.Subscribe(s, filter, options);
  if (r.interest_added && group_->size() > 1) {
    interest_.Add(filter, index_);
    MailInterest(Mail::Kind::kInterestAdd, filter);
  }
  return r;
}

void Shard::Unsubscribe(session::SessionId s, std::string_view filter) {
  const router::UnsubscribeResult r = local_.Unsubscribe(s, filter);
  if (r.interest_removed && group_->size() > 1) {
    interest_.Remove(filter, index_);
    MailInterest(Mail::Kind::kInterestRemove, filter);
  }
}

void Shard::MailInterest(Mail::Kind kind, std::string_view filter) {
  for (uint32_t t = 0; t < group_->size(); ++t) {
    if (t == index_) continue;
    Mail mail;
    mail.kind = kind;
    mail.from = index_;
    mail.extra = std::make_unique<MailExtra>();
    mail.extra->subscription = std::string(filter);
    Post(t, std::move(mail));
  }
}

void Shard::Post(uint32_t to, Mail mail) {
  wake_targets_[to] = true;
  SpscRing<Mail>& ring = group_->ring(index_, to);
  if (outbox_[to].empty()) {
    // Routed messages are published to the target once per turn
    // (FlushOutbox). Interest changes and hand-offs at once: they must be
    // visible before any packet of this turn reaches the kernel, even one
    // submitted early because the submission queue filled up (shard.h).
    if (mail.kind == Mail::Kind::kPublish ? ring.TryStage(std::move(mail))
                                          : ring.TryPush(std::move(mail))) {
      return;
    }
  }
  // The ring is full: keep order by queueing behind what is already waiting.
  // A failed TryStage/TryPush leaves `mail` untouched (spsc_ring.h).
  outbox_[to].push_back(std::move(mail));  // NOLINT(bugprone-use-after-move)
}

void Shard::FlushOutbox() {
  for (uint32_t t = 0; t < group_->size(); ++t) {
    if (t == index_) continue;
    std::vector<Mail>& pending = outbox_[t];
    SpscRing<Mail>& ring = group_->ring(index_, t);
    size_t sent = 0;
    while (sent < pending.size() && ring.TryStage(std::move(pending[sent]))) ++sent;
    pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(sent));
    ring.Commit();
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (uint32_t t = 0; t < group_->size(); ++t) {
    if (!wake_targets_[t]) continue;
    wake_targets_[t] = false;
    if (group_->sleeping(t).load(std::memory_order_seq_cst)) WakeShard(t);
  }
}

void Shard::WakeShard(uint32_t t) {
  // A completion posted into the target's ring: no syscall here (it goes
  // with this turn's submit, which follows at once) and nothing for the
  // target to re-arm, where the eventfd costs a write here and a read there.
  const int fd = group_->ring_fd(t);
  if (fd < 0) {
    group_->Wake(t);
    return;
  }
  io_uring_sqe* sqe = ring_->NextSqe();
  io_uring_prep_msg_ring(sqe, fd, 0, io::EncodeOpTag({io::OpKind::kMailWake, 0, index_}), 0);
  // This shard hears of it only if it fails (HandleCompletion).
  io_uring_sqe_set_data64(sqe, io::EncodeOpTag({io::OpKind::kMailWake, 0, t}));
  sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

void Shard::DrainMailboxes() {
  for (uint32_t from = 0; from < group_->size(); ++from) {
    if (from == index_) continue;
    group_->ring(from, index_).ConsumeAll([this](Mail& mail) { Apply(mail); });
  }
}

void Shard::AdoptHandOffs() {
  for (HandOffIn& h : handoffs_) {
    if (stopping_) {
      CloseSocket(h.socket);
      group_->ReleaseConnection();
    } else {
      AdoptConnection(h.socket, h.extra->bytes);
    }
  }
  handoffs_.clear();
}

void Shard::Apply(Mail& mail) {
  switch (mail.kind) {
    case Mail::Kind::kPublish:
      if (!stopping_) {
        DeliverLocal(mail.message, router::kNoSession,
                     router::SharedSelection::Only(mail.shared_keys));
      }
      break;
    case Mail::Kind::kRetained:
      engine_.ApplyRetained(mail.message);
      break;
    case Mail::Kind::kInterestAdd:
      interest_.Add(mail.extra->subscription, mail.from);
      break;
    case Mail::Kind::kInterestRemove:
      interest_.Remove(mail.extra->subscription, mail.from);
      break;
    case Mail::Kind::kHandOff:
      // Adopted after this turn's completions (AdoptHandOffs): a client
      // that sent DISCONNECT on its old connection and then connected again
      // through another shard must have that DISCONNECT handled first,
      // though its completion and this mail arrive in the same turn;
      // otherwise the new CONNECT takes the session over and the
      // DISCONNECT (a session expiry of 0, say) is lost.
      if (mail.socket.direct) {
        // Already in this ring's table (MSG_RING, Shard::OnSocketSent).
        ++direct_in_use_;
        MaybeSwitchAccept();
      }
      handoffs_.push_back({mail.socket, std::move(mail.extra)});
      break;
  }
}

}  // namespace telemq::shard
