/*
 * Triage's pieces that need no KVM: delta debugging (replay/ddmin.h)
 * over predicates whose answer is known, and the items of a path
 * (replay/triage.h) a shrink removes.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "replay/ddmin.h"
#include "replay/triage.h"
#include "helpers.h"

/* The failure needs every item of need[] (and "any of" when any). */
struct pred {
	size_t need[8], nneed;
	bool any, never;
	uint64_t calls;
	char log[4096]; /* the subsets asked, in order */
	size_t loglen;
	int fail_at; /* the call that errs; 0 none */
};

static int test(void *ctx, const bool *keep, size_t n, struct cc_err *err)
{
	struct pred *p = ctx;
	p->calls++;
	if (p->fail_at && p->calls == (uint64_t)p->fail_at)
		return cc_err_set(err, "the run failed");
	for (size_t k = 0; k < n && p->loglen + 2 < sizeof(p->log); k++)
		p->log[p->loglen++] = keep[k] ? '1' : '0';
	p->log[p->loglen++] = ' ';
	if (p->never)
		return 0;
	size_t have = 0;
	for (size_t k = 0; k < p->nneed; k++)
		have += keep[p->need[k]];
	return p->any ? have > 0 : have == p->nneed;
}

static void check_one_minimal(struct pred *p, bool *keep, size_t n)
{
	struct cc_err e;
	cr_assert_eq(test(p, keep, n, &e), 1, "the result fails");
	for (size_t k = 0; k < n; k++) {
		if (!keep[k])
			continue;
		keep[k] = false;
		cr_assert_eq(test(p, keep, n, &e), 0, "item %zu is not needed",
			     k);
		keep[k] = true;
	}
}

Test(ddmin, finds_the_two_items_a_failure_needs)
{
	struct pred p = {.need = {3, 7}, .nneed = 2};
	bool keep[10];
	struct cc_ddmin_stats st;
	struct cc_err e;
	cr_assert_eq(cc_ddmin(10, test, &p, 0, keep, &st, &e), 0, "%s", e.msg);
	for (size_t k = 0; k < 10; k++)
		cr_assert_eq(keep[k], k == 3 || k == 7, "item %zu", k);
	cr_assert(st.minimal);
	cr_assert_eq(st.before, 10);
	cr_assert_eq(st.after, 2);
	cr_assert_eq(st.tests, p.calls);
	cr_assert_lt(st.tests, 40, "%llu tests", (unsigned long long)st.tests);
	check_one_minimal(&p, keep, 10);
}

Test(ddmin, one_of_two_alternatives_is_enough)
{
	struct pred p = {.need = {1, 5}, .nneed = 2, .any = true};
	bool keep[8];
	struct cc_ddmin_stats st;
	struct cc_err e;
	cr_assert_eq(cc_ddmin(8, test, &p, 0, keep, &st, &e), 0);
	cr_assert_eq(st.after, 1);
	cr_assert(keep[1] || keep[5]);
	cr_assert(st.minimal);
	check_one_minimal(&p, keep, 8);
}

Test(ddmin, a_failure_that_needs_nothing_shrinks_to_nothing)
{
	struct pred p = {.nneed = 0};
	bool keep[5];
	struct cc_ddmin_stats st;
	struct cc_err e;
	cr_assert_eq(cc_ddmin(5, test, &p, 0, keep, &st, &e), 0);
	for (size_t k = 0; k < 5; k++)
		cr_assert(!keep[k]);
	cr_assert_eq(st.after, 0);
	cr_assert(st.minimal);
	cr_assert_eq(st.tests, 2); /* all, then none */
}

Test(ddmin, a_set_that_does_not_fail_is_said_so)
{
	struct pred p = {.never = true};
	bool keep[4];
	struct cc_ddmin_stats st;
	struct cc_err e;
	cr_assert_eq(cc_ddmin(4, test, &p, 0, keep, &st, &e), 1);
	for (size_t k = 0; k < 4; k++)
		cr_assert(keep[k]);
	cr_assert_eq(st.tests, 1);
}

Test(ddmin, a_budget_stops_it_with_a_failing_superset)
{
	struct pred p = {.need = {2, 11, 13}, .nneed = 3};
	bool keep[32];
	struct cc_ddmin_stats st;
	struct cc_err e;
	cr_assert_eq(cc_ddmin(32, test, &p, 6, keep, &st, &e), 0);
	cr_assert(st.budget);
	cr_assert(!st.minimal);
	cr_assert_eq(st.tests, 6);
	cr_assert_lt(st.after, 32, "six tests shrink something");
	cr_assert_eq(test(&p, keep, 32, &e), 1, "the result still fails");
}

Test(ddmin, the_same_answers_give_the_same_tests)
{
	struct pred a = {.need = {0, 13, 14, 30}, .nneed = 4}, b = a;
	bool ka[31], kb[31];
	struct cc_ddmin_stats sa, sb;
	struct cc_err e;
	cr_assert_eq(cc_ddmin(31, test, &a, 0, ka, &sa, &e), 0);
	cr_assert_eq(cc_ddmin(31, test, &b, 0, kb, &sb, &e), 0);
	cr_assert_eq(a.loglen, b.loglen);
	cr_assert(!memcmp(a.log, b.log, a.loglen));
	cr_assert(!memcmp(ka, kb, sizeof(ka)));
	cr_assert_gt(sa.cached, 0, "ddmin asks some subsets twice");
	check_one_minimal(&a, ka, 31);
}

Test(ddmin, a_failing_run_stops_the_search_with_its_reason)
{
	struct pred p = {.need = {1}, .nneed = 1, .fail_at = 3};
	bool keep[6];
	struct cc_ddmin_stats st;
	struct cc_err e;
	cr_assert_eq(cc_ddmin(6, test, &p, 0, keep, &st, &e), -1);
	cr_assert_str_eq(e.msg, "the run failed");
}

Test(ddmin, too_many_items_are_refused)
{
	struct pred p = {0};
	static bool keep[CC_DDMIN_MAX_ITEMS + 1];
	struct cc_ddmin_stats st;
	struct cc_err e;
	cr_assert_eq(
		cc_ddmin(CC_DDMIN_MAX_ITEMS + 1, test, &p, 0, keep, &st, &e),
		-1);
	cr_assert(strstr(e.msg, "at most"), "%s", e.msg);
	cr_assert_eq(p.calls, 0);
}

/* Two forks: two faults and a choice, then one fault. */
static void two_forks(struct cc_path *p)
{
	struct cc_fork a = {.at = 300, .reseed = true, .seed = 7}, b = {0};
	a.fault[0] = (struct cc_fault){.at_ns = 310000000ull,
				       .kind = CC_FAULT_NETWORK_HEAL};
	a.fault[1] = (struct cc_fault){.at_ns = 320000000ull,
				       .kind = CC_FAULT_PROCESS_KILL};
	a.nfaults = 2;
	a.choice[0] = (struct cc_fork_choice){1, 2, 5};
	a.nchoices = 1;
	b.at = 400;
	b.fault[0] = (struct cc_fault){.at_ns = 450000000ull,
				       .kind = CC_FAULT_NETWORK_HEAL};
	b.nfaults = 1;
	memset(p, 0, sizeof(*p));
	cr_assert_eq(cc_path_push(p, &a), 0);
	cr_assert_eq(cc_path_push(p, &b), 0);
}

Test(items, are_the_faults_then_the_choices_fork_by_fork)
{
	struct cc_path p;
	two_forks(&p);
	struct cc_triage_item it[8];
	cr_assert_eq(cc_triage_items(&p, it, 8), 4);
	cr_assert(it[0].fork == 0 && it[0].index == 0 &&
		  it[0].kind == CC_TRIAGE_FAULT);
	cr_assert(it[1].fork == 0 && it[1].index == 1);
	cr_assert(it[2].fork == 1 && it[2].index == 0 &&
		  it[2].kind == CC_TRIAGE_FAULT);
	cr_assert(it[3].fork == 0 && it[3].kind == CC_TRIAGE_CHOICE);
	cr_assert_eq(cc_triage_items(&p, it, 3), -1, "past the cap");
	cc_path_free(&p);
}

Test(items, a_subpath_keeps_every_fork_and_only_the_kept_items)
{
	struct cc_path p, q;
	two_forks(&p);
	struct cc_triage_item it[8];
	long n = cc_triage_items(&p, it, 8);
	bool keep[4] = {false, true, false, true};
	cr_assert_eq(cc_triage_subpath(&p, it, (size_t)n, keep, &q), 0);
	cr_assert_eq(q.n, 2);
	cr_assert_eq(q.fork[0].at, 300);
	cr_assert(q.fork[0].reseed);
	cr_assert_eq(q.fork[0].seed, 7);
	cr_assert_eq(q.fork[0].nfaults, 1);
	cr_assert_eq(q.fork[0].fault[0].kind, CC_FAULT_PROCESS_KILL);
	cr_assert_eq(q.fork[0].nchoices, 1);
	cr_assert_eq(q.fork[0].choice[0].value, 5);
	cr_assert_eq(q.fork[1].at, 400);
	cr_assert_eq(q.fork[1].nfaults, 0, "the second fork stays, empty");
	cc_path_free(&q);
	cc_path_free(&p);
}

/* --- the command's refusals (no KVM needed: it stops before a cluster) */

#define CC  CC_BUILD_DIR "/chaoscontrol"
#define TMP CC_BUILD_DIR "/tests/triage-cli"

static char out[1 << 14];

static int triage(const char *args)
{
	return cc_test_sh(out, sizeof(out),
			  "mkdir -p " TMP " && cd " TMP " && " CC
			  " triage %s 2>&1",
			  args);
}

Test(cli, without_arguments_prints_its_usage)
{
	cr_assert_eq(triage(""), 2, "%s", out);
	cr_assert(strstr(out, "usage: chaoscontrol triage"), "%s", out);
}

Test(cli, a_directory_that_is_no_campaign_is_named)
{
	cr_assert_eq(triage("--out o1 " TMP), 3, "%s", out);
	cr_assert(strstr(out, "is no explorer campaign"), "%s", out);
}

Test(cli, a_missing_file_is_named)
{
	cr_assert_eq(triage("--out o2 " TMP "/nothing.json"), 3, "%s", out);
	cr_assert(strstr(out, "nothing.json"), "%s", out);
}

Test(cli, a_damaged_reproducer_is_refused)
{
	cr_assert_eq(cc_test_sh(out, sizeof(out),
				"mkdir -p " TMP
				" && printf '{\"format\": 1' > " TMP
				"/bad.json"),
		     0);
	cr_assert_eq(triage("--out o3 " TMP "/bad.json"), 3, "%s", out);
	cr_assert(strstr(out, "bad.json"), "%s", out);
}

Test(cli, a_bad_budget_is_a_usage_error)
{
	cr_assert_eq(triage("--max-runs many x.json"), 2, "%s", out);
	cr_assert(strstr(out, "--max-runs wants a number"), "%s", out);
}
