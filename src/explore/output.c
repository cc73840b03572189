#include "output.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/file.h"

#define REPORT_FORMAT  "chaoscontrol-exploration-report"
#define REPORT_VERSION 1

static int mkdir_p(const char *path, struct cc_err *err)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return cc_err_errno(err, "%s", path);
	return 0;
}

static int join(char *buf, size_t len, struct cc_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		return cc_err_set(err, "output path too long");
	return 0;
}

static int write_text(const char *path, const char *text, struct cc_err *err)
{
	return cc_write_file_atomic(path, text, strlen(text), err);
}

int cc_out_init(struct cc_explorer *x, struct cc_err *err)
{
	char p[4096];
	if (mkdir_p(x->cfg.out, err) ||
	    join(p, sizeof(p), err, "%s/queue", x->cfg.out) ||
	    mkdir_p(p, err) || join(p, sizeof(p), err, "%s/bugs", x->cfg.out) ||
	    mkdir_p(p, err))
		return -1;
	return 0;
}

int cc_out_entry(struct cc_explorer *x, const struct cc_entry *e, bool cov,
		 uint64_t goals, uint64_t combos,
		 const struct cc_branch_result *res, struct cc_err *err)
{
	char p[4096];
	if (join(p, sizeof(p), err,
		 "%s/queue/"
		 "id:%06llu,src:%06llu,time:%llu,execs:%llu,op:%s%s%s%s",
		 x->cfg.out, (unsigned long long)e->id,
		 (unsigned long long)e->parent, (unsigned long long)e->tick,
		 (unsigned long long)x->branches, cc_mut_name(e->op),
		 cov ? ",+cov" : "", goals ? ",+goal" : "",
		 combos ? ",+combo" : ""))
		return -1;
	struct cc_repro r = x->cfg.base;
	r.path = e->path;
	r.until = e->tick;
	r.stall_ticks = x->cfg.stall_ticks;
	r.stop_at_bug = true;
	r.has_bug = false;
	r.trace_hash = res->trace_hash;
	return cc_repro_save(&r, p, err);
}

/* A directory name from a bug: its number, kind and a slug of what it
 * is (an SDK property's id is a hash; its message says what it is). */
static void bug_dir(const struct cc_found *f, size_t k, char *out, size_t len)
{
	char slug[40];
	size_t n = 0;
	for (const char *c = f->sig.what; *c && n < sizeof(slug) - 1; c++)
		if (isalnum((unsigned char)*c))
			slug[n++] = (char)tolower((unsigned char)*c);
		else if (n && slug[n - 1] != '-')
			slug[n++] = '-';
	while (n && slug[n - 1] == '-')
		n--;
	slug[n] = 0;
	snprintf(out, len, "%03zu-%s-%s", k, cc_bug_kind_name(f->sig.kind),
		 slug);
}

static char *summary(const struct cc_explorer *x, const struct cc_found *f,
		     const struct cc_branch_result *again)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	if (!m)
		return NULL;
	const struct cc_repro *r = &f->repro;
	fprintf(m, "bug: %s: %s\n", cc_bug_kind_name(f->sig.kind), f->sig.what);
	fprintf(m, "id: %s\n", f->sig.id);
	fprintf(m, "scenario: %s (seed 0x%llx)\n", r->scenario,
		(unsigned long long)r->seed);
	fprintf(m,
		"found: branch %llu, from corpus entry %llu; seen by "
		"tick %llu; verified from the root\n",
		(unsigned long long)f->branch, (unsigned long long)f->entry,
		(unsigned long long)f->sig.tick);
	fprintf(m, "trace-hash: %016llx\n", (unsigned long long)r->trace_hash);
	/* No output path here: two campaigns alike write alike files. */
	fprintf(m, "reproduce (in this directory): chaoscontrol run "
		   "--reproduce reproducer.json\n");
	fprintf(m, "\npath (%zu forks from the root at tick %llu):\n",
		r->path.n, (unsigned long long)x->root_tick);
	for (size_t k = 0; k < r->path.n; k++) {
		const struct cc_fork *fk = &r->path.fork[k];
		fprintf(m, "  tick %llu%s\n", (unsigned long long)fk->at,
			fk->reseed ? ": new seed" : "");
		for (size_t j = 0; j < fk->nfaults; j++) {
			json_t *o = cc_fault_json(&fk->fault[j]);
			char *s = json_dumps(o, JSON_COMPACT);
			fprintf(m, "    %s\n", s ? s : "?");
			free(s);
			json_decref(o);
		}
	}
	for (unsigned i = 0; i < x->s->n; i++) {
		unsigned n = again->ntail[i];
		unsigned from = n > CC_BRANCH_TAIL ? n - CC_BRANCH_TAIL : 0;
		fprintf(m, "\nvm%u: last console lines:\n", i);
		for (unsigned k = from; k < n; k++)
			fprintf(m, "  %s\n",
				again->tail[i][k % CC_BRANCH_TAIL]);
	}
	fclose(m);
	return text;
}

int cc_out_bug(struct cc_explorer *x, struct cc_found *f,
	       const struct cc_branch_result *again, struct cc_err *err)
{
	char dir[4096], p[4096];
	bug_dir(f, x->nbugs - 1, f->dir, sizeof(f->dir));
	if (join(dir, sizeof(dir), err, "%s/bugs/%s", x->cfg.out, f->dir) ||
	    mkdir_p(dir, err) ||
	    join(p, sizeof(p), err, "%s/reproducer.json", dir) ||
	    cc_repro_save(&f->repro, p, err) ||
	    join(p, sizeof(p), err, "%s/summary.txt", dir))
		return -1;
	char *text = summary(x, f, again);
	if (!text)
		return cc_err_set(err, "out of memory");
	int rc = write_text(p, text, err);
	free(text);
	return rc;
}

/* --- the report
 * ----------------------------------------------------------------- */

static json_t *hexs(uint64_t v)
{
	char b[24];
	snprintf(b, sizeof(b), "%016llx", (unsigned long long)v);
	return json_string(b);
}

static json_t *entries_json(const struct cc_explorer *x)
{
	json_t *a = json_array();
	for (size_t k = 0; k < x->n; k++) {
		const struct cc_entry *e = &x->e[k];
		json_array_append_new(
			a,
			json_pack("{s:I,s:I,s:I,s:I,s:s,s:I,s:I,s:I,s:I,s:I}",
				  "id", (json_int_t)e->id, "parent",
				  (json_int_t)e->parent, "tick",
				  (json_int_t)e->tick, "depth",
				  (json_int_t)e->path.n, "op",
				  k ? cc_mut_name(e->op) : "root", "new_edges",
				  (json_int_t)e->new_edges, "new_goals",
				  (json_int_t)e->new_goals, "new_combos",
				  (json_int_t)e->new_combos, "branches_from",
				  (json_int_t)e->picked, "found_at",
				  (json_int_t)e->found_at));
	}
	return a;
}

static json_t *bugs_json(const struct cc_explorer *x)
{
	json_t *a = json_array();
	for (size_t k = 0; k < x->nbugs; k++) {
		const struct cc_found *f = &x->bug[k];
		json_array_append_new(
			a, json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:o}",
				     "dir", f->dir, "kind",
				     cc_bug_kind_name(f->sig.kind), "id",
				     f->sig.id, "what", f->sig.what, "branch",
				     (json_int_t)f->branch, "entry",
				     (json_int_t)f->entry, "tick",
				     (json_int_t)f->sig.tick, "depth",
				     (json_int_t)f->repro.path.n, "trace_hash",
				     hexs(f->repro.trace_hash)));
	}
	return a;
}

json_t *cc_combos_json(const struct cc_combos *c)
{
	json_t *a = json_array();
	char name[96];
	for (int k = 0; k < CC_FAULT__COUNT; k++)
		for (int st = 0; st < CC_COMBO_STATUSES; st++)
			if (c->bits[k] >> st & 1) {
				snprintf(name, sizeof(name), "%s/%s",
					 cc_fault_name((enum cc_fault_kind)k),
					 cc_vm_status_name(
						 (enum cc_vm_status)st));
				json_array_append_new(a, json_string(name));
			}
	return a;
}

static int combo_of(const char *name, int *kind, int *status)
{
	const char *slash = name ? strchr(name, '/') : NULL;
	char k[64];
	if (!slash || (size_t)(slash - name) >= sizeof(k))
		return -1;
	memcpy(k, name, (size_t)(slash - name));
	k[slash - name] = 0;
	*kind = (int)cc_fault_kind_of(k);
	for (*status = 0; *status < CC_COMBO_STATUSES; (*status)++)
		if (!strcmp(slash + 1,
			    cc_vm_status_name((enum cc_vm_status) * status)))
			break;
	return *kind < CC_FAULT__COUNT && *status < CC_COMBO_STATUSES ? 0 : -1;
}

int cc_combos_parse(json_t *a, struct cc_combos *c, struct cc_err *err)
{
	memset(c, 0, sizeof(*c));
	if (!json_is_array(a))
		return cc_err_set(err, "\"combinations\" must be a list");
	for (size_t k = 0; k < json_array_size(a); k++) {
		const char *name = json_string_value(json_array_get(a, k));
		int kind, st;
		if (combo_of(name, &kind, &st))
			return cc_err_set(err,
					  "\"combinations\": \"%s\" is not "
					  "KIND/STATUS",
					  name ? name : "(not a string)");
		c->bits[kind] |= (uint8_t)(1u << st);
	}
	return 0;
}

static unsigned ncombos(const struct cc_combos *c)
{
	struct cc_combos none = {{0}};
	return cc_combos_new(c, &none);
}

static json_t *goals_json(const struct cc_explorer *x)
{
	json_t *a = json_array();
	for (size_t k = 0; k < x->ngoals; k++)
		json_array_append_new(a, json_string(x->goals[k]));
	return a;
}

static double restore_share(const struct cc_explorer *x)
{
	double all = x->restore_s + x->run_s;
	return all > 0 ? x->restore_s / all : 0;
}

json_t *cc_explore_report(const struct cc_explorer *x, bool timing)
{
	const struct cc_net_stats *n = &x->net;
	json_t *o = json_pack(
		"{s:s,s:i,s:s,s:o,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
		"s:I,s:o,s:o,s:o}",
		"format", REPORT_FORMAT, "version", REPORT_VERSION, "scenario",
		x->cfg.base.scenario, "campaign_seed", hexs(x->cfg.seed),
		"mode", x->cfg.random ? "random" : "guided", "root_tick",
		(json_int_t)x->root_tick, "horizon", (json_int_t)x->cfg.horizon,
		"rounds", (json_int_t)x->rounds, "branches",
		(json_int_t)x->branches, "ticks_run", (json_int_t)x->ticks_run,
		"edges", (json_int_t)x->cov.edges, "corpus", (json_int_t)x->n,
		"max_depth", (json_int_t)x->max_depth, "watchdog_branches",
		(json_int_t)x->watchdog_branches, "unverified",
		(json_int_t)x->unverified, "rebuild_divergences",
		(json_int_t)x->divergences, "goals", goals_json(x), "entries",
		entries_json(x), "bugs", bugs_json(x));
	json_object_set_new(o, "unstable_branches",
			    json_integer((json_int_t)x->unstable_branches));
	json_object_set_new(o, "combinations", cc_combos_json(&x->combos));
	json_object_set_new(o, "input_tree", json_boolean(x->cfg.choices));
	json_object_set_new(o, "combos_novelty", json_boolean(x->cfg.combos));
	json_object_set_new(o, "network",
			    json_pack("{s:I,s:I,s:I,s:I}", "sent",
				      (json_int_t)n->sent, "delivered",
				      (json_int_t)n->delivered, "partitioned",
				      (json_int_t)n->partitioned, "lost",
				      (json_int_t)n->lost));
	if (timing) {
		double el = cc_explore_elapsed(x);
		json_t *found = json_array();
		for (size_t k = 0; k < x->nbugs; k++)
			json_array_append_new(found,
					      json_real(x->bug[k].found_s));
		json_object_set_new(
			o, "timing",
			json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:I,s:I,s:I,s:I}",
				  "elapsed_s", el, "branches_per_min",
				  el > 0 ? x->branches * 60.0 / el : 0.0,
				  "restore_s", x->restore_s, "run_s", x->run_s,
				  "verify_s", x->verify_s, "restore_share",
				  restore_share(x), "restores",
				  (json_int_t)x->restores, "rebuilds",
				  (json_int_t)x->rebuilds, "live_snapshots",
				  (json_int_t)(x->live_snaps + 1),
				  "snapshot_bytes", (json_int_t)x->snap_bytes));
		json_t *t = json_object_get(o, "timing");
		json_object_set_new(t, "bugs_found_s", found);
		json_object_set_new(
			t, "watchdog_retries",
			json_integer((json_int_t)x->watchdog_retries));
		json_object_set_new(t, "outvoted_runs",
				    json_integer((json_int_t)x->outvoted));
	}
	return o;
}

/* --- stats -------------------------------------------------------------------
 */

static char *stats_text(const struct cc_explorer *x)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	if (!m)
		return NULL;
	double el = cc_explore_elapsed(x);
#define KV(k, fmt, v) fprintf(m, "%-24s: " fmt "\n", k, v)
	KV("run_time", "%.0f", el);
	KV("fuzzer_pid", "%ld", (long)getpid());
	KV("execs_done", "%llu", (unsigned long long)x->branches);
	KV("execs_per_sec", "%.2f", el > 0 ? x->branches / el : 0.0);
	KV("corpus_count", "%zu", x->n);
	KV("corpus_found", "%zu", x->n - 1);
	KV("max_depth", "%llu", (unsigned long long)x->max_depth);
	KV("saved_crashes", "%zu", x->nbugs);
	KV("last_find", "%llu", (unsigned long long)x->last_find);
	KV("edges_found", "%llu", (unsigned long long)x->cov.edges);
	KV("total_edges", "%llu", (unsigned long long)CC_COVERAGE_SIZE);
	KV("bitmap_cvg", "%.2f%%", 100.0 * x->cov.edges / CC_COVERAGE_SIZE);
	KV("target_mode", "%s", x->cfg.random ? "random" : "guided");
	KV("rounds", "%llu", (unsigned long long)x->rounds);
	KV("goals_met", "%zu", x->ngoals);
	KV("combinations", "%u", ncombos(&x->combos));
	KV("ticks_run", "%llu", (unsigned long long)x->ticks_run);
	KV("watchdog_branches", "%llu",
	   (unsigned long long)x->watchdog_branches);
	KV("watchdog_retries", "%llu", (unsigned long long)x->watchdog_retries);
	KV("unverified_bugs", "%llu", (unsigned long long)x->unverified);
	KV("unstable_branches", "%llu",
	   (unsigned long long)x->unstable_branches);
	KV("outvoted_runs", "%llu", (unsigned long long)x->outvoted);
	KV("live_snapshots", "%zu", x->live_snaps + 1);
	KV("snapshot_bytes", "%llu", (unsigned long long)x->snap_bytes);
	KV("rebuilds", "%llu", (unsigned long long)x->rebuilds);
	KV("rebuild_divergences", "%llu", (unsigned long long)x->divergences);
	KV("restore_share", "%.3f", restore_share(x));
#undef KV
	fclose(m);
	return text;
}

static int plot_line(struct cc_explorer *x, struct cc_err *err)
{
	char line[512];
	double el = cc_explore_elapsed(x);
	int n = snprintf(line, sizeof(line),
			 "%s%.0f, 0, 0, %zu, 0, 0, %.2f%%, %zu, 0, %llu, "
			 "%.2f, %llu, %llu, %zu, %llu\n",
			 x->plot_len ? ""
				     : "# relative_time, cycles_done, "
				       "cur_item, corpus_count, pending_total, "
				       "pending_favs, map_size, saved_crashes, "
				       "saved_hangs, max_depth, execs_per_sec, "
				       "total_execs, edges_found, goals_met, "
				       "ticks_run\n",
			 el, x->n, 100.0 * x->cov.edges / CC_COVERAGE_SIZE,
			 x->nbugs, (unsigned long long)x->max_depth,
			 el > 0 ? x->branches / el : 0.0,
			 (unsigned long long)x->branches,
			 (unsigned long long)x->cov.edges, x->ngoals,
			 (unsigned long long)x->ticks_run);
	if (n < 0 || (size_t)n >= sizeof(line))
		return cc_err_set(err, "plot_data: line too long");
	if (x->plot_len + (size_t)n + 1 > x->plot_cap) {
		size_t cap = (x->plot_cap ? x->plot_cap * 2 : 4096) + (size_t)n;
		char *p = realloc(x->plot, cap);
		if (!p)
			return cc_err_set(err, "out of memory");
		x->plot = p;
		x->plot_cap = cap;
	}
	memcpy(x->plot + x->plot_len, line, (size_t)n + 1);
	x->plot_len += (size_t)n;
	return 0;
}

int cc_out_round(struct cc_explorer *x, struct cc_err *err)
{
	char p[4096];
	char *stats = stats_text(x);
	json_t *rep = cc_explore_report(x, true);
	char *report =
		rep ? json_dumps(rep, JSON_INDENT(2) | JSON_PRESERVE_ORDER)
		    : NULL;
	json_decref(rep);
	int rc = !stats || !report ? cc_err_set(err, "out of memory") : 0;
	if (!rc)
		rc = plot_line(x, err);
	if (!rc)
		rc = join(p, sizeof(p), err, "%s/fuzzer_stats", x->cfg.out) ||
		     write_text(p, stats, err) ||
		     join(p, sizeof(p), err, "%s/plot_data", x->cfg.out) ||
		     write_text(p, x->plot, err) ||
		     join(p, sizeof(p), err, "%s/report.json", x->cfg.out) ||
		     write_text(p, report, err);
	free(stats);
	free(report);
	return rc ? -1 : 0;
}
