/*
 * A split virtqueue (virtio 1.x section 2.7) seen from the device side.
 *
 * The guest owns every byte of the rings, so nothing read from them is
 * trusted: ring indices, descriptor indices, chain lengths, flags and
 * buffer addresses are checked before use, and a malformed ring is
 * reported (with the reason) instead of followed.  Ring memory is read
 * by copy, never by pointer, and used-ring writes go through
 * cc_mem_write() so snapshots see them.
 *
 * We offer neither VIRTIO_F_INDIRECT_DESC nor VIRTIO_F_EVENT_IDX, so a
 * chain is a plain linked list in the descriptor table and notification
 * suppression is the avail ring's NO_INTERRUPT flag alone.
 */
#ifndef CC_VIRTQ_H
#define CC_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>

#include "../base/mem.h"

#define CC_VIRTQ_MAX_SIZE 256u

/* Guest-visible queue state: plain data, saved in snapshots. */
struct cc_virtq {
	uint16_t num;	     /* queue size the driver chose */
	uint16_t last_avail; /* next avail-ring slot to take */
	uint16_t used_idx;   /* next used-ring slot to fill */
	uint8_t ready;
	uint8_t pad;
	uint64_t desc, avail, used; /* ring GPAs */
};

/* One buffer of a chain: readable ones come first, then writable. */
struct cc_virtq_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

struct cc_virtq_chain {
	uint16_t head;
	uint16_t nsegs;
	uint32_t in_len;  /* bytes the device may read */
	uint32_t out_len; /* bytes the device may write */
	struct cc_virtq_seg seg[CC_VIRTQ_MAX_SIZE];
};

/* Checks a queue's geometry when the driver sets QueueReady; NULL when
 * valid, else why not. */
const char *cc_virtq_check(const struct cc_virtq *q, const struct cc_mem *mem);

/* Takes the next available chain: 1 and *c filled, 0 when the ring is
 * empty, -1 when malformed (*why says how). */
int cc_virtq_pop(struct cc_virtq *q, const struct cc_mem *mem,
		 struct cc_virtq_chain *c, const char **why);

/* Returns chain `head` to the driver with `len` bytes written. */
bool cc_virtq_push(struct cc_virtq *q, struct cc_mem *mem, uint16_t head,
		   uint32_t len);

/* Whether the driver asked not to be interrupted for used buffers. */
bool cc_virtq_no_interrupt(const struct cc_virtq *q, const struct cc_mem *mem);

/* Reads up to len of the chain's readable bytes starting at byte `off`;
 * returns the count copied (short at the end of the readable part). */
uint32_t cc_virtq_read(const struct cc_virtq_chain *c, const struct cc_mem *mem,
		       uint32_t off, void *dst, uint32_t len);
/* Writes into the chain's writable bytes starting at byte `off`. */
uint32_t cc_virtq_write(const struct cc_virtq_chain *c, struct cc_mem *mem,
			uint32_t off, const void *src, uint32_t len);

#endif
