#include "mutate.h"

#include <string.h>

#include "chaoscontrol/protocol.h"

#include "../fault/engine.h"

static const char *const op_names[] = {
	[CC_MUT_ADD] = "add",	    [CC_MUT_REMOVE] = "remove",
	[CC_MUT_SHIFT] = "shift",   [CC_MUT_REPLACE] = "replace",
	[CC_MUT_PARAM] = "param",   [CC_MUT_SPLICE] = "splice",
	[CC_MUT_FORK] = "fork",	    [CC_MUT_HAVOC] = "havoc",
	[CC_MUT_RANDOM] = "random",
};

const char *cc_mut_name(enum cc_mut_op op)
{
	return (unsigned)op < CC_MUT__COUNT ? op_names[op] : "?";
}

/* The branch's swarm: each allowed kind with probability 1/2, at least
 * one (Groce et al., "Swarm Testing"). */
struct swarm {
	enum cc_fault_kind k[CC_FAULT__COUNT];
	unsigned n;
};

static void draw_swarm(const struct cc_mut_config *c, struct cc_entropy *rng,
		       struct swarm *sw)
{
	enum cc_fault_kind all[CC_FAULT__COUNT];
	unsigned nall = 0;
	sw->n = 0;
	for (int k = 0; k < CC_FAULT__COUNT; k++)
		if (c->kinds[k]) {
			all[nall++] = (enum cc_fault_kind)k;
			if (cc_entropy_u64(rng) & 1)
				sw->k[sw->n++] = (enum cc_fault_kind)k;
		}
	if (!sw->n && nall)
		sw->k[sw->n++] = all[cc_entropy_below(rng, nall)];
}

/* Whole ticks: schedules are written in ms. */
static uint64_t random_time(const struct cc_mut_config *c,
			    struct cc_entropy *rng)
{
	uint64_t ticks = c->horizon_ns / CC_NS_PER_TICK;
	return cc_entropy_below(rng, ticks ? ticks : 1) * CC_NS_PER_TICK;
}

static void random_fault(const struct cc_mut_config *c, struct cc_entropy *rng,
			 const struct swarm *sw, struct cc_fault *f)
{
	memset(f, 0, sizeof(*f));
	f->kind = sw->k[cc_entropy_below(rng, sw->n)];
	f->at_ns = random_time(c, rng);
	cc_fault_random_params(rng, c->nvms, f);
}

static void sort_by_time(struct cc_tmpl *t)
{
	for (size_t i = 1; i < t->n; i++) {
		struct cc_fault f = t->f[i];
		size_t j = i;
		for (; j > 0 && t->f[j - 1].at_ns > f.at_ns; j--)
			t->f[j] = t->f[j - 1];
		t->f[j] = f;
	}
}

static unsigned cap(const struct cc_mut_config *c)
{
	return c->max_faults && c->max_faults < CC_FORK_MAX_FAULTS
		       ? c->max_faults
		       : CC_FORK_MAX_FAULTS;
}

static void add(const struct cc_mut_config *c, struct cc_entropy *rng,
		const struct swarm *sw, struct cc_tmpl *t)
{
	if (sw->n && t->n < cap(c))
		random_fault(c, rng, sw, &t->f[t->n++]);
}

static void remove_one(struct cc_entropy *rng, struct cc_tmpl *t)
{
	size_t k = cc_entropy_below(rng, t->n);
	memmove(&t->f[k], &t->f[k + 1], (t->n - k - 1) * sizeof(t->f[0]));
	t->n--;
}

static void shift(const struct cc_mut_config *c, struct cc_entropy *rng,
		  struct cc_tmpl *t)
{
	struct cc_fault *f = &t->f[cc_entropy_below(rng, t->n)];
	uint64_t span = c->horizon_ns / 4 / CC_NS_PER_TICK + 1;
	int64_t by =
		((int64_t)cc_entropy_below(rng, 2 * span + 1) - (int64_t)span) *
		(int64_t)CC_NS_PER_TICK;
	int64_t at = (int64_t)f->at_ns + by;
	if (at < 0)
		at = 0;
	if ((uint64_t)at >= c->horizon_ns)
		at = (int64_t)(c->horizon_ns - CC_NS_PER_TICK);
	f->at_ns = (uint64_t)at;
}

static void splice(const struct cc_mut_config *c, const struct cc_tmpl *other,
		   struct cc_tmpl *t)
{
	uint64_t half = c->horizon_ns / 2;
	size_t n = 0;
	for (size_t k = 0; k < t->n; k++)
		if (t->f[k].at_ns < half)
			t->f[n++] = t->f[k];
	for (size_t k = 0; other && k < other->n && n < cap(c); k++)
		if (other->f[k].at_ns >= half)
			t->f[n++] = other->f[k];
	t->n = n;
}

/* One operator on t; returns the one applied (an operator with nothing
 * to act on adds instead). */
static enum cc_mut_op apply(const struct cc_mut_config *c,
			    struct cc_entropy *rng, const struct swarm *sw,
			    enum cc_mut_op op, const struct cc_tmpl *other,
			    struct cc_tmpl *t)
{
	if (!t->n && op != CC_MUT_SPLICE && op != CC_MUT_FORK)
		op = CC_MUT_ADD;
	switch (op) {
	case CC_MUT_REMOVE:
		remove_one(rng, t);
		break;
	case CC_MUT_SHIFT:
		shift(c, rng, t);
		break;
	case CC_MUT_REPLACE:
		if (sw->n)
			random_fault(c, rng, sw,
				     &t->f[cc_entropy_below(rng, t->n)]);
		break;
	case CC_MUT_PARAM: {
		struct cc_fault *f = &t->f[cc_entropy_below(rng, t->n)];
		cc_fault_random_params(rng, c->nvms, f);
		break;
	}
	case CC_MUT_SPLICE:
		splice(c, other, t);
		break;
	case CC_MUT_FORK:
		break;
	default:
		op = CC_MUT_ADD;
		add(c, rng, sw, t);
	}
	return op;
}

enum cc_mut_op cc_mutate(const struct cc_mut_config *c, struct cc_entropy *rng,
			 const struct cc_tmpl *in, const struct cc_tmpl *other,
			 struct cc_tmpl *out, bool *reseed)
{
	struct swarm sw;
	draw_swarm(c, rng, &sw);
	*out = *in;
	if (out->n > cap(c))
		out->n = cap(c);
	enum cc_mut_op op =
		(enum cc_mut_op)cc_entropy_below(rng, CC_MUT_HAVOC + 1);
	*reseed = op == CC_MUT_FORK;
	if (op == CC_MUT_HAVOC) {
		unsigned k = 2 + (unsigned)cc_entropy_below(rng, 3);
		while (k--)
			apply(c, rng, &sw,
			      (enum cc_mut_op)cc_entropy_below(
				      rng, CC_MUT_SPLICE + 1),
			      other, out);
	} else {
		op = apply(c, rng, &sw, op, other, out);
	}
	sort_by_time(out);
	return op;
}

void cc_mut_random(const struct cc_mut_config *c, struct cc_entropy *rng,
		   struct cc_tmpl *out)
{
	struct swarm sw;
	draw_swarm(c, rng, &sw);
	out->n = 0;
	unsigned n = 1 + (unsigned)cc_entropy_below(rng, cap(c));
	while (sw.n && n--)
		add(c, rng, &sw, out);
	sort_by_time(out);
}
