#include "engine.h"

#include <stdlib.h>
#include <string.h>

#include "../base/array.h"
#include "chaoscontrol/protocol.h"

int cc_engine_init(struct cc_fault_engine *e, const struct cc_engine_config *c,
		   struct cc_schedule *sched, uint64_t seed)
{
	memset(e, 0, sizeof(*e));
	if (c->nvms == 0 || c->nvms > CC_SCHEDULE_MAX_VMS)
		return -1;
	e->cfg = *c;
	if (sched) {
		e->sched = *sched;
		memset(sched, 0, sizeof(*sched));
	}
	cc_entropy_init(&e->rng, seed);
	return 0;
}

void cc_engine_free(struct cc_fault_engine *e)
{
	cc_schedule_free(&e->sched);
	free(e->held);
	free(e->log);
	memset(e, 0, sizeof(*e));
}

static void *dup_array(const void *src, size_t n, size_t size, size_t *cap)
{
	*cap = 0;
	if (!n)
		return NULL;
	void *p = malloc(n * size);
	if (p) {
		memcpy(p, src, n * size);
		*cap = n;
	}
	return p;
}

int cc_engine_copy(struct cc_fault_engine *dst,
		   const struct cc_fault_engine *src)
{
	*dst = *src;
	dst->sched.f = dup_array(src->sched.f, src->sched.n,
				 sizeof(*src->sched.f), &dst->sched.cap);
	dst->held = dup_array(src->held, src->nheld, sizeof(*src->held),
			      &dst->cap_held);
	dst->log = dup_array(src->log, src->nlog, sizeof(*src->log),
			     &dst->cap_log);
	if ((src->sched.n && !dst->sched.f) || (src->nheld && !dst->held) ||
	    (src->nlog && !dst->log)) {
		cc_engine_free(dst);
		return -1;
	}
	return 0;
}

void cc_engine_setup_complete(struct cc_fault_engine *e, unsigned vm)
{
	if (vm < e->cfg.nvms)
		e->setup[vm] = true;
}

static bool all_setup(const struct cc_fault_engine *e)
{
	for (unsigned i = 0; i < e->cfg.nvms; i++)
		if (!e->setup[i])
			return false;
	return true;
}

static bool any_setup(const struct cc_fault_engine *e)
{
	for (unsigned i = 0; i < e->cfg.nvms; i++)
		if (e->setup[i])
			return true;
	return false;
}

bool cc_fault_has_vm(enum cc_fault_kind k)
{
	return k != CC_FAULT_NETWORK_PARTITION && k != CC_FAULT_NETWORK_HEAL;
}

static bool open_for(const struct cc_fault_engine *e, const struct cc_fault *f)
{
	switch (e->cfg.gate) {
	case CC_GATE_NONE:
		return true;
	case CC_GATE_PER_VM:
		if (cc_fault_has_vm(f->kind))
			return e->setup[f->vm];
		return all_setup(e);
	case CC_GATE_ANY:
		return any_setup(e);
	default:
		return all_setup(e);
	}
}

static void fire(struct cc_fault_engine *e, const struct cc_fault *f,
		 uint64_t now, bool random,
		 void (*apply)(void *, const struct cc_fault *), void *ctx)
{
	if (!cc_array_grow(&e->log, &e->cap_log, e->nlog, sizeof(*e->log), 16))
		e->log[e->nlog++] = (struct cc_fired){now, *f, random};
	apply(ctx, f);
}

void cc_fault_random_params(struct cc_entropy *rng, unsigned nvms,
			    struct cc_fault *f)
{
	f->vm = (uint32_t)(cc_entropy_u64(rng) % nvms);
	f->ppm = 10000 + (uint32_t)(cc_entropy_u64(rng) % 490001);
	f->ticks = 1 + cc_entropy_u64(rng) % 20;
	f->bps = 100000 + cc_entropy_u64(rng) % 9900001;
	f->duration_ns = (10 + cc_entropy_u64(rng) % 191) * 1000000ull;
	f->offset_ns =
		(int64_t)(cc_entropy_u64(rng) % 201) * 1000000ll - 100000000ll;
	f->bytes = (16ull + cc_entropy_u64(rng) % 240) << 20;
	f->irq = (uint32_t)(cc_entropy_u64(rng) % 16);
	f->nsides = nvms;
	for (unsigned i = 0; i < nvms; i++)
		f->sides[i] = (uint32_t)(cc_entropy_u64(rng) % 2);
}

/* A random fault of an allowed kind, its parameters within bounds. */
static bool random_fault(struct cc_fault_engine *e, uint64_t now,
			 struct cc_fault *f)
{
	enum cc_fault_kind allowed[CC_FAULT__COUNT];
	unsigned n = 0;
	for (int k = 0; k < CC_FAULT__COUNT; k++)
		if (e->cfg.kinds[k])
			allowed[n++] = (enum cc_fault_kind)k;
	if (!n)
		return false;
	memset(f, 0, sizeof(*f));
	f->at_ns = now;
	f->kind = allowed[cc_entropy_u64(&e->rng) % n];
	cc_fault_random_params(&e->rng, e->cfg.nvms, f);
	return true;
}

static bool random_window(const struct cc_fault_engine *e, uint64_t now)
{
	return e->cfg.rate_ppm && now >= e->cfg.random_from_ns &&
	       (!e->cfg.random_until_ns || now < e->cfg.random_until_ns);
}

size_t cc_engine_tick(struct cc_fault_engine *e, uint64_t now_ns,
		      void (*apply)(void *ctx, const struct cc_fault *f),
		      void *ctx)
{
	size_t before = e->nlog;
	const struct cc_fault *f;
	/* Newly due faults join the held ones, keeping schedule order. */
	while ((f = cc_schedule_due(&e->sched, now_ns)))
		if (!cc_array_grow(&e->held, &e->cap_held, e->nheld,
				   sizeof(*e->held), 16))
			e->held[e->nheld++] = *f;
	size_t kept = 0;
	for (size_t i = 0; i < e->nheld; i++) {
		if (open_for(e, &e->held[i]))
			fire(e, &e->held[i], now_ns, false, apply, ctx);
		else
			e->held[kept++] = e->held[i];
	}
	e->nheld = kept;
	struct cc_fault r;
	if (random_window(e, now_ns) &&
	    cc_entropy_u64(&e->rng) % CC_PPM_ONE < e->cfg.rate_ppm &&
	    random_fault(e, now_ns, &r) && open_for(e, &r))
		fire(e, &r, now_ns, true, apply, ctx);
	return e->nlog - before;
}

int cc_engine_set_future(struct cc_fault_engine *e, const struct cc_fault *f,
			 size_t n)
{
	struct cc_schedule *sc = &e->sched;
	sc->n = sc->next; /* what was dispatched stays: the engine's past */
	uint64_t past = sc->next ? sc->f[sc->next - 1].at_ns : 0;
	for (size_t k = 0; k < n; k++)
		if (f[k].at_ns < past)
			return -1;
	return cc_schedule_add_n(sc, f, n);
}

void cc_engine_reseed(struct cc_fault_engine *e, uint64_t seed)
{
	cc_entropy_init(&e->rng, seed);
}

bool cc_engine_gate_open(const struct cc_fault_engine *e)
{
	switch (e->cfg.gate) {
	case CC_GATE_NONE:
		return true;
	case CC_GATE_ANY:
		return any_setup(e);
	default:
		return all_setup(e);
	}
}
