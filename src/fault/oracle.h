/*
 * PropertyOracle: the verdict on every property a guest declared with the
 * SDK, across runs.  Each run's SDK log (Antithesis-schema records, see
 * src/vmm/hypercall.h) is folded in: catalog records (hit = false)
 * register a property, hits count passes and failures.  Verdicts:
 *
 *   always        violated when any hit was false; never reached (when it
 *                 must be hit: CC_ALWAYS) when no run hit it
 *   sometimes     never true when no hit was true
 *   reachable     never reached when no run hit it
 *   unreachable   reached when any run hit it
 *
 * Properties are kept sorted by id, then message: the report is the same
 * for the same runs, whatever order records came in within a run.
 */
#ifndef CC_ORACLE_H
#define CC_ORACLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cc_verdict {
	CC_VERDICT_PASS,
	CC_VERDICT_ALWAYS_VIOLATED,
	CC_VERDICT_NEVER_REACHED, /* an always or reachable nobody hit */
	CC_VERDICT_NEVER_TRUE,	  /* a sometimes never true */
	CC_VERDICT_UNREACHABLE_REACHED,
};

struct cc_property {
	char *id, *message, *assert_type, *display_type, *location;
	bool must_hit;
	uint64_t hits, passes, failures;
	uint64_t runs_hit;   /* runs in which it was hit */
	uint64_t first_fail; /* 1 + index of the run that first failed it */
};

struct cc_oracle {
	struct cc_property *p;
	size_t n, cap;
	uint64_t runs;
	uint64_t bad_records; /* records it could not read (counted) */
};

/* Folds one run's records in.  0, or -1 when out of memory. */
int cc_oracle_add_run(struct cc_oracle *o, const char *const *records,
		      size_t n);
enum cc_verdict cc_oracle_verdict(const struct cc_property *p);
const char *cc_verdict_name(enum cc_verdict v);
/* Properties that fail. */
size_t cc_oracle_failures(const struct cc_oracle *o);
/* {"runs":N,"properties":[{id,message,type,...,verdict}],"failed":K} */
json_t *cc_oracle_json(const struct cc_oracle *o);
void cc_oracle_print(const struct cc_oracle *o, FILE *f);
void cc_oracle_free(struct cc_oracle *o);

#endif
