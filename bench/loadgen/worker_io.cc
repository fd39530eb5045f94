// Worker: sockets and connection lifecycle (connect, read, write, close).
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/loadgen/clock.h"
#include "bench/loadgen/worker.h"
#include "protocol/common/errno_text.h"

namespace telemq::bench {
namespace {

constexpr uint32_t kBacklogSessionExpiry = 300;

// The reason a read or write on a broker connection failed, as a phrase.
std::string LostWhy(int err) {
  if (err == ECONNRESET || err == EPIPE) {
    return absl::StrCat("the broker closed the connection (", ErrnoText(err), ")");
  }
  return absl::StrCat("the connection to the broker failed (", ErrnoText(err), ")");
}

}  // namespace

void Worker::StartConnect(Connection& c, uint64_t now) {
  if (c.fd >= 0) Close(c);
  c.out.Clear();
  c.reader = FrameReader(sc_.mqtt_version);
  c.started_ns = now;
  c.last_write_ns = now;
  c.fd = socket(addr_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    Fail(kExitSetup,
         absl::StrCat("socket(): ", ErrnoText(errno), errno == EMFILE ? " (raise ulimit -n)" : ""));
    return;
  }
  const int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (shared_.spread_sources) {
    // Each worker its own loopback source address (127.0.0.1 + index), so
    // that every worker has the whole ephemeral port range to itself. The
    // port is picked at connect, for the full 4-tuple.
    setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr.s_addr = htonl(INADDR_LOOPBACK + index_);
    if (bind(c.fd, reinterpret_cast<const sockaddr*>(&source), sizeof(source)) != 0) {
      const int err = errno;
      Close(c);
      Fail(kExitSetup, absl::StrCat("bind to 127.0.0.", 1 + index_, ": ", ErrnoText(err)));
      return;
    }
  }
  c.state = ConnState::kTcpConnecting;
  if (connect(c.fd, reinterpret_cast<const sockaddr*>(&addr_), addr_len_) < 0 &&
      errno != EINPROGRESS) {
    const int err = errno;
    Close(c);
    Fail(kExitSetup,
         absl::StrCat("cannot connect to ", sc_.host, ":", sc_.port, ": ", ErrnoText(err)));
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.ptr = &c;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev);
  c.want_out = true;
}

void Worker::OnConnected(Connection& c, uint64_t now) {
  int err = 0;
  socklen_t len = sizeof(err);
  getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    Close(c);
    ++result_.connect_failures;
    if (c.role == Role::kProbe && err != ECONNREFUSED) {
      if (probes_active_ > 0) --probes_active_;
      return;  // counted; the storm goes on
    }
    Fail(kExitSetup,
         absl::StrCat("cannot connect to ", sc_.host, ":", sc_.port, ": ", ErrnoText(err)));
    return;
  }
  ConnectArgs args;
  args.version = sc_.mqtt_version;
  args.client_id = c.client_id;
  args.clean_start = c.clean_start;
  args.keepalive = sc_.keepalive;
  args.session_expiry = sc_.mode == Mode::kBacklog && !c.clean_start ? kBacklogSessionExpiry : 0;
  EncodeConnect(c.out, args);
  c.state = ConnState::kAwaitConnack;
  Flush(c);
  (void)now;
}

void Worker::OnReadable(Connection& c, uint64_t now) {
  // One big read normally drains the socket; loop only if it filled the buffer.
  for (int i = 0; i < 8; ++i) {
    const ssize_t n = read(c.fd, read_buf_.get(), kReadBufferSize);
    if (n > 0) {
      ++result_.reads;
      result_.bytes_in += static_cast<uint64_t>(n);
      absl::Status st = c.reader.Feed({read_buf_.get(), static_cast<size_t>(n)},
                                      [&](const InPacket& p) { OnPacket(c, p, now); });
      FlushAccountedCounts();
      if (!st.ok()) {
        Fail(kExitRuntime,
             absl::StrCat("malformed packet from the broker on ", Describe(c), ": ", st.message()));
        Close(c);
        return;
      }
      if (c.state == ConnState::kClosed || static_cast<size_t>(n) < kReadBufferSize) return;
      continue;
    }
    if (n == 0) {
      OnClosedByBroker(c, "the broker closed the connection", now);
      return;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) OnClosedByBroker(c, LostWhy(errno), now);
    return;
  }
}

void Worker::OnClosedByBroker(Connection& c, const std::string& why, uint64_t now) {
  const ConnState was = c.state;
  Close(c);
  if (was == ConnState::kAwaitClose) {
    // We asked for it (DISCONNECT).
    if (c.role == Role::kProbe) {
      if (probes_active_ > 0) --probes_active_;
      return;
    }
    if (phase_ == Phase::kCleanup && sc_.mode == Mode::kBacklog && !c.clean_start) {
      c.clean_start = true;
      c.subscribe_on_connack = false;
      StartConnect(c, now);
      return;
    }
    Ready(c);
    return;
  }
  if (phase_ == Phase::kDone) return;
  if (c.role == Role::kProbe && sc_.mode == Mode::kStorm) {
    ++result_.connect_failures;
    if (probes_active_ > 0) --probes_active_;
    return;
  }
  const double secs = static_cast<double>(now - phase_start_ns_) / 1e9;
  Fail(was == ConnState::kReady ? kExitRuntime : kExitSetup,
       absl::StrFormat("%s: %s (%.2f s into the %s phase%s)", Describe(c), why, secs,
                       PhaseName(phase_),
                       was == ConnState::kAwaitConnack ? ", before CONNACK" : ""));
}

void Worker::SendDisconnect(Connection& c) {
  if (c.fd < 0) return;
  EncodeDisconnect(c.out, sc_.mqtt_version);
  c.state = ConnState::kAwaitClose;
  c.started_ns = NowNs();
  MarkDirty(c);
}

void Worker::Close(Connection& c) {
  if (c.fd >= 0) close(c.fd);  // also removes it from the epoll set
  c.fd = -1;
  c.state = ConnState::kClosed;
  c.want_out = false;
  c.out.Clear();
}

void Worker::MarkDirty(Connection& c) {
  if (!c.dirty) {
    c.dirty = true;
    dirty_.push_back(&c);
  }
}

void Worker::FlushAll() {
  for (Connection* c : dirty_) {
    c->dirty = false;
    if (c->fd >= 0 && c->state != ConnState::kTcpConnecting) Flush(*c);
  }
  dirty_.clear();
}

void Worker::Flush(Connection& c) {
  while (!c.out.empty()) {
    const auto pending = c.out.Pending();
    const ssize_t n = send(c.fd, pending.data(), pending.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      ++result_.writes;
      result_.bytes_out += static_cast<uint64_t>(n);
      c.out.Consume(static_cast<size_t>(n));
      c.last_write_ns = NowNs();
      if (static_cast<size_t>(n) < pending.size()) break;  // socket buffer full
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    OnClosedByBroker(c, LostWhy(n < 0 ? errno : EPIPE), NowNs());
    return;
  }
  SetWantOut(c, !c.out.empty());
}

void Worker::SetWantOut(Connection& c, bool want) {
  if (c.want_out == want || c.fd < 0) return;
  epoll_event ev{};
  ev.events = want ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
  ev.data.ptr = &c;
  epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
  c.want_out = want;
}

void Worker::SetRcvLowat(bool on) {
  for (auto& c : subs_) {
    const int wanted = shared_.sub_rcvlowat;
    if (c->fd < 0 || wanted <= 1) continue;
    const int lowat = on ? wanted : 1;
    setsockopt(c->fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat));
    rcvlowat_set_ = on;
  }
}

}  // namespace telemq::bench
