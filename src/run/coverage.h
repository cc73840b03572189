/*
 * CoverageCollector: reads a VM's coverage bitmap (CC_COVERAGE_GPA, the
 * AFL-style edge counters the guest SDK and KCOV fill), buckets the
 * counts the AFL way (1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+), and keeps
 * the union of every bucket seen across runs, so each run can be asked
 * "what did you find that no run before you did?".  Between runs the
 * bitmap is cleared through the VMM (so snapshots see the write).
 */
#ifndef CC_COVERAGE_H
#define CC_COVERAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "chaoscontrol/protocol.h"
#include "../base/mem.h"

struct cc_coverage {
	uint8_t seen[CC_COVERAGE_SIZE]; /* bucket bits seen, per edge */
	uint64_t edges;			/* edges ever seen */
	uint64_t runs;
};

/* AFL's count classes as one bit each. */
uint8_t cc_coverage_bucket(uint8_t count);

/* One run's result. */
struct cc_coverage_run {
	uint64_t edges;	      /* edges this run hit */
	uint64_t new_edges;   /* edges no earlier run hit */
	uint64_t new_buckets; /* edges with a count class not seen before */
};

/* Reads the VM's bitmap into `map` (CC_COVERAGE_SIZE bytes); false when
 * RAM does not reach it. */
bool cc_coverage_read(const struct cc_mem *mem, uint8_t *map);
/* Folds a raw bitmap in. */
struct cc_coverage_run cc_coverage_add(struct cc_coverage *c,
				       const uint8_t *map);
/* Zeroes the VM's bitmap. */
void cc_coverage_clear(struct cc_mem *mem);

#endif
