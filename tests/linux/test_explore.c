/*
 * The Explorer on the Raft target (src/explore/, docs/EXPLORE.md): a
 * short campaign finds a seeded bug, its reproducer replays in a fresh
 * process to the same bug and trace hash, `triage` shrinks it to a
 * 1-minimal schedule that replays too, the campaign run again with
 * the same seed and budget - on two workers (two clusters, branches run
 * at once and merged in plan order) keeping only two snapshots, so most
 * states are rebuilt from the root, and again killed with -9 twice and
 * resumed - gives the same queue/, bugs/ and report (timing aside), and
 * the correct Raft under the same budget gives no report.  Each campaign
 * is `chaoscontrol explore SCENARIO`.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define EXAMPLES CC_BUILD_DIR "/../examples/raft"
#define CC	 CC_BUILD_DIR "/chaoscontrol"
#define OUT	 CC_BUILD_DIR "/tests/explore"

/* The campaign CI runs: the bug its seed finds in a few dozen branches
 * (bench/bughunt.sh measures every bug over many seeds). */
#define BUG	 "leader_no_stepdown"
#define SEED	 "1"
#define BRANCHES "24"

TestSuite(explore, .timeout = 3600);

static char out[1 << 16];

/* One campaign at a time (flock): two at once on nested TCG have made
 * one of them diverge (docs/DETERMINISM.md, "Nested-TCG findings"). */
static int explore(const char *dir, const char *scenario, const char *extra)
{
	return cc_test_sh(out, sizeof(out),
			  "mkdir -p " OUT " && rm -rf %s && flock " OUT
			  "/.lock %s explore %s --seed " SEED
			  " --branches " BRANCHES " --out %s %s --json "
			  "2>%s.log",
			  dir, CC, scenario, dir, extra, dir);
}

static json_t *report(const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/report.json", dir);
	json_error_t e;
	json_t *r = json_load_file(path, 0, &e);
	cr_assert(r, "%s: %s", path, e.text);
	return r;
}

/* report.json without its wall-clock fields. */
static char *deterministic_part(const char *dir)
{
	json_t *r = report(dir);
	json_object_del(r, "timing");
	char *s = json_dumps(r, JSON_SORT_KEYS | JSON_INDENT(1));
	json_decref(r);
	return s;
}

/* `triage DIR`: the bug's schedule shrunk to a 1-minimal one, which a
 * fresh process replays to the same bug (its reproducer) and event for
 * event (its recording). */
static void triage_shrinks(const char *dir)
{
	static char tri[1 << 17];
	int rc =
		cc_test_sh(tri, sizeof(tri),
			   "%s triage %s --json 2>%s/triage.log", CC, dir, dir);
	cr_assert_eq(rc, 0, "triage exited %d:\n%s", rc, tri);
	const char *j = strstr(tri, "{\n  \"format\"");
	json_t *t = j ? json_loads(j, 0, NULL) : NULL;
	cr_assert(t, "no JSON report:\n%s", tri);
	json_t *b = json_array_get(json_object_get(t, "bugs"), 0);
	cr_assert(json_is_true(json_object_get(b, "one_minimal")), "%s", tri);
	json_int_t before = json_integer_value(
		json_object_get(json_object_get(b, "before"), "faults"));
	json_int_t after = json_integer_value(
		json_object_get(json_object_get(b, "after"), "faults"));
	cr_assert_leq(after, before, "%s", tri);
	cr_assert_eq(json_array_size(json_object_get(b, "schedule")),
		     (size_t)after +
			     (size_t)json_integer_value(json_object_get(
				     json_object_get(b, "after"), "choices")));
	const char *hash = json_string_value(json_object_get(b, "trace_hash"));
	const char *min = json_string_value(json_object_get(b, "minimal"));
	const char *rec = json_string_value(json_object_get(b, "recording"));
	cr_log_info("triage: %lld faults -> %lld, %lld runs", (long long)before,
		    (long long)after,
		    (long long)json_integer_value(json_object_get(b, "runs")));

	char replay[1 << 14], want[80];
	rc = cc_test_sh(replay, sizeof(replay),
			"%s run --reproduce %s --quiet 2>&1", CC, min);
	cr_assert_eq(rc, 1, "the minimal reproducer exited %d:\n%s", rc,
		     replay);
	snprintf(want, sizeof(want), "trace-hash %s matches", hash);
	cr_assert(strstr(replay, "reproduced") && strstr(replay, want),
		  "want \"%s\" in\n%s", want, replay);
	rc = cc_test_sh(replay, sizeof(replay), "%s replay %s 2>&1", CC, rec);
	cr_assert_eq(rc, 0, "replay of %s exited %d:\n%s", rec, rc, replay);
	cr_assert(strstr(replay, "replay: identical"), "%s", replay);
	json_decref(t);
}

Test(explore, finds_a_seeded_bug_that_replays_exactly)
{
	const char *dir = OUT "/bug-a";
	int rc = explore(dir, EXAMPLES "/" BUG ".json", "");
	cr_assert_eq(rc, 1, "explore exited %d (1: bugs found):\n%s", rc, out);
	json_t *r = json_loads(out, 0, NULL);
	cr_assert(r, "no JSON report:\n%s", out);
	json_t *bugs = json_object_get(r, "bugs");
	cr_assert_geq(json_array_size(bugs), 1);
	json_t *b = json_array_get(bugs, 0);
	const char *kind = json_string_value(json_object_get(b, "kind"));
	const char *bdir = json_string_value(json_object_get(b, "dir"));
	const char *hash = json_string_value(json_object_get(b, "trace_hash"));
	cr_assert_str_eq(kind, "always", "%s", out);
	cr_assert_eq(json_integer_value(json_object_get(r, "unverified")), 0);
	cr_assert_eq(
		json_integer_value(json_object_get(r, "rebuild_divergences")),
		0);

	/* A fresh process replays it to the same bug and hash. */
	char replay[1 << 16];
	int rrc = cc_test_sh(replay, sizeof(replay),
			     "%s run --reproduce %s/bugs/%s/reproducer.json "
			     "--quiet 2>&1",
			     CC, dir, bdir);
	cr_assert_eq(rrc, 1, "replay exited %d:\n%s", rrc, replay);
	cr_assert(strstr(replay, "reproduced"), "%s", replay);
	char want[80];
	snprintf(want, sizeof(want), "trace-hash %s matches", hash);
	cr_assert(strstr(replay, want), "want \"%s\" in\n%s", want, replay);
	json_decref(r);
	triage_shrinks(dir);
}

/* queue/, bugs/ and report.json (timing aside) of two campaigns. */
static void assert_same(const char *a, const char *b)
{
	char *ja = deterministic_part(a), *jb = deterministic_part(b);
	cr_assert_str_eq(ja, jb, "%s and %s differ", a, b);
	free(ja);
	free(jb);
	char diff[1 << 12];
	int rc = cc_test_sh(diff, sizeof(diff),
			    "diff -r %s/queue %s/queue && diff -r %s/bugs "
			    "%s/bugs && echo same",
			    a, b, a, b);
	cr_assert_eq(rc, 0, "queue/ or bugs/ of %s and %s differ:\n%s", a, b,
		     diff);
}

/* kill -9 after `after` seconds, then --resume (to the end when after
 * is 0). */
static int resume(const char *dir, const char *scenario, int after)
{
	char kill[64] = "";
	if (after)
		snprintf(kill, sizeof(kill), "timeout -s KILL %d ", after);
	return cc_test_sh(out, sizeof(out),
			  "flock " OUT "/.lock %s%s explore %s --out %s "
			  "--resume --json 2>>%s.log",
			  kill, CC, scenario, dir, dir);
}

Test(explore, the_same_seed_and_budget_give_the_same_campaign)
{
	const char *a = OUT "/same-a", *b = OUT "/same-b", *c = OUT "/same-c";
	const char *sc = EXAMPLES "/" BUG ".json";
	int ra = explore(a, sc, "");
	/* Two workers, each with its own cluster, keeping only two
	 * snapshots between them (most states rebuilt from the root): the
	 * same campaign.  One campaign for both, to spare CI a third. */
	int rb = explore(b, sc, "--snapshots 2 --workers 2");
	cr_assert_eq(rb, ra, "two workers exited %d:\n%s", rb, out);
	assert_same(a, b);
	/* Killed twice (-9), resumed each time: the same campaign. */
	char buf[4096];
	cc_test_sh(buf, sizeof(buf), "rm -rf %s", c);
	int rc = cc_test_sh(out, sizeof(out),
			    "mkdir -p " OUT " && flock " OUT "/.lock timeout "
			    "-s KILL 14 %s explore %s --seed " SEED
			    " --branches " BRANCHES " --out %s 2>%s.log",
			    CC, sc, c, c);
	cr_assert_eq(rc, 137, "the first run was not killed (%d)", rc);
	resume(c, sc, 9);
	rc = resume(c, sc, 0);
	cr_assert_eq(rc, ra, "the resumed campaign exited %d", rc);
	assert_same(a, c);
}

Test(explore, the_correct_raft_gives_no_report)
{
	const char *dir = OUT "/correct";
	int rc = explore(dir, EXAMPLES "/raft.json", "");
	cr_assert_eq(rc, 0, "explore exited %d on the correct Raft:\n%s", rc,
		     out);
	json_t *r = report(dir);
	cr_assert_eq(json_array_size(json_object_get(r, "bugs")), 0);
	cr_assert_eq(
		json_integer_value(json_object_get(r, "watchdog_branches")), 0);
	cr_assert_gt(json_integer_value(json_object_get(r, "corpus")), 1,
		     "no branch found anything new");
	json_decref(r);
}

Test(explore, refuses_an_existing_output_directory)
{
	const char *dir = OUT "/exists";
	char buf[4096];
	cc_test_sh(buf, sizeof(buf), "mkdir -p %s", dir);
	int rc = cc_test_sh(buf, sizeof(buf),
			    "%s explore %s/raft.json --out %s 2>&1", CC,
			    EXAMPLES, dir);
	cr_assert_eq(rc, 2, "%s", buf);
	cr_assert(strstr(buf, "exists"), "%s", buf);
}
