#include "oracle.h"

#include <stdlib.h>
#include <string.h>

#include "../base/array.h"

static const char *const verdict_names[] = {
	[CC_VERDICT_PASS] = "pass",
	[CC_VERDICT_ALWAYS_VIOLATED] = "always violated",
	[CC_VERDICT_NEVER_REACHED] = "never reached",
	[CC_VERDICT_NEVER_TRUE] = "sometimes never true",
	[CC_VERDICT_UNREACHABLE_REACHED] = "unreachable reached",
};

const char *cc_verdict_name(enum cc_verdict v)
{
	return verdict_names[v];
}

static const char *sget(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static int cmp_key(const char *id, const char *msg, const struct cc_property *p)
{
	int c = strcmp(id, p->id);
	return c ? c : strcmp(msg, p->message);
}

/* The property for (id, message): found, or inserted in order. */
static struct cc_property *find(struct cc_oracle *o, json_t *a)
{
	const char *id = sget(a, "id"), *msg = sget(a, "message");
	size_t lo = 0, hi = o->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = cmp_key(id, msg, &o->p[mid]);
		if (c == 0)
			return &o->p[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (cc_array_grow(&o->p, &o->cap, o->n, sizeof(*o->p), 32))
		return NULL;
	memmove(&o->p[lo + 1], &o->p[lo], (o->n - lo) * sizeof(*o->p));
	o->n++;
	struct cc_property *p = &o->p[lo];
	memset(p, 0, sizeof(*p));
	json_t *loc = json_object_get(a, "location");
	char where[600];
	snprintf(where, sizeof(where), "%.500s:%lld", sget(loc, "file"),
		 (long long)json_integer_value(
			 json_object_get(loc, "begin_line")));
	p->id = strdup(id);
	p->message = strdup(msg);
	p->assert_type = strdup(sget(a, "assert_type"));
	p->display_type = strdup(sget(a, "display_type"));
	p->location = strdup(where);
	p->must_hit = json_is_true(json_object_get(a, "must_hit"));
	return p;
}

static void add_assert(struct cc_oracle *o, json_t *a, bool *seen_in_run)
{
	struct cc_property *p = find(o, a);
	if (!p)
		return;
	if (!json_is_true(json_object_get(a, "hit")))
		return; /* catalog: known, not reached (yet) */
	p->hits++;
	if (json_is_true(json_object_get(a, "condition"))) {
		p->passes++;
	} else {
		p->failures++;
		if (!p->first_fail)
			p->first_fail = o->runs + 1;
	}
	seen_in_run[p - o->p] = true;
}

int cc_oracle_add_run(struct cc_oracle *o, const char *const *records, size_t n)
{
	/* Which properties this run hit, by index; indices shift as
	 * properties are inserted, so count in a second pass by id. */
	for (size_t i = 0; i < n; i++) {
		json_t *r = json_loads(records[i], 0, NULL);
		json_t *a = json_object_get(r, "antithesis_assert");
		if (!r)
			o->bad_records++;
		if (a && !find(o, a)) {
			json_decref(r);
			return -1;
		}
		json_decref(r);
	}
	bool *seen = calloc(o->n ? o->n : 1, sizeof(*seen));
	if (!seen)
		return -1;
	for (size_t i = 0; i < n; i++) {
		json_t *r = json_loads(records[i], 0, NULL);
		json_t *a = json_object_get(r, "antithesis_assert");
		if (a)
			add_assert(o, a, seen);
		json_decref(r);
	}
	for (size_t i = 0; i < o->n; i++)
		o->p[i].runs_hit += seen[i];
	free(seen);
	o->runs++;
	return 0;
}

enum cc_verdict cc_oracle_verdict(const struct cc_property *p)
{
	if (!strcmp(p->assert_type, "always")) {
		if (p->failures)
			return CC_VERDICT_ALWAYS_VIOLATED;
		if (p->must_hit && !p->hits)
			return CC_VERDICT_NEVER_REACHED;
		return CC_VERDICT_PASS;
	}
	if (!strcmp(p->assert_type, "sometimes"))
		return p->passes ? CC_VERDICT_PASS : CC_VERDICT_NEVER_TRUE;
	if (p->must_hit) /* reachable */
		return p->hits ? CC_VERDICT_PASS : CC_VERDICT_NEVER_REACHED;
	return p->hits ? CC_VERDICT_UNREACHABLE_REACHED : CC_VERDICT_PASS;
}

size_t cc_oracle_failures(const struct cc_oracle *o)
{
	size_t k = 0;
	for (size_t i = 0; i < o->n; i++)
		k += cc_oracle_verdict(&o->p[i]) != CC_VERDICT_PASS;
	return k;
}

json_t *cc_oracle_json(const struct cc_oracle *o)
{
	json_t *props = json_array();
	for (size_t i = 0; i < o->n; i++) {
		const struct cc_property *p = &o->p[i];
		json_array_append_new(
			props,
			json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:I, s:I, "
				  "s:I, s:I, s:s}",
				  "id", p->id, "message", p->message,
				  "assert_type", p->assert_type, "display_type",
				  p->display_type, "location", p->location,
				  "must_hit", p->must_hit, "hits",
				  (json_int_t)p->hits, "passes",
				  (json_int_t)p->passes, "failures",
				  (json_int_t)p->failures, "runs_hit",
				  (json_int_t)p->runs_hit, "verdict",
				  cc_verdict_name(cc_oracle_verdict(p))));
	}
	return json_pack("{s:I, s:I, s:I, s:o}", "runs", (json_int_t)o->runs,
			 "failed", (json_int_t)cc_oracle_failures(o),
			 "bad_records", (json_int_t)o->bad_records,
			 "properties", props);
}

void cc_oracle_print(const struct cc_oracle *o, FILE *f)
{
	fprintf(f, "properties: %zu, failed: %zu (over %llu run%s)\n", o->n,
		cc_oracle_failures(o), (unsigned long long)o->runs,
		o->runs == 1 ? "" : "s");
	for (size_t i = 0; i < o->n; i++) {
		const struct cc_property *p = &o->p[i];
		enum cc_verdict v = cc_oracle_verdict(p);
		fprintf(f,
			"  %-4s %-22s %-20s hits %llu pass %llu fail %llu  "
			"%s (%s)\n",
			v == CC_VERDICT_PASS ? "ok" : "FAIL",
			cc_verdict_name(v), p->display_type,
			(unsigned long long)p->hits,
			(unsigned long long)p->passes,
			(unsigned long long)p->failures, p->message,
			p->location);
	}
}

void cc_oracle_free(struct cc_oracle *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->p[i].id);
		free(o->p[i].message);
		free(o->p[i].assert_type);
		free(o->p[i].display_type);
		free(o->p[i].location);
	}
	free(o->p);
	memset(o, 0, sizeof(*o));
}
