#include "state.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/array.h"
#include "../base/file.h"
#include "output.h"

#define FORMAT "chaoscontrol-campaign"

static int path_of(const char *out, char *buf, size_t len, struct cc_err *err)
{
	if ((size_t)snprintf(buf, len, "%s/state.json", out) >= len)
		return cc_err_set(err, "output path too long");
	return 0;
}

/* --- saving ----------------------------------------------------------------
 */

static json_t *kinds_json(const bool *kinds)
{
	json_t *a = json_array();
	for (int k = 0; k < CC_FAULT__COUNT; k++)
		if (kinds[k])
			json_array_append_new(a, json_string(cc_fault_name(k)));
	return a;
}

static json_t *config_json(const struct cc_explore_config *c)
{
	return json_pack("{s:o,s:I,s:I,s:I,s:I,s:i,s:i,s:b,s:b,s:b,s:o}",
			 "seed", cc_json_hex(c->seed), "branches",
			 (json_int_t)c->branches, "horizon",
			 (json_int_t)c->horizon, "ticks", (json_int_t)c->ticks,
			 "stall_ticks", (json_int_t)c->stall_ticks, "round",
			 c->round, "max_faults", c->max_faults, "random",
			 c->random, "choices", c->choices, "combos", c->combos,
			 "kinds", kinds_json(c->kinds));
}

static json_t *entry_json(const struct cc_entry *e)
{
	return json_pack(
		"{s:I,s:I,s:I,s:o,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:o,"
		"s:o}",
		"id", (json_int_t)e->id, "parent", (json_int_t)e->parent,
		"tick", (json_int_t)e->tick, "hash", cc_json_hex(e->hash), "op",
		(int)e->op, "picked", (json_int_t)e->picked, "finds",
		(json_int_t)e->finds, "new_edges", (json_int_t)e->new_edges,
		"new_goals", (json_int_t)e->new_goals, "new_combos",
		(json_int_t)e->new_combos, "found_at", (json_int_t)e->found_at,
		"retired", e->retired, "template",
		cc_faults_json(e->tmpl.f, e->tmpl.n), "forks",
		cc_path_json(&e->path));
}

static json_t *bug_json(const struct cc_found *f)
{
	return json_pack("{s:s,s:I,s:I,s:f}", "dir", f->dir, "branch",
			 (json_int_t)f->branch, "entry", (json_int_t)f->entry,
			 "found_s", f->found_s);
}

static json_t *coverage_json(const struct cc_explorer *x)
{
	size_t len = sodium_base64_ENCODED_LEN(sizeof(x->cov.seen),
					       sodium_base64_VARIANT_ORIGINAL);
	char *b = malloc(len);
	if (!b)
		return NULL;
	sodium_bin2base64(b, len, x->cov.seen, sizeof(x->cov.seen),
			  sodium_base64_VARIANT_ORIGINAL);
	json_t *o =
		json_pack("{s:I,s:I,s:s}", "edges", (json_int_t)x->cov.edges,
			  "runs", (json_int_t)x->cov.runs, "seen", b);
	free(b);
	return o;
}

static json_t *state_json(const struct cc_explorer *x)
{
	json_t *entries = json_array(), *bugs = json_array(),
	       *goals = json_array();
	for (size_t k = 1; k < x->n; k++) /* the root is made, not saved */
		json_array_append_new(entries, entry_json(&x->e[k]));
	for (size_t k = 0; k < x->nbugs; k++)
		json_array_append_new(bugs, bug_json(&x->bug[k]));
	for (size_t k = 0; k < x->ngoals; k++)
		json_array_append_new(goals, json_string(x->goals[k]));
	char key[2 * sizeof(x->rng.key) + 1];
	sodium_bin2hex(key, sizeof(key), x->rng.key, sizeof(x->rng.key));
	json_t *root = json_pack(
		"{s:o,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
		"config", config_json(&x->cfg), "scenario_xxh3",
		cc_json_hex(x->cfg.base.scenario_hash), "root_tick",
		(json_int_t)x->root_tick, "rng_pos", (json_int_t)x->rng.pos,
		"branches", (json_int_t)x->branches, "rounds",
		(json_int_t)x->rounds, "ticks_run", (json_int_t)x->ticks_run,
		"watchdog_branches", (json_int_t)x->watchdog_branches,
		"unverified", (json_int_t)x->unverified, "last_find",
		(json_int_t)x->last_find, "max_depth", (json_int_t)x->max_depth,
		"divergences", (json_int_t)x->divergences, "rebuilds",
		(json_int_t)x->rebuilds, "restores", (json_int_t)x->restores);
	json_object_set_new(root, "format", json_string(FORMAT));
	json_object_set_new(root, "unstable_branches",
			    json_integer((json_int_t)x->unstable_branches));
	json_object_set_new(root, "version", json_integer(CC_STATE_VERSION));
	json_object_set_new(root, "rng_key", json_string(key));
	json_object_set_new(root, "coverage", coverage_json(x));
	json_object_set_new(root, "combinations", cc_combos_json(&x->combos));
	json_object_set_new(
		root, "network",
		json_pack("{s:I,s:I,s:I,s:I}", "sent", (json_int_t)x->net.sent,
			  "delivered", (json_int_t)x->net.delivered,
			  "partitioned", (json_int_t)x->net.partitioned, "lost",
			  (json_int_t)x->net.lost));
	json_object_set_new(root, "goals", goals);
	json_object_set_new(root, "entries", entries);
	json_object_set_new(root, "bugs", bugs);
	json_object_set_new(root, "plot", json_string(x->plot ? x->plot : ""));
	json_object_set_new(root, "elapsed_s",
			    json_real(cc_explore_elapsed(x)));
	return root;
}

int cc_state_save(const struct cc_explorer *x, struct cc_err *err)
{
	char path[4096];
	if (path_of(x->cfg.out, path, sizeof(path), err))
		return -1;
	json_t *st = state_json(x);
	char *text = st ? json_dumps(st, JSON_COMPACT) : NULL;
	json_decref(st);
	if (!text)
		return cc_err_set(err, "state: out of memory");
	int rc = cc_write_file_atomic(path, text, strlen(text), err);
	free(text);
	return rc;
}

/* --- loading ---------------------------------------------------------------
 */

static json_t *load(const char *out, bool *found, struct cc_err *err)
{
	char path[4096];
	*found = false;
	if (path_of(out, path, sizeof(path), err))
		return NULL;
	if (access(path, F_OK)) {
		return NULL;
	}
	*found = true;
	json_error_t je;
	json_t *o = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!o) {
		cc_err_set(err, "%s: line %d: %s", path, je.line, je.text);
		return NULL;
	}
	const char *fmt = json_string_value(json_object_get(o, "format"));
	json_t *v = json_object_get(o, "version");
	if (!fmt || strcmp(fmt, FORMAT) ||
	    json_integer_value(v) != CC_STATE_VERSION) {
		cc_err_set(err, "%s: not a campaign state of version %d", path,
			   CC_STATE_VERSION);
		json_decref(o);
		return NULL;
	}
	return o;
}

static int parse_kinds(json_t *a, bool *kinds, struct cc_err *err)
{
	memset(kinds, 0, sizeof(bool) * CC_FAULT__COUNT);
	size_t k;
	json_t *j;
	if (!json_is_array(a))
		return cc_err_set(err, "config: \"kinds\" must be a list");
	json_array_foreach(a, k, j)
	{
		const char *n = json_string_value(j);
		enum cc_fault_kind kind =
			n ? cc_fault_kind_of(n) : CC_FAULT__COUNT;
		if (kind == CC_FAULT__COUNT)
			return cc_err_set(err, "config: unknown kind %zu", k);
		kinds[kind] = true;
	}
	return 0;
}

int cc_state_config(const char *out, struct cc_explore_config *cfg,
		    bool keep_budget, bool *found, struct cc_err *err)
{
	err->msg[0] = 0;
	json_t *o = load(out, found, err);
	if (!o)
		return *found || err->msg[0] ? -1 : 0;
	json_t *c = json_object_get(o, "config");
	uint64_t branches, round, max_faults;
	json_t *random = json_object_get(c, "random");
	json_t *choices = json_object_get(c, "choices");
	json_t *combos = json_object_get(c, "combos");
	int rc = cc_json_get_hex(c, "seed", &cfg->seed, err) ||
				 cc_json_get_uint(c, "branches", UINT32_MAX,
						  &branches, err) ||
				 cc_json_get_uint(c, "horizon", 1u << 30,
						  &cfg->horizon, err) ||
				 cc_json_get_uint(c, "stall_ticks", 1u << 30,
						  &cfg->stall_ticks, err) ||
				 cc_json_get_uint(c, "round", 1024, &round,
						  err) ||
				 cc_json_get_uint(c, "max_faults",
						  CC_FORK_MAX_FAULTS,
						  &max_faults, err) ||
				 !json_is_boolean(random) ||
				 !json_is_boolean(choices) ||
				 !json_is_boolean(combos) ||
				 parse_kinds(json_object_get(c, "kinds"),
					     cfg->kinds, err)
			 ? -1
			 : 0;
	if (!rc && (!round || !cfg->horizon))
		rc = cc_err_set(err, "config: round and horizon must be >= 1");
	if (!rc) {
		if (!keep_budget)
			cfg->branches = branches;
		cfg->round = (unsigned)round;
		cfg->max_faults = (unsigned)max_faults;
		cfg->random = json_is_true(random);
		cfg->choices = json_is_true(choices);
		cfg->combos = json_is_true(combos);
	} else if (!err->msg[0]) {
		cc_err_set(err, "config: \"random\", \"choices\" and "
				"\"combos\" must be true or false");
	}
	json_decref(o);
	return rc;
}

static int parse_entry(struct cc_explorer *x, json_t *j, uint64_t id,
		       struct cc_entry *e, struct cc_err *err)
{
	memset(e, 0, sizeof(*e));
	uint64_t op;
	json_t *retired = json_object_get(j, "retired");
	if (cc_json_get_uint(j, "id", UINT64_MAX, &e->id, err) ||
	    cc_json_get_uint(j, "parent", UINT64_MAX, &e->parent, err) ||
	    cc_json_get_uint(j, "tick", x->cfg.ticks, &e->tick, err) ||
	    cc_json_get_hex(j, "hash", &e->hash, err) ||
	    cc_json_get_uint(j, "op", CC_MUT__COUNT - 1, &op, err) ||
	    cc_json_get_uint(j, "picked", UINT64_MAX, &e->picked, err) ||
	    cc_json_get_uint(j, "finds", UINT64_MAX, &e->finds, err) ||
	    cc_json_get_uint(j, "new_edges", UINT64_MAX, &e->new_edges, err) ||
	    cc_json_get_uint(j, "new_goals", UINT64_MAX, &e->new_goals, err) ||
	    cc_json_get_uint(j, "new_combos", UINT64_MAX, &e->new_combos,
			     err) ||
	    cc_json_get_uint(j, "found_at", UINT64_MAX, &e->found_at, err))
		return -1;
	if (e->id != id || e->parent >= id || !json_is_boolean(retired))
		return cc_err_set(err, "ids, parents or \"retired\" are wrong");
	e->op = (enum cc_mut_op)op;
	e->retired = json_is_true(retired);
	if (cc_faults_parse(json_object_get(j, "template"), x->s->n, e->tmpl.f,
			    &e->tmpl.n, err) ||
	    cc_path_parse(json_object_get(j, "forks"), x->s->n, e->tick,
			  &e->path, err))
		return -1;
	if (!e->path.n || e->path.fork[0].at != x->root_tick)
		return cc_err_set(err, "its path does not start at the root");
	return 0;
}

static int load_entries(struct cc_explorer *x, json_t *a, struct cc_err *err)
{
	if (!json_is_array(a))
		return cc_err_set(err, "\"entries\" must be a list");
	for (size_t k = 0; k < json_array_size(a); k++) {
		struct cc_entry e;
		struct cc_err e2;
		if (parse_entry(x, json_array_get(a, k), k + 1, &e, &e2)) {
			cc_path_free(&e.path);
			return cc_err_set(err, "entries[%zu]: %s", k, e2.msg);
		}
		if (cc_array_grow(&x->e, &x->cap, x->n, sizeof(*x->e), 64)) {
			cc_path_free(&e.path);
			return cc_err_set(err, "out of memory");
		}
		x->e[x->n++] = e;
	}
	return 0;
}

static int load_bugs(struct cc_explorer *x, json_t *a, struct cc_err *err)
{
	if (!json_is_array(a))
		return cc_err_set(err, "\"bugs\" must be a list");
	for (size_t k = 0; k < json_array_size(a); k++) {
		json_t *j = json_array_get(a, k);
		struct cc_found f = {0};
		const char *dir = json_string_value(json_object_get(j, "dir"));
		char path[4096];
		if (!dir || strlen(dir) >= sizeof(f.dir) || strchr(dir, '/') ||
		    cc_json_get_uint(j, "branch", UINT64_MAX, &f.branch, err) ||
		    cc_json_get_uint(j, "entry", UINT64_MAX, &f.entry, err))
			return cc_err_set(err, "bugs[%zu]: bad fields", k);
		f.found_s = json_real_value(json_object_get(j, "found_s"));
		snprintf(f.dir, sizeof(f.dir), "%s", dir);
		snprintf(path, sizeof(path), "%s/bugs/%s/reproducer.json",
			 x->cfg.out, dir);
		if (cc_repro_load(&f.repro, path, err))
			return -1;
		f.sig = f.repro.bug;
		if (cc_array_grow(&x->bug, &x->cap_bugs, x->nbugs,
				  sizeof(*x->bug), 8)) {
			cc_repro_free(&f.repro);
			return cc_err_set(err, "out of memory");
		}
		x->bug[x->nbugs++] = f;
	}
	return 0;
}

static int load_coverage(struct cc_explorer *x, json_t *c, struct cc_err *err)
{
	const char *b = json_string_value(json_object_get(c, "seen"));
	size_t len;
	if (!b ||
	    sodium_base642bin(x->cov.seen, sizeof(x->cov.seen), b, strlen(b),
			      NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) ||
	    len != sizeof(x->cov.seen) ||
	    cc_json_get_uint(c, "edges", CC_COVERAGE_SIZE, &x->cov.edges,
			     err) ||
	    cc_json_get_uint(c, "runs", UINT64_MAX, &x->cov.runs, err))
		return cc_err_set(err, "\"coverage\" is damaged");
	return 0;
}

static int load_goals(struct cc_explorer *x, json_t *a, struct cc_err *err)
{
	if (!json_is_array(a))
		return cc_err_set(err, "\"goals\" must be a list");
	x->goals = calloc(json_array_size(a) + 1, sizeof(char *));
	if (!x->goals)
		return cc_err_set(err, "out of memory");
	for (size_t k = 0; k < json_array_size(a); k++) {
		const char *g = json_string_value(json_array_get(a, k));
		if (!g || (k && strcmp(x->goals[k - 1], g) >= 0))
			return cc_err_set(err, "\"goals\" must be sorted "
					       "strings");
		x->goals[x->ngoals++] = strdup(g);
	}
	return 0;
}

static int load_network(struct cc_explorer *x, json_t *o, struct cc_err *err)
{
	if (!json_is_object(o))
		return cc_err_set(err, "\"network\" is missing");
	return cc_json_get_uint(o, "sent", UINT64_MAX, &x->net.sent, err) ||
			       cc_json_get_uint(o, "delivered", UINT64_MAX,
						&x->net.delivered, err) ||
			       cc_json_get_uint(o, "partitioned", UINT64_MAX,
						&x->net.partitioned, err) ||
			       cc_json_get_uint(o, "lost", UINT64_MAX,
						&x->net.lost, err)
		       ? -1
		       : 0;
}

static int load_counters(struct cc_explorer *x, json_t *o, struct cc_err *err)
{
	const char *key = json_string_value(json_object_get(o, "rng_key"));
	size_t len;
	uint64_t root, hash;
	if (!key ||
	    sodium_hex2bin(x->rng.key, sizeof(x->rng.key), key, strlen(key),
			   NULL, &len, NULL) ||
	    len != sizeof(x->rng.key))
		return cc_err_set(err, "\"rng_key\" is damaged");
	if (cc_json_get_uint(o, "root_tick", UINT64_MAX, &root, err) ||
	    cc_json_get_hex(o, "scenario_xxh3", &hash, err) ||
	    cc_json_get_uint(o, "rng_pos", UINT64_MAX, &x->rng.pos, err) ||
	    cc_json_get_uint(o, "branches", UINT64_MAX, &x->branches, err) ||
	    cc_json_get_uint(o, "rounds", UINT64_MAX, &x->rounds, err) ||
	    cc_json_get_uint(o, "ticks_run", UINT64_MAX, &x->ticks_run, err) ||
	    cc_json_get_uint(o, "watchdog_branches", UINT64_MAX,
			     &x->watchdog_branches, err) ||
	    cc_json_get_uint(o, "unverified", UINT64_MAX, &x->unverified,
			     err) ||
	    cc_json_get_uint(o, "last_find", UINT64_MAX, &x->last_find, err) ||
	    cc_json_get_uint(o, "max_depth", UINT64_MAX, &x->max_depth, err) ||
	    cc_json_get_uint(o, "divergences", UINT64_MAX, &x->divergences,
			     err) ||
	    cc_json_get_uint(o, "rebuilds", UINT64_MAX, &x->rebuilds, err) ||
	    cc_json_get_uint(o, "restores", UINT64_MAX, &x->restores, err))
		return -1;
	/* Campaigns saved before it was counted have none. */
	if (json_object_get(o, "unstable_branches") &&
	    cc_json_get_uint(o, "unstable_branches", UINT64_MAX,
			     &x->unstable_branches, err))
		return -1;
	if (hash != x->cfg.base.scenario_hash)
		return cc_err_set(err, "the scenario changed since the "
				       "campaign began");
	if (root != x->root_tick)
		return cc_err_set(err,
				  "the root is at tick %llu now, %llu then",
				  (unsigned long long)x->root_tick,
				  (unsigned long long)root);
	return 0;
}

int cc_state_load(struct cc_explorer *x, struct cc_err *err)
{
	bool found;
	struct cc_err e = {0};
	json_t *o = load(x->cfg.out, &found, &e);
	if (!o) {
		if (!found && !e.msg[0])
			return 0; /* nothing saved yet: a fresh start */
		return cc_err_set(err, "resume: %s", e.msg);
	}
	const char *plot = json_string_value(json_object_get(o, "plot"));
	int rc =
		load_counters(x, o, &e) ||
				load_network(x, json_object_get(o, "network"),
					     &e) ||
				cc_combos_parse(
					json_object_get(o, "combinations"),
					&x->combos, &e) ||
				load_coverage(x, json_object_get(o, "coverage"),
					      &e) ||
				load_goals(x, json_object_get(o, "goals"),
					   &e) ||
				load_entries(x, json_object_get(o, "entries"),
					     &e) ||
				load_bugs(x, json_object_get(o, "bugs"), &e)
			? -1
			: 0;
	if (!rc && plot && *plot) {
		x->plot = strdup(plot);
		x->plot_len = x->plot_cap = x->plot ? strlen(plot) : 0;
	}
	x->resumed_s = json_real_value(json_object_get(o, "elapsed_s"));
	json_decref(o);
	if (rc)
		return cc_err_set(err, "resume: %s/state.json: %s", x->cfg.out,
				  e.msg);
	return 0;
}
