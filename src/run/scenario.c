#define _GNU_SOURCE
#include "scenario.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fault/schedule.h"
#include "fields.h"

#define SCENARIO_MAX (1u << 20) /* bytes of scenario text */

static int only(json_t *o, const char *where, const char *const *keys,
		struct cc_err *err)
{
	return cc_fields_only(o, "scenario", where, keys, err);
}

static char *path_in(const char *dir, const char *p)
{
	char *out;
	if (p[0] == '/' || !dir)
		return strdup(p);
	return asprintf(&out, "%s/%s", dir, p) < 0 ? NULL : out;
}

/* A non-negative integer no larger than max. */
static int uint_field(json_t *o, const char *key, const char *where,
		      uint64_t max, bool *has, uint64_t *out,
		      struct cc_err *err)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return cc_err_set(err,
				  "scenario: %s%s%s: an integer from 0 to "
				  "%llu",
				  where, *where ? "." : "", key,
				  (unsigned long long)max);
	*out = (uint64_t)json_integer_value(v);
	if (has)
		*has = true;
	return 0;
}

/* "256M", "1G", or an integer of MiB. */
/* "256M", "1G" or a number of MiB; 0 when it is none of them. */
static uint64_t mib_of(json_t *v)
{
	uint64_t mib = 0;
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		mib = (uint64_t)json_integer_value(v);
	} else if (json_is_string(v)) {
		char *end;
		unsigned long long x = strtoull(json_string_value(v), &end, 10);
		if (end != json_string_value(v) && x &&
		    (!strcmp(end, "M") || !strcmp(end, "MiB") || !*end))
			mib = x;
		else if (end != json_string_value(v) && x &&
			 (!strcmp(end, "G") || !strcmp(end, "GiB")))
			mib = x << 10;
	}
	return mib;
}

static int mem_field(json_t *o, const char *where, uint64_t *out,
		     struct cc_err *err)
{
	json_t *v = json_object_get(o, "memory");
	if (!v)
		return 0;
	uint64_t mib = mib_of(v);
	if (mib < 16 || mib > (64u << 10))
		return cc_err_set(err,
				  "scenario: %s%smemory: 16M to 64G, as "
				  "\"256M\", \"1G\" or a number of MiB",
				  where, *where ? "." : "");
	*out = mib << 20;
	return 0;
}

static int string_field(json_t *o, const char *key, const char *where,
			const char *dir, char **out, struct cc_err *err)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_string(v) || !*json_string_value(v))
		return cc_err_set(err, "scenario: %s%s%s: a non-empty path",
				  where, *where ? "." : "", key);
	free(*out);
	*out = path_in(dir, json_string_value(v));
	return *out ? 0 : cc_err_set(err, "out of memory");
}

/* "data_disk": a path, or {"size": SIZE} for a blank ext4 disk made
 * on the way (reproducibly: run/image.h). */
static int data_disk_field(struct cc_scenario *sc, json_t *o, const char *dir,
			   struct cc_err *err)
{
	json_t *v = json_object_get(o, "data_disk");
	if (!json_is_object(v))
		return string_field(o, "data_disk", "", dir, &sc->data_disk,
				    err);
	json_t *size = json_object_get(v, "size");
	uint64_t mib = size ? mib_of(size) : 0;
	if (json_object_size(v) != 1 || mib < 8 || mib > (64u << 10))
		return cc_err_set(err, "scenario: data_disk: a path, or "
				       "{\"size\": \"8M\" to \"64G\"} for a "
				       "blank ext4 disk");
	sc->data_disk_bytes = mib << 20;
	return 0;
}

/* "program" and "args" of a node (or of the defaults). */
static int program(json_t *o, const char *where, struct cc_scenario_node *n,
		   struct cc_err *err)
{
	json_t *p = json_object_get(o, "program"),
	       *a = json_object_get(o, "args");
	const char *w = *where ? where : "top level", *dot = *where ? "." : "";
	if (!p && a)
		return cc_err_set(err,
				  "scenario: %s: \"args\" without "
				  "\"program\"",
				  w);
	if (!p)
		return 0;
	if (!json_is_string(p) || json_string_value(p)[0] != '/')
		return cc_err_set(err,
				  "scenario: %s%sprogram: an absolute path in "
				  "the guest",
				  where, dot);
	if (a && !json_is_array(a))
		return cc_err_set(err, "scenario: %s%sargs: a list of strings",
				  where, dot);
	if (json_array_size(a) + 1 > CC_SCENARIO_ARGS_MAX)
		return cc_err_set(err, "scenario: %s%sargs: at most %d", where,
				  dot, CC_SCENARIO_ARGS_MAX - 1);
	n->argv[0] = strdup(json_string_value(p));
	n->argc = 1;
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		if (!json_is_string(v) ||
		    strlen(json_string_value(v)) >= CC_SCENARIO_ARG_MAX)
			return cc_err_set(err,
					  "scenario: %s%sargs[%zu]: a string "
					  "under %d bytes",
					  where, dot, i, CC_SCENARIO_ARG_MAX);
		n->argv[n->argc++] = strdup(json_string_value(v));
	}
	for (unsigned k = 0; k < n->argc; k++)
		if (!n->argv[k])
			return cc_err_set(err, "out of memory");
	return 0;
}

/* "env": {"NAME": "VALUE", ...}, kept as "NAME=VALUE" templates. */
static int env_field(json_t *o, const char *where, struct cc_scenario_node *n,
		     struct cc_err *err)
{
	json_t *e = json_object_get(o, "env");
	const char *dot = *where ? "." : "";
	if (!e)
		return 0;
	if (!json_is_object(e) || json_object_size(e) > CC_SCENARIO_ENV_MAX)
		return cc_err_set(err,
				  "scenario: %s%senv: an object of at most %d "
				  "\"NAME\": \"VALUE\" strings",
				  where, dot, CC_SCENARIO_ENV_MAX);
	const char *k;
	json_t *v;
	json_object_foreach(e, k, v)
	{
		bool name_ok = *k && strlen(k) < 256 && !strchr(k, '=');
		if (!name_ok || !json_is_string(v) ||
		    strlen(json_string_value(v)) >= CC_SCENARIO_ARG_MAX)
			return cc_err_set(
				err,
				"scenario: %s%senv.%s: a name without "
				"'=' and a string value under %d "
				"bytes",
				where, dot, k, CC_SCENARIO_ARG_MAX);
		if (asprintf(&n->env[n->nenv], "%s=%s", k,
			     json_string_value(v)) < 0) {
			n->env[n->nenv] = NULL;
			return cc_err_set(err, "out of memory");
		}
		n->nenv++;
	}
	return 0;
}

static int cwd_field(json_t *o, const char *where, struct cc_scenario_node *n,
		     struct cc_err *err)
{
	json_t *v = json_object_get(o, "cwd");
	if (!v)
		return 0;
	if (!json_is_string(v) || json_string_value(v)[0] != '/' ||
	    strlen(json_string_value(v)) >= CC_SCENARIO_ARG_MAX)
		return cc_err_set(err,
				  "scenario: %s%scwd: an absolute path in the "
				  "guest",
				  where, *where ? "." : "");
	n->cwd = strdup(json_string_value(v));
	return n->cwd ? 0 : cc_err_set(err, "out of memory");
}

static int node(json_t *o, unsigned i, const char *dir,
		struct cc_scenario_node *n, struct cc_err *err)
{
	static const char *const keys[] = {"program", "args", "image", "memory",
					   "env",     "cwd",  "disk",  NULL};
	char where[32];
	snprintf(where, sizeof(where), "nodes[%u]", i);
	if (!json_is_object(o))
		return cc_err_set(err, "scenario: %s: an object", where);
	if (only(o, where, keys, err))
		return -1;
	/* Named by the spec, not built yet: refused, not ignored. */
	if (json_object_get(o, "disk"))
		return cc_err_set(err,
				  "scenario: %s.disk: per-node disks are not "
				  "supported yet (the top-level \"disk\" "
				  "gives every node its own copy)",
				  where);
	return program(o, where, n, err) ||
			       string_field(o, "image", where, dir, &n->image,
					    err) ||
			       mem_field(o, where, &n->mem, err) ||
			       env_field(o, where, n, err) ||
			       cwd_field(o, where, n, err)
		       ? -1
		       : 0;
}

static int nodes_field(struct cc_scenario *sc, json_t *root, const char *dir,
		       struct cc_err *err)
{
	json_t *v = json_object_get(root, "nodes");
	if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);
		if (n < 1 || n > CC_SCENARIO_NODES)
			return cc_err_set(err, "scenario: nodes: 1 to %d",
					  CC_SCENARIO_NODES);
		sc->nodes = (unsigned)n;
		return 0;
	}
	if (!json_is_array(v) || !json_array_size(v) ||
	    json_array_size(v) > CC_SCENARIO_NODES)
		return cc_err_set(err,
				  "scenario: nodes: a count (1 to %d) or a "
				  "list of 1 to %d nodes",
				  CC_SCENARIO_NODES, CC_SCENARIO_NODES);
	sc->nodes = (unsigned)json_array_size(v);
	sc->node_list = true;
	for (unsigned i = 0; i < sc->nodes; i++)
		if (node(json_array_get(v, i), i, dir, &sc->node[i], err))
			return -1;
	return 0;
}

static int gate_field(struct cc_scenario *sc, json_t *root, struct cc_err *err)
{
	json_t *v = json_object_get(root, "gate");
	if (!v)
		return 0;
	const char *g = json_string_value(v);
	sc->has_gate = true;
	if (g && !strcmp(g, "all"))
		sc->gate = CC_GATE_ALL;
	else if (g && !strcmp(g, "vm"))
		sc->gate = CC_GATE_PER_VM;
	else if (g && !strcmp(g, "any"))
		sc->gate = CC_GATE_ANY;
	else if (g && !strcmp(g, "none"))
		sc->gate = CC_GATE_NONE;
	else
		return cc_err_set(err, "scenario: gate: \"all\", \"vm\", "
				       "\"any\" or \"none\"");
	return 0;
}

/* A file name, or the schedule itself (checked now when the cluster
 * size is known, else by the run). */
static int schedule_field(struct cc_scenario *sc, json_t *root, const char *dir,
			  struct cc_err *err)
{
	json_t *v = json_object_get(root, "schedule");
	if (!v)
		return 0;
	if (json_is_string(v))
		return string_field(root, "schedule", "", dir,
				    &sc->schedule_path, err);
	if (!json_is_object(v) && !json_is_array(v))
		return cc_err_set(err, "scenario: schedule: a file name or a "
				       "schedule (docs/FAULTS.md)");
	sc->schedule_json = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	if (!sc->schedule_json)
		return cc_err_set(err, "out of memory");
	if (!sc->nodes)
		return 0;
	struct cc_schedule s = {0};
	struct cc_err e;
	int rc = cc_schedule_parse(&s, sc->schedule_json,
				   strlen(sc->schedule_json), sc->nodes, &e);
	cc_schedule_free(&s);
	return rc ? cc_err_set(err, "scenario: schedule: %s", e.msg) : 0;
}

int cc_scenario_parse(struct cc_scenario *sc, const char *text, size_t len,
		      const char *dir, struct cc_err *err)
{
	memset(sc, 0, sizeof(*sc));
	if (len > SCENARIO_MAX)
		return cc_err_set(err, "scenario: over %u bytes", SCENARIO_MAX);
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return cc_err_set(err, "scenario: line %d: %s", je.line,
				  je.text);
	static const char *const keys[] = {
		"version",   "nodes",	"program",  "args",  "image",
		"memory",    "disk",	"seed",	    "ticks", "random_faults",
		"gate",	     "threads", "schedule", "env",   "cwd",
		"data_disk", NULL};
	json_t *ver = json_object_get(root, "version");
	uint64_t ppm = 0, threads = 0;
	int rc = 0;
	if (!json_is_object(root))
		rc = cc_err_set(err, "scenario: must be a JSON object");
	else if (only(root, "top level", keys, err))
		rc = -1;
	else if (!json_is_integer(ver) ||
		 json_integer_value(ver) != CC_SCENARIO_VERSION)
		rc = cc_err_set(err,
				"scenario: version: must be %d (this build "
				"reads version %d)",
				CC_SCENARIO_VERSION, CC_SCENARIO_VERSION);
	else if (json_object_get(root, "nodes") &&
		 nodes_field(sc, root, dir, err))
		rc = -1;
	else if (program(root, "", &sc->dflt, err) ||
		 string_field(root, "image", "", dir, &sc->dflt.image, err) ||
		 mem_field(root, "", &sc->dflt.mem, err) ||
		 env_field(root, "", &sc->dflt, err) ||
		 cwd_field(root, "", &sc->dflt, err) ||
		 string_field(root, "disk", "", dir, &sc->disk, err) ||
		 data_disk_field(sc, root, dir, err) ||
		 uint_field(root, "seed", "", UINT64_MAX >> 1, &sc->has_seed,
			    &sc->seed, err) ||
		 uint_field(root, "ticks", "", UINT64_MAX / 1000000,
			    &sc->has_ticks, &sc->ticks, err) ||
		 uint_field(root, "random_faults", "", 1000000, &sc->has_random,
			    &ppm, err) ||
		 uint_field(root, "threads", "", 16, &sc->has_threads, &threads,
			    err) ||
		 gate_field(sc, root, err) ||
		 schedule_field(sc, root, dir, err))
		rc = -1;
	else if (sc->disk && (sc->data_disk || sc->data_disk_bytes))
		rc = cc_err_set(err,
				"scenario: data_disk: a node has one disk: "
				"give \"disk\" or \"data_disk\", not both");
	else if (sc->has_ticks && !sc->ticks)
		rc = cc_err_set(err, "scenario: ticks: at least 1");
	else if (sc->has_threads && !threads)
		rc = cc_err_set(err, "scenario: threads: 1 to 16");
	sc->random_ppm = (uint32_t)ppm;
	sc->threads = (unsigned)threads;
	json_decref(root);
	if (rc)
		cc_scenario_free(sc);
	return rc;
}

int cc_scenario_load(struct cc_scenario *sc, const char *path,
		     struct cc_err *err)
{
	char *text, dir[4096];
	size_t n;
	memset(sc, 0, sizeof(*sc));
	if (cc_fields_read(path, "scenario", SCENARIO_MAX, &text, &n, dir,
			   sizeof(dir), err))
		return -1;
	int rc = cc_scenario_parse(sc, text, n, dir, err);
	free(text);
	return rc;
}

static void node_free(struct cc_scenario_node *n)
{
	for (unsigned k = 0; k < n->argc; k++)
		free(n->argv[k]);
	for (unsigned k = 0; k < n->nenv; k++)
		free(n->env[k]);
	free(n->cwd);
	free(n->image);
	memset(n, 0, sizeof(*n));
}

void cc_scenario_free(struct cc_scenario *sc)
{
	node_free(&sc->dflt);
	for (unsigned i = 0; i < CC_SCENARIO_NODES; i++)
		node_free(&sc->node[i]);
	free(sc->disk);
	free(sc->data_disk);
	free(sc->schedule_path);
	free(sc->schedule_json);
	memset(sc, 0, sizeof(*sc));
}

/* One template into out (cap bytes). */
static int expand(const char *t, unsigned i, unsigned n, char *out, size_t cap,
		  struct cc_err *err)
{
	size_t o = 0;
	for (const char *p = t; *p;) {
		char piece[16 * 16] = "";
		const char *next = p + 1;
		if (!strncmp(p, "{node}", 6)) {
			snprintf(piece, sizeof(piece), "%u", i);
			next = p + 6;
		} else if (!strncmp(p, "{ip}", 4)) {
			snprintf(piece, sizeof(piece), "10.0.0.%u", i + 1);
			next = p + 4;
		} else if (!strncmp(p, "{n}", 3)) {
			snprintf(piece, sizeof(piece), "%u", n);
			next = p + 3;
		} else if (!strncmp(p, "{peers}", 7)) {
			size_t k = 0;
			for (unsigned j = 0; j < n; j++)
				if (j != i)
					k += (size_t)snprintf(
						piece + k, sizeof(piece) - k,
						"%s10.0.0.%u", k ? "," : "",
						j + 1);
			next = p + 7;
		} else {
			piece[0] = *p;
			piece[1] = 0;
		}
		size_t len = strlen(piece);
		if (o + len >= cap)
			return cc_err_set(err,
					  "scenario: node %u: an argument "
					  "longer than %zu bytes once expanded",
					  i, cap - 1);
		memcpy(out + o, piece, len);
		o += len;
		p = next;
	}
	out[o] = 0;
	return 0;
}

int cc_scenario_argv(const struct cc_scenario *sc, unsigned i, unsigned n,
		     char *out[CC_SCENARIO_ARGS_MAX + 1], struct cc_err *err)
{
	const struct cc_scenario_node *src =
		i < CC_SCENARIO_NODES && sc->node[i].argc ? &sc->node[i]
							  : &sc->dflt;
	memset(out, 0, sizeof(char *) * (CC_SCENARIO_ARGS_MAX + 1));
	err->msg[0] = 0;
	for (unsigned k = 0; k < src->argc; k++) {
		char buf[CC_SCENARIO_ARG_MAX * 2];
		if (expand(src->argv[k], i, n, buf, sizeof(buf), err) ||
		    !(out[k] = strdup(buf))) {
			cc_scenario_argv_free(out);
			return err->msg[0] ? -1
					   : cc_err_set(err, "out of memory");
		}
	}
	return 0;
}

void cc_scenario_argv_free(char *argv[CC_SCENARIO_ARGS_MAX + 1])
{
	for (unsigned k = 0; k <= CC_SCENARIO_ARGS_MAX; k++) {
		free(argv[k]);
		argv[k] = NULL;
	}
}

const char *cc_scenario_image(const struct cc_scenario *sc, unsigned i)
{
	if (i < CC_SCENARIO_NODES && sc->node[i].image)
		return sc->node[i].image;
	return sc->dflt.image;
}

uint64_t cc_scenario_mem(const struct cc_scenario *sc, unsigned i)
{
	if (i < CC_SCENARIO_NODES && sc->node[i].mem)
		return sc->node[i].mem;
	return sc->dflt.mem;
}

/* Whether entry a names what b does ("NAME=..."). */
static bool same_name(const char *a, const char *b)
{
	size_t n = strcspn(a, "=");
	return !strncmp(a, b, n + 1);
}

int cc_scenario_env(const struct cc_scenario *sc, unsigned i, unsigned n,
		    char *out[CC_SCENARIO_ARGS_MAX + 1], struct cc_err *err)
{
	const struct cc_scenario_node *nd =
		i < CC_SCENARIO_NODES ? &sc->node[i] : NULL;
	const char *list[2 * CC_SCENARIO_ENV_MAX];
	unsigned k = 0;
	for (unsigned a = 0; a < sc->dflt.nenv; a++) {
		bool overridden = false;
		for (unsigned b = 0; nd && b < nd->nenv && !overridden; b++)
			overridden = same_name(nd->env[b], sc->dflt.env[a]);
		if (!overridden)
			list[k++] = sc->dflt.env[a];
	}
	for (unsigned b = 0; nd && b < nd->nenv; b++)
		list[k++] = nd->env[b];
	memset(out, 0, sizeof(char *) * (CC_SCENARIO_ARGS_MAX + 1));
	err->msg[0] = 0;
	if (k > CC_SCENARIO_ARGS_MAX)
		return cc_err_set(err,
				  "scenario: node %u: more than %d "
				  "environment entries",
				  i, CC_SCENARIO_ARGS_MAX);
	for (unsigned j = 0; j < k; j++) {
		char buf[CC_SCENARIO_ARG_MAX * 2];
		if (expand(list[j], i, n, buf, sizeof(buf), err) ||
		    !(out[j] = strdup(buf))) {
			cc_scenario_argv_free(out);
			return err->msg[0] ? -1
					   : cc_err_set(err, "out of memory");
		}
	}
	return 0;
}

const char *cc_scenario_cwd(const struct cc_scenario *sc, unsigned i)
{
	if (i < CC_SCENARIO_NODES && sc->node[i].cwd)
		return sc->node[i].cwd;
	return sc->dflt.cwd;
}
