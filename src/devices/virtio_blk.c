#include "virtio_blk.h"

#include <stdlib.h>
#include <string.h>

#include "chaoscontrol/protocol.h"

#define T_IN	 0
#define T_OUT	 1
#define T_FLUSH	 4
#define T_GET_ID 8
#define S_OK	 0
#define S_IOERR	 1
#define S_UNSUPP 2
#define F_RO	 (1ull << 5)
#define F_FLUSH	 (1ull << 9)
#define ID_LEN	 20
/* Largest data transfer of one request; Linux's default is far below. */
#define MAX_IO (4u << 20)
/* Virtual service time per request batch: a fast local SSD. */
#define LATENCY_NS 50000ull

struct req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static void config_read(struct cc_virtio_mmio *t, uint32_t off, uint8_t *buf,
			uint32_t len)
{
	struct cc_virtio_blk *b = (struct cc_virtio_blk *)t;
	/* Config layout: capacity (le64, in 512-byte sectors) at 0; the
	 * rest (size_max, seg_max, ...) is for features we do not offer. */
	uint8_t cfg[8];
	uint64_t sectors = b->disk.size / CC_SECTOR;
	memcpy(cfg, &sectors, 8);
	for (uint32_t i = 0; i < len; i++)
		buf[i] = off + i < sizeof(cfg) ? cfg[off + i] : 0;
}

static uint8_t status_of(enum cc_disk_status s)
{
	return s == CC_DISK_OK	    ? S_OK
	       : s == CC_DISK_NOSPC ? CC_VIRTIO_BLK_S_NOSPC
				    : S_IOERR;
}

static bool ensure_buf(struct cc_virtio_blk *b, uint32_t len)
{
	if (len <= b->buf_cap)
		return true;
	uint8_t *p = realloc(b->buf, len);
	if (!p)
		return false;
	b->buf = p;
	b->buf_cap = len;
	return true;
}

/* Data range check: whole sectors, inside the disk, not absurdly big. */
static bool range_ok(const struct cc_virtio_blk *b, uint64_t sector,
		     uint32_t len)
{
	uint64_t cap = b->disk.size / CC_SECTOR;
	return len % CC_SECTOR == 0 && len <= MAX_IO && sector <= cap &&
	       len / CC_SECTOR <= cap - sector;
}

static uint8_t do_in(struct cc_virtio_blk *b, const struct req_hdr *h,
		     uint32_t len, uint32_t *written)
{
	if (!range_ok(b, h->sector, len) || !ensure_buf(b, len))
		return S_IOERR;
	uint8_t s = status_of(
		cc_disk_read(&b->disk, h->sector * CC_SECTOR, b->buf, len));
	if (s == S_OK)
		*written = cc_virtq_write(&b->chain, b->t.mem, 0, b->buf, len);
	return s;
}

static uint8_t do_out(struct cc_virtio_blk *b, const struct req_hdr *h,
		      uint32_t len)
{
	if (b->read_only || !range_ok(b, h->sector, len) || !ensure_buf(b, len))
		return S_IOERR;
	cc_virtq_read(&b->chain, b->t.mem, sizeof(*h), b->buf, len);
	return status_of(
		cc_disk_write(&b->disk, h->sector * CC_SECTOR, b->buf, len));
}

static uint8_t do_get_id(struct cc_virtio_blk *b, uint32_t len,
			 uint32_t *written)
{
	char id[ID_LEN] = {0};
	memcpy(id, b->read_only ? CC_IMAGE_SERIAL : "chaoscontrol-disk0",
	       b->read_only ? sizeof(CC_IMAGE_SERIAL) : 19);
	if (len < ID_LEN)
		return S_IOERR;
	*written = cc_virtq_write(&b->chain, b->t.mem, 0, id, ID_LEN);
	return S_OK;
}

/* One request: header (readable), data, status byte (last writable). */
static bool handle(struct cc_virtio_blk *b)
{
	struct cc_virtq_chain *c = &b->chain;
	struct req_hdr h;
	if (c->out_len < 1) {
		cc_virtio_mmio_fail(&b->t, "request without a status byte");
		return false;
	}
	uint32_t data_out = c->out_len - 1, written = 0;
	uint8_t s;
	if (cc_virtq_read(c, b->t.mem, 0, &h, sizeof(h)) != sizeof(h))
		s = S_IOERR; /* header too short */
	else if (h.type == T_IN)
		s = do_in(b, &h, data_out, &written);
	else if (h.type == T_OUT)
		s = do_out(b, &h, c->in_len - (uint32_t)sizeof(h));
	else if (h.type == T_FLUSH)
		s = status_of(cc_disk_flush(&b->disk));
	else if (h.type == T_GET_ID)
		s = do_get_id(b, data_out, &written);
	else
		s = S_UNSUPP;
	cc_virtq_write(c, b->t.mem, data_out, &s, 1);
	if (!cc_virtq_push(&b->t.s.q[0], b->t.mem, c->head, written + 1)) {
		/* Not a silent drop: the driver would wait for it forever. */
		cc_virtio_mmio_fail(&b->t, "used ring outside guest RAM");
		return false;
	}
	return true;
}

static bool service(struct cc_virtio_mmio *t, unsigned q, uint64_t now)
{
	(void)now;
	struct cc_virtio_blk *b = (struct cc_virtio_blk *)t;
	for (;;) {
		const char *why = NULL;
		int r = cc_virtq_pop(&t->s.q[q], t->mem, &b->chain, &why);
		if (r == 0)
			return true;
		if (r < 0 || !handle(b)) {
			if (r < 0)
				cc_virtio_mmio_fail(t, why);
			return false;
		}
		cc_virtio_mmio_used(t, q);
	}
}

static const struct cc_virtio_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = 2,
	.features = CC_VIRTIO_F_VERSION_1 | F_FLUSH,
	.nqueues = 1,
	.queue_max = 128,
	.config_len = 0x40,
	.latency_ns = LATENCY_NS,
	.config_read = config_read,
	.service = service,
};

/* The image disk: read-only (the driver marks it so), no flush. */
static const struct cc_virtio_ops img_ops = {
	.name = "virtio-blk (image)",
	.device_id = 2,
	.features = CC_VIRTIO_F_VERSION_1 | F_RO,
	.nqueues = 1,
	.queue_max = 128,
	.config_len = 0x40,
	.latency_ns = LATENCY_NS,
	.config_read = config_read,
	.service = service,
};

void cc_virtio_blk_init_image(struct cc_virtio_blk *b, struct cc_mem *mem,
			      struct cc_irq_line irq, uint64_t seed)
{
	memset(b, 0, sizeof(*b));
	cc_virtio_mmio_init(&b->t, &img_ops, mem, irq, CC_VIRTIO_IMG_GPA);
	b->read_only = true;
	cc_disk_blank(&b->disk, CC_IMAGE_DISK_BYTES, seed);
}

int cc_virtio_blk_init(struct cc_virtio_blk *b, struct cc_mem *mem,
		       struct cc_irq_line irq, const char *image, uint64_t seed,
		       struct cc_err *err)
{
	memset(b, 0, sizeof(*b));
	cc_virtio_mmio_init(&b->t, &blk_ops, mem, irq, CC_VIRTIO_BLK_GPA);
	return cc_disk_open(&b->disk, image, seed, err);
}

void cc_virtio_blk_free(struct cc_virtio_blk *b)
{
	/* Only a device init set up has a disk to close: a zeroed one's
	 * fd 0 is somebody else's (it was, briefly: every VM without a
	 * data disk closed fd 0 when destroyed). */
	if (!b->t.ops)
		return;
	cc_disk_close(&b->disk);
	free(b->buf);
	b->buf = NULL;
}
