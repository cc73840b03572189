/*
 * `chaoscontrol triage DIR|REPRODUCER...`: the bugs of explorer
 * campaigns and reproducer files grouped by property, and for each
 * group the smallest schedule that still breaks it (replay/triage.h),
 * written as a reproducer and a recording, with its timeline.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../base/file.h"
#include "../replay/recording.h"
#include "../replay/triage.h"
#include "cli.h"

static const char help[] =
	"usage: chaoscontrol triage [options] DIR|REPRODUCER...\n"
	"\n"
	"Groups the bugs of explorer campaigns (DIR/bugs/*/reproducer.json)\n"
	"and of reproducer files by the property they break (kind and id; a\n"
	"crash by its signature).  For each group it takes the reproducer\n"
	"with the fewest faults and choices and shrinks them by delta\n"
	"debugging, each candidate run on the cluster, to a 1-minimal set:\n"
	"removing any one of them makes the bug go away.  The result runs\n"
	"once more from the start, recorded; its timeline (faults, status\n"
	"changes, assertions) is printed.\n"
	"\n"
	"For each bug, OUT/NAME/ holds minimal.json (`run --reproduce`) and\n"
	"minimal.rec (`replay`); OUT/report.json has them all.\n"
	"\n"
	"  --out DIR            where (default: the first campaign's\n"
	"                       DIR/triage, or ./triage)\n"
	"  --max-runs N         cluster runs per bug for the search (default\n"
	"                       200; past it the result is smaller, not\n"
	"                       minimal)\n"
	"  --checkpoint-every K the recordings' checkpoint interval (ticks,\n"
	"                       default 100)\n"
	"  --json               print report.json on stdout\n"
	"\n"
	"exit status: 0 every bug shrunk and verified; 1 some bug did not\n"
	"reproduce; 2 usage; 3 set-up error.\n";

#define MAX_REPROS 256u

struct entry {
	char path[PATH_MAX];
	char name[256]; /* the bug's directory name, or the file's */
	struct cc_repro r;
	size_t items;
	int group; /* index of its group's first entry */
};

struct opts {
	const char *out;
	uint64_t max_runs, every;
	bool json;
};

/* People's lines: stdout, or stderr when stdout has the JSON. */
static FILE *human;
static struct entry entries[MAX_REPROS];
static size_t nentries;

static int add_file(const char *path, const char *name)
{
	if (nentries >= MAX_REPROS) {
		fprintf(stderr, "chaoscontrol: triage: more than %u bugs\n",
			MAX_REPROS);
		return -1;
	}
	struct entry *e = &entries[nentries];
	if (!realpath(path, e->path)) {
		fprintf(stderr, "chaoscontrol: triage: %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	snprintf(e->name, sizeof(e->name), "%s", name);
	struct cc_err err;
	if (cc_repro_load(&e->r, e->path, &err)) {
		fprintf(stderr, "chaoscontrol: triage: %s\n", err.msg);
		return -1;
	}
	if (!e->r.has_bug) {
		fprintf(stderr, "chaoscontrol: triage: %s names no bug\n",
			path);
		cc_repro_free(&e->r);
		return -1;
	}
	for (size_t k = 0; k < e->r.path.n; k++)
		e->items +=
			e->r.path.fork[k].nfaults + e->r.path.fork[k].nchoices;
	nentries++;
	return 0;
}

/* A campaign's bugs/, in name order. */
static int add_dir(const char *dir)
{
	char bugs[PATH_MAX];
	snprintf(bugs, sizeof(bugs), "%s/bugs", dir);
	struct dirent **list;
	int n = scandir(bugs, &list, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr,
			"chaoscontrol: triage: %s is no explorer campaign "
			"(%s: %s)\n",
			dir, bugs, strerror(errno));
		return -1;
	}
	int rc = 0;
	for (int k = 0; k < n; k++) {
		char p[PATH_MAX + 300];
		snprintf(p, sizeof(p), "%s/%s/reproducer.json", bugs,
			 list[k]->d_name);
		if (!rc && list[k]->d_name[0] != '.' && !access(p, R_OK))
			rc = add_file(p, list[k]->d_name);
		free(list[k]);
	}
	free(list);
	return rc;
}

static int collect(int argc, char **argv, const char **first_dir)
{
	for (int k = 0; k < argc; k++) {
		struct stat st;
		if (stat(argv[k], &st)) {
			fprintf(stderr, "chaoscontrol: triage: %s: %s\n",
				argv[k], strerror(errno));
			return -1;
		}
		if (S_ISDIR(st.st_mode)) {
			if (!*first_dir)
				*first_dir = argv[k];
			if (add_dir(argv[k]))
				return -1;
			continue;
		}
		const char *base = strrchr(argv[k], '/');
		char name[256];
		snprintf(name, sizeof(name), "%s", base ? base + 1 : argv[k]);
		char *dot = strstr(name, ".json");
		if (dot)
			*dot = 0;
		if (add_file(argv[k], name))
			return -1;
	}
	if (!nentries) {
		fprintf(stderr, "chaoscontrol: triage: no bugs to triage\n");
		return -1;
	}
	return 0;
}

/* Groups by (kind, id); a group's first entry stands for it until one
 * with fewer items comes. */
static size_t group(size_t *rep)
{
	size_t ngroups = 0;
	for (size_t k = 0; k < nentries; k++) {
		struct entry *e = &entries[k];
		size_t g = 0;
		for (; g < ngroups; g++) {
			struct entry *r = &entries[rep[g]];
			if (r->r.bug.kind == e->r.bug.kind &&
			    !strcmp(r->r.bug.id, e->r.bug.id))
				break;
		}
		if (g == ngroups)
			rep[ngroups++] = k;
		else if (e->items < entries[rep[g]].items)
			rep[g] = k;
		e->group = (int)g;
	}
	return ngroups;
}

/* --- one bug --------------------------------------------------------------
 */

struct job {
	const struct opts *o;
	struct entry *e;
	char dir[PATH_MAX + 300], min[PATH_MAX + 332], rec[PATH_MAX + 332];
	struct cc_recorder w;
	bool recording;
};

static void progress(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "%s\n", line);
}

static void record(void *ctx, const struct cc_obs_event *e)
{
	struct job *j = ctx;
	if (j->recording)
		cc_recorder_event(&j->w, e);
}

/* minimal.json: the reproducer with the shrunk path and its hash. */
static int save_minimal(struct job *j, const struct cc_triage_result *res,
			struct cc_err *err)
{
	struct cc_repro m = j->e->r;
	m.path = res->minimal;
	m.stop_at_bug = true;
	m.trace_hash = res->trace_hash;
	m.bug = res->bug;
	return cc_repro_save(&m, j->min, err);
}

static json_t *schedule_json(const struct cc_path *p)
{
	json_t *a = json_array();
	for (size_t k = 0; k < p->n; k++) {
		const struct cc_fork *f = &p->fork[k];
		for (size_t i = 0; i < f->nfaults; i++)
			json_array_append_new(a, cc_fault_json(&f->fault[i]));
		for (size_t i = 0; i < f->nchoices; i++)
			json_array_append_new(
				a, json_pack("{s:s,s:I,s:i,s:i,s:o}", "choice",
					     "random_choice", (json_int_t)f->at,
					     "vm", f->choice[i].vm, "offset",
					     f->choice[i].offset, "value",
					     cc_json_hex(f->choice[i].value)));
	}
	return a;
}

static json_t *timeline_json(const struct cc_triage_result *res)
{
	json_t *a = json_array();
	for (size_t k = 0; k < res->ntimeline; k++) {
		const struct cc_triage_event *t = &res->timeline[k];
		json_array_append_new(a, json_pack("{s:I,s:i,s:s,s:s}", "tick",
						   (json_int_t)t->tick, "vm",
						   t->vm, "type",
						   cc_event_type_name(t->type),
						   "text", t->text));
	}
	return a;
}

static void print_result(const struct job *j,
			 const struct cc_triage_result *res)
{
	fprintf(human,
		"  minimal: %zu of %zu faults, %zu of %zu choices (%zu "
		"answered 0), %s; %" PRIu64 " runs (%" PRIu64
		" answered from memory)\n",
		res->faults_after, res->faults_before, res->choices_after,
		res->choices_before, res->zeroed,
		res->st.minimal ? "1-minimal: each one removed alone, the bug "
				  "goes away"
				: "NOT minimal: the run budget ran out",
		res->runs, res->st.cached);
	for (size_t k = 0; k < res->minimal.n; k++) {
		const struct cc_fork *f = &res->minimal.fork[k];
		for (size_t i = 0; i < f->nfaults; i++) {
			char *s = json_dumps(cc_fault_json(&f->fault[i]),
					     JSON_COMPACT | JSON_SORT_KEYS);
			fprintf(human, "    %s\n", s ? s : "?");
			free(s);
		}
		for (size_t i = 0; i < f->nchoices; i++)
			fprintf(human,
				"    "
				"{\"choice\":\"random_choice\",\"at\":%" PRIu64
				",\"vm\":%u,\"offset\":%u,\"value\":%" PRIu64
				"}\n",
				f->at, f->choice[i].vm, f->choice[i].offset,
				f->choice[i].value);
	}
	fprintf(human, "  timeline (tick, VM):\n");
	for (size_t k = 0; k < res->ntimeline; k++) {
		const struct cc_triage_event *t = &res->timeline[k];
		char vm[16] = "-";
		if (t->vm >= 0)
			snprintf(vm, sizeof(vm), "%d", t->vm);
		fprintf(human, "    %6" PRIu64 " %3s  %-7s %s\n", t->tick, vm,
			cc_event_type_name(t->type), t->text);
	}
	fprintf(human,
		"  bug at tick %" PRIu64 ", trace-hash %016" PRIx64
		"\n  replay: chaoscontrol replay %s\n"
		"  rerun:  chaoscontrol run --reproduce %s\n",
		res->bug.tick, res->trace_hash, j->rec, j->min);
}

static int mkdir_p(const char *path)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			if (mkdir(p, 0755) && errno != EEXIST)
				return -1;
			*s = '/';
		}
	return mkdir(p, 0755) && errno != EEXIST ? -1 : 0;
}

/* The minimal reproducer on a cluster of its own, recorded: what a
 * fresh `run --reproduce minimal.json --record` would write. */
static int observe(struct job *j, const struct cc_triage_opts *to,
		   struct cc_triage_result *res, struct cc_err *err)
{
	char *argv[] = {"run", "--reproduce", j->min, "--quiet", NULL};
	static struct cc_repro m;
	if (cc_repro_load(&m, j->min, err))
		return -1;
	struct cc_cli_cluster *cl = NULL;
	struct cc_cli_cluster_info info;
	int rc = cc_cli_cluster_open(4, argv, &cl, &info)
			 ? cc_err_set(err, "the cluster did not open")
			 : 0;
	if (!rc && !(rc = cc_recorder_open(&j->w, j->rec, 3, argv + 1,
					   j->o->every, err)))
		j->recording = true;
	if (!rc)
		rc = cc_triage_observe(info.sim, &m, to, res, err);
	if (j->recording && !rc)
		rc = cc_recorder_commit(&j->w, res->ticks, res->trace_hash,
					err);
	else if (j->recording)
		cc_recorder_abandon(&j->w);
	j->recording = false;
	cc_repro_free(&m);
	cc_cli_cluster_close(cl);
	return rc;
}

/* One group: its representative shrunk on a cluster opened for it.
 * 0 done, 1 the bug did not reproduce, -1 set-up. */
static int triage_one(struct job *j, struct cc_triage_result *res,
		      struct cc_err *err)
{
	if (mkdir_p(j->dir))
		return cc_err_errno(err, "%s", j->dir);
	char *argv[] = {"run", "--reproduce", j->e->path, "--quiet", NULL};
	struct cc_cli_cluster *cl;
	struct cc_cli_cluster_info info;
	if (cc_cli_cluster_open(4, argv, &cl, &info))
		return cc_err_set(err, "the cluster did not open");
	struct cc_triage_opts to = {
		.max_runs = j->o->max_runs,
		.progress = progress,
		.on_event = record,
		.event_ctx = j,
		.checkpoint_every = j->o->every,
	};
	int rc = cc_triage_shrink(info.sim, &j->e->r, &to, res, err);
	cc_cli_cluster_close(cl);
	if (!rc)
		rc = save_minimal(j, res, err);
	if (!rc)
		rc = observe(j, &to, res, err);
	return rc;
}

static json_t *bug_json(const struct job *j, const struct cc_triage_result *res,
			int rc, const char *why)
{
	const struct entry *e = j->e;
	json_t *from = json_array();
	for (size_t k = 0; k < nentries; k++)
		if (entries[k].group == e->group)
			json_array_append_new(from,
					      json_string(entries[k].path));
	json_t *b = json_pack("{s:s,s:s,s:s,s:o,s:s}", "kind",
			      cc_bug_kind_name(e->r.bug.kind), "id",
			      e->r.bug.id, "what", e->r.bug.what, "reproducers",
			      from, "shrunk", e->path);
	if (rc) {
		json_object_set_new(b, "error", json_string(why));
		return b;
	}
	json_object_set_new(b, "before",
			    json_pack("{s:I,s:I}", "faults",
				      (json_int_t)res->faults_before, "choices",
				      (json_int_t)res->choices_before));
	json_object_set_new(b, "after",
			    json_pack("{s:I,s:I,s:I}", "faults",
				      (json_int_t)res->faults_after, "choices",
				      (json_int_t)res->choices_after, "zeroed",
				      (json_int_t)res->zeroed));
	json_object_set_new(b, "one_minimal", json_boolean(res->st.minimal));
	json_object_set_new(b, "runs", json_integer((json_int_t)res->runs));
	json_object_set_new(b, "cached",
			    json_integer((json_int_t)res->st.cached));
	json_object_set_new(b, "tick", json_integer((json_int_t)res->bug.tick));
	char hash[17];
	snprintf(hash, sizeof(hash), "%016" PRIx64, res->trace_hash);
	json_object_set_new(b, "trace_hash", json_string(hash));
	json_object_set_new(b, "schedule", schedule_json(&res->minimal));
	json_object_set_new(b, "timeline", timeline_json(res));
	json_object_set_new(b, "minimal", json_string(j->min));
	json_object_set_new(b, "recording", json_string(j->rec));
	return b;
}

static int write_report(const char *out, json_t *bugs, bool print)
{
	json_t *r = json_pack("{s:s,s:i,s:o}", "format",
			      "chaoscontrol-triage-report", "version", 1,
			      "bugs", bugs);
	char *text = json_dumps(r, JSON_INDENT(2));
	json_decref(r);
	if (!text)
		return -1;
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/report.json", out);
	struct cc_err e;
	size_t len = strlen(text);
	text[len] = '\n'; /* json_dumps leaves room for the NUL only */
	int rc = cc_write_file_atomic(path, text, len + 1, &e);
	text[len] = 0;
	if (rc)
		fprintf(stderr, "chaoscontrol: triage: %s\n", e.msg);
	else if (print)
		puts(text);
	free(text);
	return rc;
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
		{"out", required_argument, NULL, 'o'},
		{"max-runs", required_argument, NULL, 'm'},
		{"checkpoint-every", required_argument, NULL, 'k'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	*o = (struct opts){NULL, 200, CC_OBS_DEFAULT_EVERY, false};
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		uint64_t *v = c == 'm' ? &o->max_runs : &o->every;
		if (c == 'o')
			o->out = optarg;
		else if (c == 'j')
			o->json = true;
		else if (c == 'h') {
			fputs(help, stdout);
			return -1;
		} else if (c != 'm' && c != 'k')
			return CC_EXIT_USAGE;
		else if (cc_cli_parse_u64(optarg, 1000000, v)) {
			fprintf(stderr,
				"chaoscontrol: triage: --%s wants a number, "
				"not '%s'\n",
				c == 'm' ? "max-runs" : "checkpoint-every",
				optarg);
			return CC_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(help, stderr);
		return CC_EXIT_USAGE;
	}
	return 0;
}

int cc_cmd_triage(int argc, char **argv)
{
	struct opts o;
	int rc = parse(argc, argv, &o);
	if (rc)
		return rc < 0 ? CC_EXIT_OK : rc;
	human = o.json ? stderr : stdout;
	const char *first_dir = NULL;
	if (collect(argc - optind, argv + optind, &first_dir))
		return CC_EXIT_SETUP;
	char out[PATH_MAX];
	snprintf(out, sizeof(out), "%s%s",
		 o.out	     ? o.out
		 : first_dir ? first_dir
			     : ".",
		 o.out ? "" : "/triage");
	if (mkdir_p(out)) {
		fprintf(stderr, "chaoscontrol: triage: %s: %s\n", out,
			strerror(errno));
		return CC_EXIT_SETUP;
	}
	static size_t rep[MAX_REPROS];
	size_t ngroups = group(rep);
	fprintf(stderr, "triage: %zu reproducers, %zu bugs\n", nentries,
		ngroups);
	json_t *bugs = json_array();
	int worst = CC_EXIT_OK;
	for (size_t g = 0; g < ngroups; g++) {
		static struct job j;
		static struct cc_triage_result res;
		j = (struct job){.o = &o, .e = &entries[rep[g]]};
		snprintf(j.dir, sizeof(j.dir), "%s/%s", out, j.e->name);
		snprintf(j.min, sizeof(j.min), "%s/minimal.json", j.dir);
		snprintf(j.rec, sizeof(j.rec), "%s/minimal.rec", j.dir);
		fprintf(human, "bug %zu of %zu: %s \"%s\" (%s)\n", g + 1,
			ngroups, cc_bug_kind_name(j.e->r.bug.kind),
			j.e->r.bug.what, j.e->name);
		fflush(human);
		struct cc_err e;
		int r = triage_one(&j, &res, &e);
		if (r)
			fprintf(human, "  %s: %s\n",
				r > 0 ? "NOT reproduced" : "failed", e.msg);
		else
			print_result(&j, &res);
		fflush(human);
		json_array_append_new(bugs, bug_json(&j, &res, r, e.msg));
		cc_triage_result_free(&res);
		if (r < 0)
			worst = CC_EXIT_SETUP;
		else if (r > 0 && worst == CC_EXIT_OK)
			worst = CC_EXIT_GUEST_FAIL;
	}
	if (write_report(out, bugs, o.json))
		worst = CC_EXIT_SETUP;
	for (size_t k = 0; k < nentries; k++)
		cc_repro_free(&entries[k].r);
	return worst;
}
