/*
 * The divergence finder: compares two event traces of runs that should
 * have been identical and names the first event where they part.
 * Events are compared as hashed (vclock, kind, size, a, b); the guest
 * RIP stored beside each event is shown, not compared.
 */
#ifndef CC_DIVERGENCE_H
#define CC_DIVERGENCE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../vmm/trace.h"

struct cc_divergence {
	bool identical;
	uint64_t index; /* first differing event (or the shorter length) */
};

void cc_divergence_find(const struct cc_trace_record *a, uint64_t na,
			const struct cc_trace_record *b, uint64_t nb,
			struct cc_divergence *d);

/* Prints the divergence with `context` identical events before it;
 * event numbers are shown offset by `base` (where the traces start). */
void cc_divergence_print(FILE *f, const struct cc_divergence *d, uint64_t base,
			 const char *name_a, const struct cc_trace_record *a,
			 uint64_t na, const char *name_b,
			 const struct cc_trace_record *b, uint64_t nb,
			 unsigned context);

#endif
