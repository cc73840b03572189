/*
 * DeterministicEntropy: a seeded ChaCha20 keystream (libsodium), the only
 * source of randomness anything guest-visible may use.
 *
 * State is key + position, so a snapshot saves two fields and a restore
 * continues the stream exactly.  Streams are separated by domain: the
 * fault engine uses the raw seed, VM i uses seed + i, the network uses
 * seed + CC_DOMAIN_NETFAB (DESIGN.md section 4).  The 32-byte key is the
 * BLAKE2b-256 hash of the domain-adjusted seed (little-endian u64).
 */
#ifndef CC_ENTROPY_H
#define CC_ENTROPY_H

#include <stddef.h>
#include <stdint.h>

#define CC_DOMAIN_NETFAB 0x4E4554464142ull /* "NETFAB" */

/* Saved whole by snapshots; bump when the struct changes. */
#define CC_ENTROPY_STATE_VERSION 1
struct cc_entropy {
	uint8_t key[32];
	uint64_t pos; /* bytes of keystream consumed */
};

static inline uint64_t cc_seed_for_vm(uint64_t seed, unsigned index)
{
	return seed + index;
}

void cc_entropy_init(struct cc_entropy *e, uint64_t seed);
void cc_entropy_fill(struct cc_entropy *e, void *buf, size_t len);
uint64_t cc_entropy_u64(struct cc_entropy *e);
/* A draw in [0, n); 0, drawing nothing, when n is 0. */
uint64_t cc_entropy_below(struct cc_entropy *e, uint64_t n);

#endif
