/*
 * The explorer's output directory, laid out as AFL++'s so people and
 * scripts know it (docs/EXPLORE.md):
 *
 *   queue/id:000007,src:000002,time:1412,execs:31,op:shift,+cov
 *            a corpus entry: its path as a reproducer (time: the virtual
 *            ms its state is at; execs: branches run when it was found)
 *   bugs/000-always-<slug>/reproducer.json, summary.txt
 *            one directory per unique bug, verified
 *   fuzzer_stats   key : value (AFL++'s names where they mean the same)
 *   plot_data      AFL++'s columns, ours appended
 *   report.json    the ExplorationReport
 *
 * Every file is written to a temporary name and renamed.  Timing fields
 * (wall clock) are in fuzzer_stats, plot_data and report.json's
 * "timing" only, so two campaigns with one seed and branch budget have
 * the same queue/, bugs/ and report.json but for "timing".
 */
#ifndef CC_EXPLORE_OUTPUT_H
#define CC_EXPLORE_OUTPUT_H

#include <jansson.h>

#include "explorer.h"

int cc_out_init(struct cc_explorer *x, struct cc_err *err);
/* A new entry's queue/ file; cov, goals, combos: what it brought. */
int cc_out_entry(struct cc_explorer *x, const struct cc_entry *e, bool cov,
		 uint64_t goals, uint64_t combos,
		 const struct cc_branch_result *res, struct cc_err *err);
/* The fault/status combinations in c, by name ("crash/killed"). */
json_t *cc_combos_json(const struct cc_combos *c);
/* c from such a list; -1 with err naming a bad one. */
int cc_combos_parse(json_t *a, struct cc_combos *c, struct cc_err *err);
/* again: the verifying run (its console tails go in summary.txt). */
int cc_out_bug(struct cc_explorer *x, struct cc_found *f,
	       const struct cc_branch_result *again, struct cc_err *err);
/* fuzzer_stats, plot_data and report.json after each round. */
int cc_out_round(struct cc_explorer *x, struct cc_err *err);
/* The ExplorationReport; timing adds the wall-clock fields. */
json_t *cc_explore_report(const struct cc_explorer *x, bool timing);

#endif
