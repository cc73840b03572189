#include "entropy.h"

#include <sodium.h>
#include <string.h>

#define BLOCK 64

void cc_entropy_init(struct cc_entropy *e, uint64_t seed)
{
	uint8_t le[8];
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(seed >> (8 * i));
	memset(e, 0, sizeof(*e));
	/* sodium_init() is idempotent; it only picks implementations. */
	if (sodium_init() < 0)
		__builtin_trap();
	crypto_generichash(e->key, sizeof(e->key), le, sizeof(le), NULL, 0);
}

void cc_entropy_fill(struct cc_entropy *e, void *buf, size_t len)
{
	static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
	uint8_t *out = buf;
	while (len) {
		uint64_t block = e->pos / BLOCK;
		size_t off = (size_t)(e->pos % BLOCK), n;
		if (off || len < BLOCK) {
			uint8_t tmp[BLOCK] = {0};
			crypto_stream_chacha20_xor_ic(tmp, tmp, BLOCK, nonce,
						      block, e->key);
			n = BLOCK - off < len ? BLOCK - off : len;
			memcpy(out, tmp + off, n);
		} else {
			n = len - len % BLOCK;
			memset(out, 0, n);
			crypto_stream_chacha20_xor_ic(out, out, n, nonce, block,
						      e->key);
		}
		out += n;
		len -= n;
		e->pos += n;
	}
}

uint64_t cc_entropy_u64(struct cc_entropy *e)
{
	uint8_t b[8];
	cc_entropy_fill(e, b, sizeof(b));
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

uint64_t cc_entropy_below(struct cc_entropy *e, uint64_t n)
{
	return n ? cc_entropy_u64(e) % n : 0;
}
