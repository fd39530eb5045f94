// telemq: listening sockets.
//
// Each shard opens its own listening socket on the same address with
// SO_REUSEPORT, so the kernel spreads incoming connections across shards
// without a shared accept queue or a hand-off thread.
//
//   absl::StatusOr<int> fd = OpenListener("127.0.0.1", 1883, /*reuse_port=*/true);
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace telemq::net {

// A non-blocking, close-on-exec TCP listener bound to host:port (IPv4 or IPv6
// literal; "localhost" is taken as 127.0.0.1). Port 0 binds a free port. The
// sockets it accepts have TCP_NODELAY.
absl::StatusOr<int> OpenListener(const std::string& host, uint16_t port, bool reuse_port,
                                 int backlog = 4096);

// The port a socket is bound to.
absl::StatusOr<uint16_t> BoundPort(int fd);

// "127.0.0.1:50312" for log lines; "?" when unknown.
std::string PeerName(int fd);

}  // namespace telemq::net
