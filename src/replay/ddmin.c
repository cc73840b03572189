#include "ddmin.h"

#include <stdlib.h>
#include <string.h>

#include "../base/array.h"

/* Subsets already tested, with their outcome: ddmin asks some twice (a
 * complement of two halves is the other half). */
struct memo {
	bool *mask; /* n per entry */
	int *result;
	size_t len, cap_mask, cap_result;
};

struct search {
	size_t n;
	cc_ddmin_test test;
	void *ctx;
	uint64_t max_tests;
	struct cc_ddmin_stats *st;
	struct memo memo;
	bool *probe; /* n: the subset being asked */
};

static int remember(struct memo *m, size_t n, const bool *mask, int result)
{
	if (cc_array_grow(&m->mask, &m->cap_mask, m->len, n ? n : 1, 16) ||
	    cc_array_grow(&m->result, &m->cap_result, m->len, sizeof(int), 1))
		return -1;
	memcpy(m->mask + m->len * n, mask, n);
	m->result[m->len++] = result;
	return 0;
}

static const int *recall(const struct memo *m, size_t n, const bool *mask)
{
	for (size_t k = 0; k < m->len; k++)
		if (!memcmp(m->mask + k * n, mask, n))
			return &m->result[k];
	return NULL;
}

/* The outcome for the items idx[0..len) alone: 1, 0, -1 (error) or -2
 * (the budget is spent). */
static int ask(struct search *s, const size_t *idx, size_t len,
	       struct cc_err *err)
{
	memset(s->probe, 0, s->n);
	for (size_t k = 0; k < len; k++)
		s->probe[idx[k]] = true;
	const int *seen = recall(&s->memo, s->n, s->probe);
	if (seen) {
		s->st->cached++;
		return *seen;
	}
	if (s->max_tests && s->st->tests >= s->max_tests) {
		s->st->budget = true;
		return -2;
	}
	s->st->tests++;
	int r = s->test(s->ctx, s->probe, s->n, err);
	if (r < 0)
		return -1;
	r = r ? 1 : 0;
	if (remember(&s->memo, s->n, s->probe, r))
		return cc_err_set(err, "out of memory");
	return r;
}

/* One pass at granularity g over c[0..m): the subsets first, then the
 * complements.  Sets *m and *g to the reduced set's and returns 1 when a
 * piece still fails; 0 when none did; < 0 as ask(). */
static int pass(struct search *s, size_t *c, size_t *m, size_t *g, size_t *tmp,
		struct cc_err *err)
{
	for (size_t k = 0; k < *g; k++) { /* a piece alone */
		size_t lo = k * *m / *g, hi = (k + 1) * *m / *g;
		int r = ask(s, c + lo, hi - lo, err);
		if (r < 0)
			return r;
		if (r) {
			memmove(c, c + lo, (hi - lo) * sizeof(*c));
			*m = hi - lo;
			*g = 2;
			return 1;
		}
	}
	for (size_t k = 0; k < *g; k++) { /* everything but a piece */
		size_t lo = k * *m / *g, hi = (k + 1) * *m / *g, len = 0;
		for (size_t j = 0; j < *m; j++)
			if (j < lo || j >= hi)
				tmp[len++] = c[j];
		int r = ask(s, tmp, len, err);
		if (r < 0)
			return r;
		if (r) {
			memcpy(c, tmp, len * sizeof(*c));
			*m = len;
			*g = *g > 2 ? *g - 1 : 2;
			return 1;
		}
	}
	return 0;
}

static int search(struct search *s, size_t *c, size_t *m, size_t *tmp,
		  struct cc_err *err)
{
	size_t g = 2;
	while (*m >= 2) {
		if (g > *m)
			g = *m;
		int r = pass(s, c, m, &g, tmp, err);
		if (r < 0)
			return r;
		if (r)
			continue;
		if (g == *m) { /* every single removal tested */
			s->st->minimal = true;
			return 0;
		}
		g = 2 * g < *m ? 2 * g : *m;
	}
	s->st->minimal = true; /* one item left, and none fails alone */
	return 0;
}

/* All n first (they must fail), then none (maybe nothing is needed),
 * then the search.  0, 1 (all n do not fail), -1, -2 (budget). */
static int shrink(struct search *s, size_t *c, size_t *m, size_t *tmp,
		  struct cc_err *err)
{
	int r = ask(s, c, *m, err);
	if (r <= 0)
		return r < 0 ? r : 1;
	if ((r = ask(s, c, 0, err)) != 0) {
		if (r > 0) {
			*m = 0;
			s->st->minimal = true;
		}
		return r < 0 ? r : 0;
	}
	return search(s, c, m, tmp, err);
}

int cc_ddmin(size_t n, cc_ddmin_test test, void *ctx, uint64_t max_tests,
	     bool *keep, struct cc_ddmin_stats *st, struct cc_err *err)
{
	*st = (struct cc_ddmin_stats){.before = n, .after = n};
	if (n > CC_DDMIN_MAX_ITEMS)
		return cc_err_set(err, "%zu items to shrink (at most %u)", n,
				  CC_DDMIN_MAX_ITEMS);
	for (size_t k = 0; k < n; k++)
		keep[k] = true;
	struct search s = {n, test, ctx, max_tests, st, {0}, NULL};
	size_t *c = calloc(n + 1, sizeof(*c)), *tmp = calloc(n + 1, sizeof(*c));
	s.probe = calloc(n + 1, 1);
	size_t m = n;
	int rc = -1;
	if (!c || !tmp || !s.probe)
		cc_err_set(err, "out of memory");
	else {
		for (size_t k = 0; k < n; k++)
			c[k] = k;
		rc = shrink(&s, c, &m, tmp, err);
		if (rc == -2) /* the budget (never before the first test):
				 keep what we have */
			rc = 0;
	}
	if (rc == 0) {
		memset(keep, 0, n);
		for (size_t k = 0; k < m; k++)
			keep[c[k]] = true;
		st->after = m;
	}
	free(c);
	free(tmp);
	free(s.probe);
	free(s.memo.mask);
	free(s.memo.result);
	return rc;
}
