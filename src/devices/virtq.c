#include "virtq.h"

#include <string.h>

/* Ring layouts (virtio 1.x 2.7.5-2.7.8), little-endian like the host. */
struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
#define DESC_F_NEXT	     1
#define DESC_F_WRITE	     2
#define DESC_F_INDIRECT	     4
#define AVAIL_F_NO_INTERRUPT 1

#define AVAIL_IDX(q)	 ((q)->avail + 2)
#define AVAIL_RING(q, i) ((q)->avail + 4 + 2ull * (i))
#define USED_IDX(q)	 ((q)->used + 2)
#define USED_RING(q, i)	 ((q)->used + 4 + 8ull * (i))

static uint64_t desc_bytes(uint16_t n)
{
	return 16ull * n;
}
static uint64_t avail_bytes(uint16_t n)
{
	return 6 + 2ull * n;
}
static uint64_t used_bytes(uint16_t n)
{
	return 6 + 8ull * n;
}

const char *cc_virtq_check(const struct cc_virtq *q, const struct cc_mem *mem)
{
	if (q->num == 0 || q->num > CC_VIRTQ_MAX_SIZE ||
	    (q->num & (q->num - 1)))
		return "queue size is not a power of two within the maximum";
	if ((q->desc & 15) || (q->avail & 1) || (q->used & 3))
		return "ring address is misaligned";
	if (!cc_mem_ptr(mem, q->desc, desc_bytes(q->num)) ||
	    !cc_mem_ptr(mem, q->avail, avail_bytes(q->num)) ||
	    !cc_mem_ptr(mem, q->used, used_bytes(q->num)))
		return "ring lies outside guest RAM";
	return NULL;
}

static bool read16(const struct cc_mem *mem, uint64_t gpa, uint16_t *v)
{
	return cc_mem_read(mem, gpa, v, 2);
}

static int add_seg(struct cc_virtq_chain *c, const struct cc_mem *mem,
		   const struct vring_desc *d, const char **why)
{
	bool w = d->flags & DESC_F_WRITE;
	if (d->flags & DESC_F_INDIRECT) {
		*why = "indirect descriptor (not negotiated)";
		return -1;
	}
	if (d->len && !cc_mem_ptr(mem, d->addr, d->len)) {
		*why = "buffer lies outside guest RAM";
		return -1;
	}
	if (!w && c->out_len) {
		*why = "readable buffer after a writable one";
		return -1;
	}
	uint32_t *total = w ? &c->out_len : &c->in_len;
	if (*total + (uint64_t)d->len > UINT32_MAX) {
		*why = "chain longer than 4 GiB";
		return -1;
	}
	*total += d->len;
	c->seg[c->nsegs++] = (struct cc_virtq_seg){d->addr, d->len, w};
	return 0;
}

int cc_virtq_pop(struct cc_virtq *q, const struct cc_mem *mem,
		 struct cc_virtq_chain *c, const char **why)
{
	uint16_t avail_idx, head;
	if (!q->num || q->num > CC_VIRTQ_MAX_SIZE) {
		*why = "queue size out of range";
		return -1;
	}
	if (!read16(mem, AVAIL_IDX(q), &avail_idx)) {
		*why = "avail ring outside guest RAM";
		return -1;
	}
	uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
	if (pending == 0)
		return 0;
	if (pending > q->num) {
		*why = "avail index ran more than a queue ahead";
		return -1;
	}
	if (!read16(mem, AVAIL_RING(q, q->last_avail % q->num), &head)) {
		*why = "avail ring outside guest RAM";
		return -1;
	}
	c->head = head;
	c->nsegs = 0;
	c->in_len = c->out_len = 0;
	uint16_t i = head;
	for (;;) {
		struct vring_desc d;
		if (i >= q->num) {
			*why = "descriptor index beyond the queue";
			return -1;
		}
		/* Bounded by the chain's own array too: q->num is the
		 * guest's (or a snapshot file's) number. */
		if (c->nsegs >= q->num || c->nsegs >= CC_VIRTQ_MAX_SIZE) {
			*why = "descriptor chain loops";
			return -1;
		}
		if (!cc_mem_read(mem, q->desc + 16ull * i, &d, sizeof(d))) {
			*why = "descriptor table outside guest RAM";
			return -1;
		}
		if (add_seg(c, mem, &d, why))
			return -1;
		if (!(d.flags & DESC_F_NEXT))
			break;
		i = d.next;
	}
	q->last_avail++;
	return 1;
}

bool cc_virtq_push(struct cc_virtq *q, struct cc_mem *mem, uint16_t head,
		   uint32_t len)
{
	uint32_t elem[2] = {head, len};
	uint16_t idx = (uint16_t)(q->used_idx + 1);
	if (!cc_mem_write(mem, USED_RING(q, q->used_idx % q->num), elem,
			  sizeof(elem)) ||
	    !cc_mem_write(mem, USED_IDX(q), &idx, sizeof(idx)))
		return false;
	q->used_idx = idx;
	return true;
}

bool cc_virtq_no_interrupt(const struct cc_virtq *q, const struct cc_mem *mem)
{
	uint16_t flags = 0;
	return read16(mem, q->avail, &flags) && (flags & AVAIL_F_NO_INTERRUPT);
}

/* Walks the segments of one direction, calling copy on each overlap of
 * [off, off+len) with a segment. */
static uint32_t walk(const struct cc_virtq_chain *c, bool write, uint32_t off,
		     uint32_t len,
		     void (*copy)(void *, uint64_t, uint32_t, uint32_t),
		     void *ctx)
{
	uint32_t done = 0, at = 0;
	for (uint16_t s = 0; s < c->nsegs && done < len; s++) {
		const struct cc_virtq_seg *g = &c->seg[s];
		if (g->write != write)
			continue;
		if (off < at + g->len) {
			uint32_t skip = off > at ? off - at : 0;
			uint32_t n = g->len - skip;
			if (n > len - done)
				n = len - done;
			copy(ctx, g->gpa + skip, done, n);
			done += n;
			off += n;
		}
		at += g->len;
	}
	return done;
}

struct copy_ctx {
	struct cc_mem *mem;
	uint8_t *buf;
};

static void copy_in(void *p, uint64_t gpa, uint32_t at, uint32_t n)
{
	struct copy_ctx *x = p;
	/* add_seg checked the range, so the read cannot fail. */
	(void)cc_mem_read(x->mem, gpa, x->buf + at, n);
}

static void copy_out(void *p, uint64_t gpa, uint32_t at, uint32_t n)
{
	struct copy_ctx *x = p;
	(void)cc_mem_write(x->mem, gpa, x->buf + at, n);
}

uint32_t cc_virtq_read(const struct cc_virtq_chain *c, const struct cc_mem *mem,
		       uint32_t off, void *dst, uint32_t len)
{
	struct copy_ctx x = {(struct cc_mem *)mem, dst};
	return walk(c, false, off, len, copy_in, &x);
}

uint32_t cc_virtq_write(const struct cc_virtq_chain *c, struct cc_mem *mem,
			uint32_t off, const void *src, uint32_t len)
{
	struct copy_ctx x = {mem, (uint8_t *)src};
	return walk(c, true, off, len, copy_out, &x);
}
