#include "virtio_rng.h"

#include <string.h>

#include "chaoscontrol/protocol.h"

/* Bytes served per request at most: Linux asks for 32 to a few KiB. */
#define MAX_FILL 4096u

static bool service(struct cc_virtio_mmio *t, unsigned q, uint64_t now)
{
	(void)now;
	struct cc_virtio_rng *r = (struct cc_virtio_rng *)t;
	uint8_t buf[MAX_FILL];
	for (;;) {
		const char *why = NULL;
		int k = cc_virtq_pop(&t->s.q[q], t->mem, &r->chain, &why);
		if (k == 0)
			return true;
		if (k < 0) {
			cc_virtio_mmio_fail(t, why);
			return false;
		}
		uint32_t n = r->chain.out_len < MAX_FILL ? r->chain.out_len
							 : MAX_FILL;
		cc_entropy_fill(&r->stream, buf, n);
		n = cc_virtq_write(&r->chain, t->mem, 0, buf, n);
		if (!cc_virtq_push(&t->s.q[q], t->mem, r->chain.head, n)) {
			cc_virtio_mmio_fail(t, "used ring outside guest RAM");
			return false;
		}
		cc_virtio_mmio_used(t, q);
	}
}

static void config_read(struct cc_virtio_mmio *t, uint32_t off, uint8_t *buf,
			uint32_t len)
{
	(void)t;
	(void)off;
	memset(buf, 0, len);
}

static const struct cc_virtio_ops rng_ops = {
	.name = "virtio-rng",
	.device_id = 4,
	.features = CC_VIRTIO_F_VERSION_1,
	.nqueues = 1,
	.queue_max = 64,
	.config_len = 0,
	.latency_ns = 10000,
	.config_read = config_read,
	.service = service,
};

void cc_virtio_rng_init(struct cc_virtio_rng *r, struct cc_mem *mem,
			struct cc_irq_line irq, uint64_t vm_seed)
{
	cc_virtio_mmio_init(&r->t, &rng_ops, mem, irq, CC_VIRTIO_RNG_GPA);
	cc_virtio_rng_reseed(r, vm_seed);
}

void cc_virtio_rng_reseed(struct cc_virtio_rng *r, uint64_t vm_seed)
{
	cc_entropy_init(&r->stream, cc_virtio_rng_stream_seed(vm_seed));
}
