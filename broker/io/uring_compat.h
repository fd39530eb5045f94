// telemq: io_uring constants newer than Debian 12's liburing 2.3 headers.
//
// The running kernel (6.x) supports features that liburing 2.3 cannot name.
// Each constant is defined only when the header lacks it; every use is gated
// at run time on the probe in ring.h, never on these definitions.
#pragma once

#include <liburing.h>

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
