#include "coverage.h"

#include <string.h>

uint8_t cc_coverage_bucket(uint8_t n)
{
	if (n <= 3)
		return n == 3 ? 4 : n; /* 0, 1, 2, 3 -> 0, 1, 2, 4 */
	if (n <= 7)
		return 8;
	if (n <= 15)
		return 16;
	if (n <= 31)
		return 32;
	if (n <= 127)
		return 64;
	return 128;
}

bool cc_coverage_read(const struct cc_mem *mem, uint8_t *map)
{
	return cc_mem_read(mem, CC_COVERAGE_GPA, map, CC_COVERAGE_SIZE);
}

struct cc_coverage_run cc_coverage_add(struct cc_coverage *c,
				       const uint8_t *map)
{
	struct cc_coverage_run r = {0, 0, 0};
	for (uint32_t i = 0; i < CC_COVERAGE_SIZE; i++) {
		uint8_t b = cc_coverage_bucket(map[i]);
		if (!b)
			continue;
		r.edges++;
		if (!c->seen[i])
			r.new_edges++;
		if (b & ~c->seen[i])
			r.new_buckets++;
		c->seen[i] |= b;
	}
	c->edges += r.new_edges;
	c->runs++;
	return r;
}

void cc_coverage_clear(struct cc_mem *mem)
{
	static const uint8_t zero[CC_COVERAGE_SIZE];
	cc_mem_write(mem, CC_COVERAGE_GPA, zero, sizeof(zero));
}
