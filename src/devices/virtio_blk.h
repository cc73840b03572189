/*
 * virtio-blk (virtio 1.x section 5.2) over a struct cc_disk: read, write,
 * flush and get-id requests on one request queue.  Every field of a
 * request comes from the guest and is checked: header size, sector
 * range, data length (whole sectors), a writable status byte.  A request
 * the device cannot parse is completed with IOERR when it has a status
 * byte, and breaks the device when it has none.
 */
#ifndef CC_VIRTIO_BLK_H
#define CC_VIRTIO_BLK_H

#include "disk.h"
#include "virtio_mmio.h"

/* Not in the virtio spec: the guest kernel's patch 0004 reads it as
 * "no space left" (ENOSPC); an unpatched kernel reads it as IOERR. */
#define CC_VIRTIO_BLK_S_NOSPC 0xCC

struct cc_virtio_blk {
	struct cc_virtio_mmio t; /* first: the transport */
	struct cc_disk disk;
	struct cc_virtq_chain chain; /* scratch */
	uint8_t *buf;		     /* scratch for one request's data */
	uint32_t buf_cap;
	bool read_only; /* the image disk: writes fail, its own serial */
};

int cc_virtio_blk_init(struct cc_virtio_blk *b, struct cc_mem *mem,
		       struct cc_irq_line irq, const char *image, uint64_t seed,
		       struct cc_err *err);
/* The image disk (protocol.h, CC_VIRTIO_IMG_GPA): read-only, blank
 * until an image is attached to b->disk. */
void cc_virtio_blk_init_image(struct cc_virtio_blk *b, struct cc_mem *mem,
			      struct cc_irq_line irq, uint64_t seed);
void cc_virtio_blk_free(struct cc_virtio_blk *b);

#endif
