// telemq: how a shard names an accepted client socket.
//
// A socket is either a descriptor of the process (what accept(2) returns) or
// a direct descriptor: an index in the file table registered with the
// shard's io_uring ring. A direct descriptor takes no slot in the process's
// descriptor table, so the process's open-file limit (RLIMIT_NOFILE) caps
// each ring's table, not the broker's connections: with N shards the broker
// holds N tables plus the process table. But only io_uring operations on
// that ring reach it (IOSQE_FIXED_FILE, IORING_OP_CLOSE with a file index,
// IORING_OP_SHUTDOWN): no close(2), shutdown(2) or getpeername(2), and it
// moves to another shard's ring only with IORING_OP_MSG_RING.
//
//   ClientSocket s{.fd = 7, .direct = true};  // slot 7 of this ring's table
#pragma once

namespace telemq::net {

struct ClientSocket {
  int fd = -1;          // a process descriptor, or a slot of the ring's table
  bool direct = false;  // fd is a slot of the shard ring's file table
};

}  // namespace telemq::net
