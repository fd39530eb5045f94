// telemq: one shard: a thread, an io_uring ring, its connections, sessions,
// router slice and mailboxes (DESIGN.md decision 1).
//
// A loop turn:
//   1. wait in io_uring_enter until a completion, the next timer deadline or
//      a wake-up (an idle shard with no deadline sleeps without a timeout);
//      after a busy turn, until several completions or busy_wait_ns, so that
//      a loaded shard reads more per socket per turn;
//   2. drain the mailboxes from other shards (interest changes, routed
//      messages, retained updates, handed-off connections). This happens
//      after the wait and before the completions are handled: with
//      DEFER_TASKRUN completions are posted only inside the wait, so every
//      mail pushed before a completion was posted is seen before it is
//      handled. That is what makes "SUBACK received, then PUBLISH on a
//      connection of another shard" reach the new subscriber;
//   3. handle the completions (accepts, received bytes -> MqttEngine, send
//      completions), recycling receive buffers; then adopt the connections
//      handed over in step 2, so that what a client sent on its old
//      connection (a DISCONNECT) is handled before its new CONNECT;
//   4. log: the engine records what its sessions consumed, and the records
//      appended during the turn go out as one write (linked to fdatasync in
//      the sync durability mode): group commit. Output held behind records
//      (acknowledgements that promise durability) is released when that
//      write completes;
//   5. send: one sendmsg per connection with queued output, coalescing every
//      packet queued during the turn, up to the first byte still held; and
//      push cross-shard mail, waking the target shards that sleep.
//
// The shard implements session::Transport for its MqttEngine.
//
// The class is implemented in five files, one concern each:
//   shard.cc             construction, Init, the loop (Run), completion
//                        dispatch, timers, shutdown;
//   shard_accept.cc      accept and admission control; the two kinds of
//                        client socket (direct descriptors first);
//   shard_conn.cc        connections: recv, send, close, hand-off, the
//                        Transport output calls;
//   shard_route.cc       routing and subscriptions, and the mail between
//                        shards (Post, FlushOutbox, DrainMailboxes);
//   shard_durability.cc  group commit of the log, output held behind it,
//                        log maintenance, restore at start-up.
#pragma once

#include <sys/socket.h>
#include <time.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/io/buffer_ring.h"
#include "broker/io/completion.h"
#include "broker/io/ring.h"
#include "broker/net/client_socket.h"
#include "broker/net/output_queue.h"
#include "broker/persist/recovery.h"
#include "broker/persist/shard_log.h"
#include "broker/router/interest_trie.h"
#include "broker/router/subscription_trie.h"
#include "broker/session/mqtt_engine.h"
#include "broker/session/transport.h"
#include "broker/shard/shard_group.h"

namespace telemq::shard {

struct ShardOptions {
  uint32_t index = 0;
  session::EngineOptions engine;
  int listen_fd = -1;
  // Receive memory of the shard: count x size, shared by all its connections.
  uint32_t recv_buffers = 512;
  uint32_t recv_buffer_size = 16 * 1024;
  // Topics whose match result the shard's router keeps (0: no cache).
  size_t match_cache_entries = 65536;
  // The shard's log (null: memory only), owned by the Broker.
  persist::ShardLog* log = nullptr;
  // State rebuilt from the log: Init restores this shard's sessions (moving
  // them out of sessions[index]) and reads the rest. Null: nothing.
  persist::RecoveredState* recovered = nullptr;
  // How often the log's retention and disk guard run.
  int64_t maintain_interval_ns = 10'000'000'000;
  // After a busy turn (4 completions or more), the next wait gathers up to
  // as many completions (at most 32) for at most this long (0: off), so that
  // under load each turn reads more per socket: fewer recvs, fewer ACKs.
  int64_t busy_wait_ns = 50'000;
  // Clients as direct descriptors first (net/client_socket.h).
  bool direct_descriptors = true;
};

class Shard final : public session::Transport {
 public:
  Shard(const ShardOptions& options, ShardGroup* group);
  ~Shard() override;

  // Sets up the ring (on the calling thread, which must be the shard's).
  absl::Status Init();
  // The loop; returns after the group's stop flag is set and the shard has
  // said goodbye to its clients and flushed their output (bounded wait).
  void Run();

  const io::Ring& ring() const { return *ring_; }
  const session::EngineStats& stats() const { return engine_.stats(); }

  // session::Transport.
  std::span<uint8_t> ReserveOutput(session::ConnId c, size_t n) override;
  void CommitOutput(session::ConnId c, size_t n) override;
  size_t OutputBytes(session::ConnId c) const override;
  void HoldOutput(session::ConnId c, uint64_t log_offset) override;
  void CloseConnection(session::ConnId c, session::Closer by) override;
  void HandOff(session::ConnId c, uint32_t owner, std::span<const uint8_t> unprocessed) override;
  uint32_t OwnerShard(std::string_view client_id) const override;
  uint32_t shard_index() const override { return index_; }
  void Route(const MessageRef& message, session::SessionId publisher) override;
  void RouteRetained(const MessageRef& message) override;
  router::SubscribeResult Subscribe(session::SessionId s, std::string_view filter,
                                    const router::SubscriptionOptions& options) override;
  void Unsubscribe(session::SessionId s, std::string_view filter) override;
  void WakeAt(int64_t mono_ns) override {
    if (mono_ns < next_timer_ns_) next_timer_ns_ = mono_ns;
  }

 private:
  // Segments per sendmsg: 64 chunks of 16 KiB is 1 MiB per syscall, well
  // past the point where the syscall's cost stops mattering.
  static constexpr int kMaxIov = 64;
  // The provided-buffer group of the shard's multishot recvs.
  static constexpr uint16_t kBufferGroup = 1;

  // A sendmsg in flight: the kernel reads `msg` and `iov` until it completes.
  struct SendOp {
    msghdr msg{};
    iovec iov[kMaxIov];
  };
  // Output from stream byte `position` on waits for log record `offset`.
  struct Hold {
    uint64_t position;
    uint64_t offset;
  };
  struct Conn {
    int fd = -1;  // a process descriptor, or a slot of the ring's file table
    uint32_t generation = 0;
    bool direct = false;  // fd is a direct descriptor (net/client_socket.h)
    bool recv_armed = false;
    bool closing = false;      // the engine is done; close once output is sent
    bool handing_off = false;  // recv being cancelled; then the socket moves
    bool in_dirty = false;     // listed for this turn's sends
    bool peer_closed = false;
    bool shut = false;         // the recv is being ended (EndSocketIo)
    bool lingering = false;    // FIN sent after the last byte; input is read and dropped
    bool client_left = false;  // the client sent DISCONNECT: close without lingering
    // IORING_OP_SHUTDOWNs of a direct descriptor not yet completed (0 or 1).
    // The kernel may resolve a shutdown's slot only when it runs (in a
    // worker): closing the slot before then could let a new client's accept
    // take it and be shut down instead.
    uint8_t shutdowns_in_flight = 0;
    bool socket_closed = false;  // a direct slot closed before the recv's last completion
    uint32_t handoff_to = 0;
    int64_t close_deadline_ns = 0;  // force the close if output is stuck or lingers
    SendOp* send = nullptr;         // the sendmsg in flight, if any
    net::OutputQueue out;
    // Stream positions: bytes ever committed and ever sent.
    uint64_t committed = 0;
    uint64_t sent = 0;
    std::vector<Hold> holds;       // oldest first; offsets increase
    std::vector<uint8_t> partial;  // received, not yet consumed by the engine
  };

  // Loop steps.
  void HandleCompletion(const io_uring_cqe& cqe);
  void OnAccept(const io_uring_cqe& cqe);
  void OnRecv(uint32_t slot, const io_uring_cqe& cqe);
  void OnSend(uint32_t slot, const io_uring_cqe& cqe);
  // The MSG_RING that moved a direct descriptor to the owner shard's ring.
  void OnSocketSent(uint32_t slot, const io_uring_cqe& cqe);
  // The end of a move, from either completion: a slot of the owner's ring
  // (kSendSocket), a process descriptor made because the owner's table was
  // full (kInstallSocket), or a failure.
  void FinishSocketMove(uint32_t slot, const io_uring_cqe& cqe);
  void DrainMailboxes();
  // Connections handed to this shard in this turn's mail, adopted after the
  // turn's completions (see Apply).
  void AdoptHandOffs();
  void Apply(Mail& mail);  // one mail from another shard
  // Tells every other shard that this one gained or lost interest in `filter`.
  void MailInterest(Mail::Kind kind, std::string_view filter);
  void FlushSends();
  void FlushOutbox();
  void Shutdown();

  // Operations.
  void ArmAccept();
  void MaybeArmAccept();
  void CancelAccept();
  bool WantDirectAccept() const;
  // Re-arms the accept when the kind of socket it should take has changed.
  void MaybeSwitchAccept();
  void Admit(net::ClientSocket socket);
  void AdmitWaiting();
  void ArmRecv(uint32_t slot);
  void ArmWake();
  void WakeShard(uint32_t shard);
  void StartSend(uint32_t slot);
  void MaybeFinishClose(uint32_t slot);
  void CompleteHandOff(uint32_t slot);
  void MailHandOff(uint32_t slot, net::ClientSocket socket);
  void ReleaseSlot(uint32_t slot);
  void ForceStuckCloses();
  uint32_t AdoptConnection(net::ClientSocket socket, std::span<const uint8_t> already_read);
  // Socket calls that work on both kinds of socket. SetSocket follows a
  // prep helper given c.fd: it flags the SQE's fd as a slot of the ring's
  // table when the socket is direct. A direct descriptor is shut down and
  // closed by SQEs.
  void SetSocket(io_uring_sqe* sqe, const Conn& c);
  // shutdown(SHUT_WR): the FIN after the last byte, reading on.
  void ShutdownWrite(uint32_t slot);
  // Ends the recv and the send in flight, which then complete (the role of
  // shutdown(SHUT_RDWR)).
  void EndSocketIo(uint32_t slot);
  void CloseSocket(net::ClientSocket socket);
  // Registers the ring's file table, sized to what one ring may hold.
  void SetUpDirectDescriptors();
  void Feed(uint32_t slot, std::span<const uint8_t> data);
  void MarkDirty(uint32_t slot);
  void Post(uint32_t to, Mail mail);
  // Group commit of the turn's log records.
  void SubmitLogWrite();
  void OnLogCompletion(io::OpKind kind, int res);
  // Returns how many released clients have no record waiting for the next
  // commit (the ones commit gathering waits for).
  uint32_t ReleaseHolds();
  void FailHeldConnections();
  void Restore(persist::RecoveredState* recovered);
  // Every maintain_interval_ns: publishes what this shard's sessions need of each
  // log partition, then lets the log apply retention to its own.
  void MaintainLog();
  void DeliverLocal(const MessageRef& message, session::SessionId publisher,
                    router::SharedSelection shared);
  void UpdateClock();
  static int64_t ClockNs(clockid_t clock);

  uint32_t index_;
  ShardGroup* group_;
  ShardOptions options_;
  std::unique_ptr<io::Ring> ring_;
  std::optional<io::BufferRing> buffers_;
  net::ChunkPool chunks_;
  std::vector<std::unique_ptr<SendOp>> free_sends_;

  std::vector<Conn> conns_;
  std::vector<uint32_t> free_slots_;
  std::vector<uint32_t> dirty_;
  bool accept_armed_ = false;
  bool accept_cancel_pending_ = false;
  // Direct descriptors (net/client_socket.h): accepts fill the ring's file
  // table first and take process descriptors only once it is nearly full,
  // so the broker holds about (shards + 1) x the open-file limit, and the
  // log's files compete with clients for process descriptors only then. A
  // direct accept into a full table loses the connection (the kernel takes
  // it from the backlog, then cannot install it), hence the margin.
  uint32_t direct_slots_ = 0;   // size of the ring's table (0: none)
  uint32_t direct_in_use_ = 0;  // this shard's sockets in it
  bool accept_direct_ = false;  // the armed (or last) accept fills it
  bool direct_full_ = false;    // it filled regardless: no direct accept until a slot is freed
  bool stopping_ = false;
  uint64_t wake_value_ = 0;  // eventfd read target

  router::SubscriptionTrie local_;
  router::InterestTrie interest_;
  router::MatchResult match_;
  router::InterestMatch interest_match_;
  router::SharedShardPicker shared_picker_;
  std::vector<std::vector<Mail>> outbox_;  // per target, mail that did not fit its ring
  std::vector<bool> wake_targets_;

  session::MqttEngine engine_;
  unsigned last_turn_completions_ = 0;
  int64_t next_timer_ns_ = INT64_MAX;
  int64_t mono_ns_ = 0;
  int64_t shutdown_deadline_ns_ = 0;
  uint32_t live_conns_ = 0;
  int64_t accept_paused_until_ns_ = 0;
  int64_t next_accept_error_log_ns_ = 0;
  uint64_t accept_errors_suppressed_ = 0;
  // Admission control: at most kAdmitPerTurn new connections start per loop
  // turn; the rest wait here (accepted, not yet read), and past
  // kAcceptBacklog the multishot accept is cancelled so the kernel's listen
  // backlog holds further ones. A reconnect storm thus delays new clients,
  // never the loop turns of connected ones.
  std::vector<net::ClientSocket> waiting_accepts_;
  size_t waiting_head_ = 0;
  uint32_t admitted_this_turn_ = 0;
  std::vector<uint32_t> closing_;  // slots waiting for their output to go out
  struct HandOffIn {
    net::ClientSocket socket;
    std::unique_ptr<MailExtra> extra;  // the bytes read before the hand-off
  };
  std::vector<HandOffIn> handoffs_;

  persist::ShardLog* log_;
  std::vector<uint32_t> held_;    // slots with holds (may list stale slots)
  bool log_sync_linked_ = false;  // the write in flight has a linked sync
  int64_t log_write_result_ = 0;
  // Commit gathering (SubmitLogWrite): the clients a sync just acknowledged
  // usually publish again within a round trip; in sync mode the next commit
  // waits for them, up to gather_until_ns_, so that they share its sync
  // instead of splitting into alternating half-full commits.
  uint32_t unsubmitted_holders_ = 0;  // slots with a hold on records in no write yet
  uint32_t expected_holders_ = 0;     // the next commit waits until this many
  int64_t gather_until_ns_ = 0;
  int64_t log_submitted_ns_ = 0;  // when the write in flight was submitted
  int64_t next_maintain_ns_ = 0;
  std::vector<uint64_t> needed_scratch_;
};

}  // namespace telemq::shard
