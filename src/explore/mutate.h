/*
 * Schedule mutations: how the explorer makes a branch's future from a
 * corpus entry's template (the faults of the branch that found it, their
 * times relative to the fork, within one horizon).  Pure: the campaign's
 * random stream in, a new template and the operator's name out, so a
 * campaign seed gives the same mutations everywhere.
 *
 * Operators: add, remove, shift, replace, param (new parameters, same
 * kind and time), splice (this template's first half, another's second),
 * fork (the same faults, a new seed for every random stream of the
 * cluster), havoc (two to four of the others stacked).  New faults take
 * their kind from the branch's swarm: a random subset of the allowed
 * kinds, drawn per branch, so some branches see only partitions, others
 * only restarts and clock jumps, and so on.
 */
#ifndef CC_MUTATE_H
#define CC_MUTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/entropy.h"
#include "../run/branch.h"

enum cc_mut_op {
	CC_MUT_ADD,
	CC_MUT_REMOVE,
	CC_MUT_SHIFT,
	CC_MUT_REPLACE,
	CC_MUT_PARAM,
	CC_MUT_SPLICE,
	CC_MUT_FORK,
	CC_MUT_HAVOC,
	CC_MUT_RANDOM, /* the random baseline: a fresh schedule */
	CC_MUT__COUNT
};

const char *cc_mut_name(enum cc_mut_op op);

/* A template: faults with times in ns relative to the fork. */
struct cc_tmpl {
	struct cc_fault f[CC_FORK_MAX_FAULTS];
	size_t n;
};

struct cc_mut_config {
	unsigned nvms;
	uint64_t horizon_ns;	     /* templates' times are below it */
	bool kinds[CC_FAULT__COUNT]; /* what new faults may be */
	unsigned max_faults;	     /* per template, <= CC_FORK_MAX_FAULTS */
};

/*
 * out := a mutation of in (other: a second template for splice, may be
 * NULL); *reseed says whether the branch also takes a new seed.  Returns
 * the operator applied.
 */
enum cc_mut_op cc_mutate(const struct cc_mut_config *c, struct cc_entropy *rng,
			 const struct cc_tmpl *in, const struct cc_tmpl *other,
			 struct cc_tmpl *out, bool *reseed);

/* A fresh random template of 1..max_faults faults over the horizon
 * (the random baseline's schedules, and havoc's raw material). */
void cc_mut_random(const struct cc_mut_config *c, struct cc_entropy *rng,
		   struct cc_tmpl *out);

#endif
