/*
 * virtio-rng (virtio 1.x section 5.4): each writable buffer the driver
 * posts is filled from the VM's DeterministicEntropy, in its own domain
 * (seed + vm index + CC_DOMAIN_VIRTIO_RNG), so /dev/hwrng in the guest is
 * a pure function of the simulation seed and can be recomputed on the
 * host (cc_virtio_rng_stream_seed()).
 */
#ifndef CC_VIRTIO_RNG_H
#define CC_VIRTIO_RNG_H

#include "../base/entropy.h"
#include "virtio_mmio.h"

#define CC_DOMAIN_VIRTIO_RNG 0x524e47ull /* "RNG" */

struct cc_virtio_rng {
	struct cc_virtio_mmio t;     /* first: the transport */
	struct cc_entropy stream;    /* guest-visible: a snapshot row */
	struct cc_virtq_chain chain; /* scratch */
};

/* The seed of the stream VM `vm_seed` (seed + index) serves. */
static inline uint64_t cc_virtio_rng_stream_seed(uint64_t vm_seed)
{
	return vm_seed + CC_DOMAIN_VIRTIO_RNG;
}

void cc_virtio_rng_init(struct cc_virtio_rng *r, struct cc_mem *mem,
			struct cc_irq_line irq, uint64_t vm_seed);
/* A fork: the same device, a stream from another seed. */
void cc_virtio_rng_reseed(struct cc_virtio_rng *r, uint64_t vm_seed);

#endif
