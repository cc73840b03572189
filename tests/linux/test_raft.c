/*
 * The Raft target in VMs (guest/programs/raft/, examples/raft/): each
 * seeded bug's schedule breaks the property it targets, and the correct
 * node under the same schedule breaks none; no bug shows without faults;
 * the goal schedule reaches every `sometimes`; runs repeat exactly, with
 * the watchdog silent.  Each run is `chaoscontrol run FILE --json`.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define EXAMPLES CC_BUILD_DIR "/../examples/raft"

TestSuite(raft_vm, .timeout = 3600);

struct run {
	int rc;
	json_t *report;
	char out[1 << 16];
	char console[1 << 20];
};

static struct run *run(const char *fmt, ...)
{
	struct run *r = calloc(1, sizeof(*r));
	cr_assert(r);
	char args[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	r->rc = cc_test_run_json(r->out, sizeof(r->out), r->console,
				 sizeof(r->console), args);
	json_error_t e;
	r->report = json_loads(r->out, 0, &e);
	cr_assert(r->report, "no JSON report (exit %d): %s\n%s", r->rc, e.text,
		  r->console);
	return r;
}

static void free_run(struct run *r)
{
	json_decref(r->report);
	free(r);
}

/* A field of the property whose message starts with `prefix`. */
static json_int_t field(struct run *r, const char *prefix, const char *name)
{
	json_t *ps = json_object_get(json_object_get(r->report, "properties"),
				     "properties");
	size_t i;
	json_t *p;
	json_array_foreach(ps, i, p)
	{
		const char *m =
			json_string_value(json_object_get(p, "message"));
		if (m && !strncmp(m, prefix, strlen(prefix)))
			return json_integer_value(json_object_get(p, name));
	}
	cr_assert_fail("no property \"%s\" in\n%s", prefix, r->out);
	return 0;
}

static json_int_t failures(struct run *r, const char *prefix)
{
	return field(r, prefix, "failures");
}

static const char *const safety[] = {
	"Election Safety",
	"Log Matching",
	"Leader Completeness",
	"State Machine Safety",
	"an acknowledged write is read back",
	"acknowledged writes keep their order",
};

/* No safety property failed, and the watchdog never fired. */
static void assert_safe(struct run *r, const char *what)
{
	for (size_t i = 0; i < sizeof(safety) / sizeof(*safety); i++)
		cr_assert_eq(failures(r, safety[i]), 0, "%s broke %s:\n%s\n%s",
			     what, safety[i], r->out, r->console);
	json_t *vms = json_object_get(r->report, "vm"), *v;
	size_t i;
	json_array_foreach(vms, i, v) cr_assert_eq(
		json_integer_value(json_object_get(v, "watchdog_fires")), 0,
		"%s: the watchdog fired on VM %zu", what, i);
}

static void bug_breaks(const char *bug, const char *property)
{
	if (getenv("CC_TEST_NESTED") && strcmp(bug, "fig8_commit"))
		cr_skip_test(
			"nested TCG runs one bug's schedule (fig8_commit)");
	struct run *bad = run(EXAMPLES "/%s.json", bug);
	cr_assert_eq(bad->rc, 1, "%s", bad->out);
	cr_assert_gt(failures(bad, property), 0, "%s did not break %s:\n%s\n%s",
		     bug, property, bad->out, bad->console);
	json_t *vms = json_object_get(bad->report, "vm");
	for (size_t i = 0; i < json_array_size(vms); i++)
		cr_assert_eq(json_integer_value(json_object_get(
				     json_array_get(vms, i), "watchdog_fires")),
			     0);
	struct run *good = run(EXAMPLES "/%s.json -- /bin/raft 3", bug);
	assert_safe(good, "the correct node");
	free_run(bad);
	free_run(good);
}

Test(raft_vm, double_vote_breaks_election_safety)
{
	bug_breaks("double_vote", "Election Safety");
}

Test(raft_vm, skip_truncate_breaks_log_matching)
{
	bug_breaks("skip_truncate", "Log Matching");
}

Test(raft_vm, accept_stale_term_breaks_state_machine_safety)
{
	bug_breaks("accept_stale_term", "State Machine Safety");
}

Test(raft_vm, leader_no_stepdown_breaks_election_safety)
{
	bug_breaks("leader_no_stepdown", "Election Safety");
}

Test(raft_vm, premature_commit_breaks_state_machine_safety)
{
	bug_breaks("premature_commit", "State Machine Safety");
}

Test(raft_vm, fig8_commit_breaks_state_machine_safety_and_loses_a_write)
{
	bug_breaks("fig8_commit", "State Machine Safety");
	if (getenv("CC_TEST_NESTED"))
		return;
	/* The committed-then-overwritten entry was acknowledged. */
	struct run *r = run(EXAMPLES "/fig8_commit.json");
	cr_assert_gt(failures(r, "an acknowledged write is read back"), 0, "%s",
		     r->console);
	free_run(r);
}

/* Every bug variant, fault-free, on two seeds of its own (twelve in
 * all): nothing breaks. */
Test(raft_vm, no_bug_shows_without_faults)
{
	if (getenv("CC_TEST_NESTED"))
		cr_skip_test("the PVM tier runs the fault-free variants");
	static const char *const bugs[] = {
		"double_vote",	      "skip_truncate", "accept_stale_term",
		"leader_no_stepdown", "fig8_commit",   "premature_commit",
	};
	const char *none = CC_BUILD_DIR "/tests/raft-no-faults.json";
	FILE *f = fopen(none, "w");
	cr_assert(f);
	fputs("{\"faults\": []}\n", f);
	fclose(f);
	size_t nbugs = sizeof(bugs) / sizeof(*bugs);
	for (size_t i = 0; i < 2 * nbugs; i++) {
		const char *bug = bugs[i % nbugs];
		struct run *r =
			run(EXAMPLES "/raft.json --schedule %s "
				     "--ticks 1000 --seed %zu -- /bin/raft "
				     "3 --bug %s",
			    none, i + 1, bug);
		assert_safe(r, bug);
		/* ... and the workload ran: writes acknowledged, read back */
		cr_assert_gt(field(r, "an acknowledged write is read back",
				   "passes"),
			     3, "%s: %s", bug, r->out);
		free_run(r);
	}
}

/* The shipped scenario: the correct cluster under a partition, a heal
 * and a restart reaches every goal, breaks nothing, and runs the same
 * twice. */
Test(raft_vm, the_goal_scenario_reaches_every_goal_and_repeats)
{
	if (getenv("CC_TEST_NESTED"))
		cr_skip_test(
			"nested TCG runs one bug's schedule (fig8_commit)");
	struct run *a = run(EXAMPLES "/raft.json");
	cr_assert_eq(a->rc, 0, "%s\n%s", a->out, a->console);
	assert_safe(a, "raft.json");
	cr_assert_eq(
		json_integer_value(json_object_get(
			json_object_get(a->report, "properties"), "failed")),
		0, "%s", a->out);
	cr_assert(
		strstr(a->console, "entries on disk") &&
			strstr(a->console, "a restarted node applies entries"),
		"%s", a->console);
	struct run *b = run(EXAMPLES "/raft.json");
	cr_assert_str_eq(
		json_string_value(json_object_get(a->report, "trace_hash")),
		json_string_value(json_object_get(b->report, "trace_hash")));
	free_run(a);
	free_run(b);
}

/* The short version of bench/raft_soak.sh: random faults of every kind
 * on the correct node, three seeds, nothing broken. */
Test(raft_vm, random_faults_break_nothing_on_the_correct_node)
{
	if (getenv("CC_TEST_NESTED"))
		cr_skip_test("the PVM tier runs the random-fault seeds");
	const char *none = CC_BUILD_DIR "/tests/raft-no-faults-2.json";
	FILE *f = fopen(none, "w");
	cr_assert(f);
	fputs("{\"faults\": []}\n", f);
	fclose(f);
	size_t faults = 0;
	for (int seed = 1; seed <= 3; seed++) {
		struct run *r = run(EXAMPLES "/raft.json --schedule %s "
					     "--random-faults 3000 --seed %d",
				    none, seed);
		faults += json_array_size(json_object_get(r->report, "faults"));
		assert_safe(r, "random faults");
		free_run(r);
	}
	cr_assert_geq(faults, 10,
		      "%zu faults in three runs: too few to mean much", faults);
}
