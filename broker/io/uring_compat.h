// telemq: io_uring constants newer than Debian 12's liburing 2.3 headers.
//
// The running kernel (6.x) supports features that liburing 2.3 cannot name.
// Each constant is defined only when the header lacks it; every use is gated
// at run time on the probe in ring.h, never on these definitions.
#pragma once

#include <liburing.h>

#include <cstdint>

#ifndef IORING_RECVSEND_BUNDLE
#define IORING_RECVSEND_BUNDLE (1U << 4)
#endif
#ifndef IORING_FEAT_RECVSEND_BUNDLE
#define IORING_FEAT_RECVSEND_BUNDLE (1U << 14)
#endif
#ifndef IOU_PBUF_RING_MMAP
#define IOU_PBUF_RING_MMAP 1
#endif
#ifndef IOU_PBUF_RING_INC
#define IOU_PBUF_RING_INC 2
#endif
// Kernel 6.8: installs a direct descriptor into the process's table.
#define TELEMQ_IORING_OP_FIXED_FD_INSTALL 54

namespace telemq::io {

// IORING_OP_MSG_RING with IORING_MSG_SEND_FD (kernel 6.0), which liburing
// 2.3 has no helper for: installs direct descriptor `source_slot` of the
// submitting ring into a free slot of the table of ring `target_ring_fd`.
// The submitter's completion carries that slot (or -errno); the target gets a
// completion with `target_data` and the same result. The source slot stays
// installed until the submitter closes it.
inline void PrepMsgRingSendFd(io_uring_sqe* sqe, int target_ring_fd, unsigned source_slot,
                              uint64_t target_data) {
  io_uring_prep_rw(IORING_OP_MSG_RING, sqe, target_ring_fd, nullptr, 0, target_data);
  sqe->addr = IORING_MSG_SEND_FD;  // the MSG_RING command
  sqe->addr3 = source_slot;
  sqe->file_index = IORING_FILE_INDEX_ALLOC;
}

// IORING_OP_FIXED_FD_INSTALL (kernel 6.8): a process descriptor (close-on-
// exec) for direct descriptor `slot`, which stays installed too. The
// completion carries the descriptor or -errno (EMFILE at the open-file
// limit).
inline void PrepInstallFixedFd(io_uring_sqe* sqe, unsigned slot) {
  io_uring_prep_rw(TELEMQ_IORING_OP_FIXED_FD_INSTALL, sqe, static_cast<int>(slot), nullptr, 0, 0);
  sqe->flags |= IOSQE_FIXED_FILE;
}

}  // namespace telemq::io
