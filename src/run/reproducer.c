#include "reproducer.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaoscontrol/protocol.h"

#include "../base/file.h"

#define FORMAT "chaoscontrol-reproducer"

json_t *cc_json_hex(uint64_t v)
{
	char b[24];
	snprintf(b, sizeof(b), "0x%llx", (unsigned long long)v);
	return json_string(b);
}

json_t *cc_faults_json(const struct cc_fault *f, size_t n)
{
	json_t *a = json_array();
	for (size_t k = 0; k < n; k++)
		json_array_append_new(a, cc_fault_json(&f[k]));
	return a;
}

static json_t *fork_json(const struct cc_fork *f)
{
	json_t *o = json_pack("{s:I,s:b,s:o,s:o}", "at", (json_int_t)f->at,
			      "reseed", f->reseed, "seed", cc_json_hex(f->seed),
			      "faults", cc_faults_json(f->fault, f->nfaults));
	if (!f->nchoices)
		return o;
	json_t *a = json_array();
	for (size_t k = 0; k < f->nchoices; k++)
		json_array_append_new(
			a, json_pack("{s:i,s:i,s:o}", "vm", f->choice[k].vm,
				     "offset", f->choice[k].offset, "value",
				     cc_json_hex(f->choice[k].value)));
	json_object_set_new(o, "choices", a);
	return o;
}

json_t *cc_path_json(const struct cc_path *p)
{
	json_t *forks = json_array();
	for (size_t k = 0; k < p->n; k++)
		json_array_append_new(forks, fork_json(&p->fork[k]));
	return forks;
}

char *cc_repro_json(const struct cc_repro *r)
{
	json_t *forks = cc_path_json(&r->path);
	json_t *o = json_pack(
		"{s:s,s:i,s:s,s:o,s:i,s:o,s:I,s:I,s:b,s:o}", "format", FORMAT,
		"version", CC_REPRO_VERSION, "scenario", r->scenario,
		"scenario_xxh3", cc_json_hex(r->scenario_hash), "nodes",
		r->nodes, "seed", cc_json_hex(r->seed), "until",
		(json_int_t)r->until, "stall_ticks", (json_int_t)r->stall_ticks,
		"stop_at_bug", r->stop_at_bug, "forks", forks);
	if (!o)
		return NULL;
	if (r->has_bug)
		json_object_set_new(o, "bug",
				    json_pack("{s:s,s:s,s:s,s:i,s:I}", "kind",
					      cc_bug_kind_name(r->bug.kind),
					      "id", r->bug.id, "what",
					      r->bug.what, "vm", r->bug.vm,
					      "tick", (json_int_t)r->bug.tick));
	if (r->has_bug || r->trace_hash)
		json_object_set_new(o, "trace_hash",
				    cc_json_hex(r->trace_hash));
	char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}

int cc_repro_save(const struct cc_repro *r, const char *path,
		  struct cc_err *err)
{
	char *text = cc_repro_json(r);
	if (!text)
		return cc_err_set(err, "%s: out of memory", path);
	size_t len = strlen(text);
	text[len] = '\n'; /* json_dumps leaves room: the NUL's place */
	int rc = cc_write_file_atomic(path, text, len + 1, err);
	free(text);
	return rc;
}

/* --- loading ------------------------------------------------------------- */

int cc_json_get_hex(json_t *o, const char *key, uint64_t *v, struct cc_err *err)
{
	const char *s = json_string_value(json_object_get(o, key));
	char *end;
	if (!s || strncmp(s, "0x", 2) || !s[2] || strlen(s) > 18)
		return cc_err_set(err, "\"%s\" must be a hex string (0x...)",
				  key);
	*v = strtoull(s + 2, &end, 16);
	if (*end)
		return cc_err_set(err, "\"%s\" must be a hex string (0x...)",
				  key);
	return 0;
}

int cc_json_get_uint(json_t *o, const char *key, uint64_t max, uint64_t *v,
		     struct cc_err *err)
{
	json_t *j = json_object_get(o, key);
	if (!json_is_integer(j) || json_integer_value(j) < 0 ||
	    (uint64_t)json_integer_value(j) > max)
		return cc_err_set(err, "\"%s\" must be an integer in [0, %llu]",
				  key, (unsigned long long)max);
	*v = (uint64_t)json_integer_value(j);
	return 0;
}

int cc_faults_parse(json_t *a, unsigned nodes, struct cc_fault *out, size_t *n,
		    struct cc_err *err)
{
	*n = 0;
	if (!json_is_array(a) || json_array_size(a) > CC_FORK_MAX_FAULTS)
		return cc_err_set(err, "\"faults\" must be 0 to %u faults",
				  CC_FORK_MAX_FAULTS);
	json_t *wrap = json_pack("{s:O}", "faults", a);
	char *text = wrap ? json_dumps(wrap, JSON_COMPACT) : NULL;
	json_decref(wrap);
	struct cc_schedule s = {0};
	int rc = text ? cc_schedule_parse(&s, text, strlen(text), nodes, err)
		      : cc_err_set(err, "out of memory");
	free(text);
	for (size_t k = 0; !rc && k < s.n; k++)
		out[(*n)++] = s.f[k];
	cc_schedule_free(&s);
	return rc;
}

/* "choices" (optional): [{"vm", "offset", "value"}...]. */
static int parse_choices(json_t *a, unsigned nodes, struct cc_fork *f,
			 struct cc_err *err)
{
	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > CC_FORK_MAX_CHOICES)
		return cc_err_set(err, "\"choices\" must be 0 to %u choices",
				  CC_FORK_MAX_CHOICES);
	for (size_t k = 0; k < json_array_size(a); k++) {
		json_t *c = json_array_get(a, k);
		uint64_t vm, off;
		if (!json_is_object(c) ||
		    cc_json_get_uint(c, "vm", nodes - 1, &vm, err) ||
		    cc_json_get_uint(c, "offset", CC_FORK_MAX_OFFSET - 1, &off,
				     err) ||
		    cc_json_get_hex(c, "value", &f->choice[k].value, err))
			return cc_err_set(err,
					  "choices[%zu]: needs \"vm\" (below "
					  "%u), \"offset\" (below %u) and a "
					  "hex \"value\"",
					  k, nodes, CC_FORK_MAX_OFFSET);
		f->choice[k].vm = (uint32_t)vm;
		f->choice[k].offset = (uint32_t)off;
		f->nchoices++;
	}
	return 0;
}

static int parse_fork(json_t *j, unsigned nodes, struct cc_fork *f,
		      struct cc_err *err)
{
	memset(f, 0, sizeof(*f));
	json_t *reseed = json_object_get(j, "reseed");
	if (!json_is_object(j) || !json_is_boolean(reseed))
		return cc_err_set(err, "needs \"at\", \"reseed\", \"seed\" and "
				       "\"faults\"");
	f->reseed = json_is_true(reseed);
	if (cc_json_get_uint(j, "at", UINT64_MAX / CC_NS_PER_TICK, &f->at,
			     err) ||
	    cc_json_get_hex(j, "seed", &f->seed, err) ||
	    cc_faults_parse(json_object_get(j, "faults"), nodes, f->fault,
			    &f->nfaults, err))
		return -1;
	for (size_t k = 0; k < f->nfaults; k++)
		if (f->fault[k].at_ns < f->at * CC_NS_PER_TICK)
			return cc_err_set(err, "fault %zu is before the fork",
					  k);
	return parse_choices(json_object_get(j, "choices"), nodes, f, err);
}

int cc_bug_parse(json_t *j, struct cc_bug_sig *b, struct cc_err *err)
{
	const char *kind = json_string_value(json_object_get(j, "kind"));
	const char *id = json_string_value(json_object_get(j, "id"));
	const char *what = json_string_value(json_object_get(j, "what"));
	uint64_t vm, tick;
	if (!kind || !id || !what)
		return cc_err_set(err, "bug: needs \"kind\", \"id\", \"what\"");
	int k = 0;
	while (k <= CC_BUG_STALL && strcmp(cc_bug_kind_name(k), kind))
		k++;
	if (k > CC_BUG_STALL)
		return cc_err_set(err, "bug: unknown kind \"%s\"", kind);
	if (strlen(id) >= sizeof(b->id) || strlen(what) >= sizeof(b->what))
		return cc_err_set(err, "bug: \"id\" or \"what\" too long");
	if (cc_json_get_uint(j, "vm", CC_SIM_MAX_VMS - 1, &vm, err) ||
	    cc_json_get_uint(j, "tick", UINT64_MAX, &tick, err))
		return -1;
	b->kind = (enum cc_bug_kind)k;
	snprintf(b->id, sizeof(b->id), "%s", id);
	snprintf(b->what, sizeof(b->what), "%s", what);
	b->vm = (unsigned)vm;
	b->tick = tick;
	return 0;
}

int cc_path_parse(json_t *forks, unsigned nodes, uint64_t until,
		  struct cc_path *p, struct cc_err *err)
{
	if (!json_is_array(forks) || json_array_size(forks) > CC_PATH_MAX_FORKS)
		return cc_err_set(err, "\"forks\" must be 0 to %u forks",
				  CC_PATH_MAX_FORKS);
	size_t k;
	json_t *j;
	json_array_foreach(forks, k, j)
	{
		struct cc_fork f;
		struct cc_err e;
		if (parse_fork(j, nodes, &f, &e))
			return cc_err_set(err, "forks[%zu]: %s", k, e.msg);
		if (p->n && f.at < p->fork[p->n - 1].at)
			return cc_err_set(err,
					  "forks[%zu]: before the one "
					  "before it",
					  k);
		if (f.at > until)
			return cc_err_set(err, "forks[%zu]: after \"until\"",
					  k);
		if (cc_path_push(p, &f))
			return cc_err_set(err, "out of memory");
	}
	return 0;
}

static int parse_root(struct cc_repro *r, json_t *o, struct cc_err *err)
{
	const char *fmt = json_string_value(json_object_get(o, "format"));
	const char *sc = json_string_value(json_object_get(o, "scenario"));
	json_t *stop = json_object_get(o, "stop_at_bug");
	uint64_t version, nodes;
	if (!fmt || strcmp(fmt, FORMAT))
		return cc_err_set(err, "not a reproducer (\"format\" is not "
				       "\"" FORMAT "\")");
	if (cc_json_get_uint(o, "version", 1000, &version, err))
		return -1;
	if (version < 1 || version > CC_REPRO_VERSION)
		return cc_err_set(
			err, "version %llu (this build reads 1 to %d)",
			(unsigned long long)version, CC_REPRO_VERSION);
	if (!sc || !*sc || strlen(sc) >= sizeof(r->scenario))
		return cc_err_set(err, "\"scenario\" must be a path");
	snprintf(r->scenario, sizeof(r->scenario), "%s", sc);
	if (!json_is_boolean(stop))
		return cc_err_set(err, "\"stop_at_bug\" must be true or false");
	r->stop_at_bug = json_is_true(stop);
	if (cc_json_get_hex(o, "scenario_xxh3", &r->scenario_hash, err) ||
	    cc_json_get_uint(o, "nodes", CC_SIM_MAX_VMS, &nodes, err) ||
	    cc_json_get_hex(o, "seed", &r->seed, err) ||
	    cc_json_get_uint(o, "until", UINT64_MAX / CC_NS_PER_TICK, &r->until,
			     err) ||
	    cc_json_get_uint(o, "stall_ticks", UINT64_MAX, &r->stall_ticks,
			     err))
		return -1;
	if (!nodes)
		return cc_err_set(err, "\"nodes\" must be 1 to %u",
				  CC_SIM_MAX_VMS);
	r->nodes = (unsigned)nodes;
	json_t *forks = json_object_get(o, "forks");
	if (!json_array_size(forks))
		return cc_err_set(err, "\"forks\" must be 1 to %u forks",
				  CC_PATH_MAX_FORKS);
	if (cc_path_parse(forks, r->nodes, r->until, &r->path, err))
		return -1;
	json_t *bug = json_object_get(o, "bug");
	if (bug) {
		struct cc_err e;
		if (cc_bug_parse(bug, &r->bug, &e))
			return cc_err_set(err, "%s", e.msg);
		r->has_bug = true;
	}
	if (json_object_get(o, "trace_hash") &&
	    cc_json_get_hex(o, "trace_hash", &r->trace_hash, err))
		return -1;
	return 0;
}

int cc_repro_parse(struct cc_repro *r, const char *text, size_t len,
		   struct cc_err *err)
{
	memset(r, 0, sizeof(*r));
	json_error_t je;
	json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!o)
		return cc_err_set(err, "line %d: %s", je.line, je.text);
	int rc = json_is_object(o) ? parse_root(r, o, err)
				   : cc_err_set(err, "not a JSON object");
	json_decref(o);
	if (rc)
		cc_repro_free(r);
	return rc;
}

int cc_repro_load(struct cc_repro *r, const char *path, struct cc_err *err)
{
	uint8_t *data;
	size_t len;
	struct cc_err e;
	memset(r, 0, sizeof(*r));
	if (cc_read_file(path, "reproducer", &data, &len, err))
		return -1;
	if (len > CC_REPRO_MAX_BYTES) {
		free(data);
		return cc_err_set(err, "reproducer %s: larger than %u MiB",
				  path, CC_REPRO_MAX_BYTES >> 20);
	}
	int rc = cc_repro_parse(r, (const char *)data, len, &e);
	free(data);
	if (rc)
		return cc_err_set(err, "reproducer %s: %s", path, e.msg);
	return 0;
}

void cc_repro_free(struct cc_repro *r)
{
	cc_path_free(&r->path);
}
