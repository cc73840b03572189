/*
 * The SDK without a VM, and the host-side pieces behind it: sdkcheck in
 * local-output mode writes valid Antithesis-schema JSON lines (checked
 * field by field with jansson) whose oracle verdicts are the ones the
 * program was written to produce; in no-op mode it writes nothing.  The
 * PropertyOracle (each verdict, runs merged, order-independent report)
 * and the CoverageCollector (AFL buckets, new edges) on their own.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run/coverage.h"
#include "fault/oracle.h"
#include "helpers.h"

#define SDKCHECK CC_BUILD_DIR "/tests/sdkcheck-host"

static char out[1 << 16];

/* The file's lines, each checked to be one JSON object of one key. */
static size_t read_lines(const char *path, char **lines, size_t cap)
{
	FILE *f = fopen(path, "r");
	cr_assert(f, "no local output file %s", path);
	size_t n = 0;
	char *line = NULL;
	size_t len = 0;
	while (n < cap && getline(&line, &len, f) > 0) {
		json_error_t e;
		json_t *j = json_loads(line, 0, &e);
		cr_assert(json_is_object(j) && json_object_size(j) == 1,
			  "line %zu is not a one-key JSON object: %s (%s)", n,
			  line, e.text);
		json_decref(j);
		lines[n++] = strdup(line);
	}
	free(line);
	fclose(f);
	return n;
}

static void check_assert(json_t *a)
{
	static const char *const bools[] = {"hit", "must_hit", "condition"};
	for (size_t i = 0; i < 3; i++)
		cr_assert(json_is_boolean(json_object_get(a, bools[i])), "%s",
			  bools[i]);
	static const char *const strs[] = {"assert_type", "display_type",
					   "message", "id"};
	for (size_t i = 0; i < 4; i++)
		cr_assert(json_is_string(json_object_get(a, strs[i])), "%s",
			  strs[i]);
	json_t *loc = json_object_get(a, "location");
	cr_assert(json_is_string(json_object_get(loc, "file")));
	cr_assert(json_is_string(json_object_get(loc, "function")));
	cr_assert(json_is_integer(json_object_get(loc, "begin_line")));
	cr_assert(json_is_object(json_object_get(a, "details")));
}

Test(sdk, local_mode_writes_the_antithesis_schema)
{
	char path[] = "/tmp/cc-sdk-local-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	unlink(path);
	cr_assert_eq(cc_test_sh(out, sizeof(out),
				"CHAOSCONTROL_SDK_LOCAL_OUTPUT=%s " SDKCHECK,
				path),
		     0, "%s", out);
	cr_assert(strstr(out, "sdkcheck: mode local"), "%s", out);
	static char *lines[4096];
	size_t n = read_lines(path, lines, 4096);
	size_t asserts = 0, catalog = 0, setup = 0, sdk = 0, events = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *j = json_loads(lines[i], 0, NULL);
		json_t *a = json_object_get(j, "antithesis_assert");
		if (a) {
			check_assert(a);
			asserts++;
			catalog += !json_is_true(json_object_get(a, "hit"));
		} else if (json_object_get(j, "antithesis_setup")) {
			setup++;
		} else if (json_object_get(j, "antithesis_sdk")) {
			sdk++;
		} else {
			events++;
		}
		json_decref(j);
	}
	cr_assert_eq(sdk, 1);
	cr_assert_eq(setup, 1);
	cr_assert_eq(events, 2, "sdkcheck_start and sdkcheck_done");
	cr_assert_eq(catalog, 17, "every site registers at start-up");
	cr_assert_gt(asserts, catalog);
	/* The verdicts are those the property names promise. */
	struct cc_oracle o = {0};
	cr_assert_eq(cc_oracle_add_run(&o, (const char *const *)lines, n), 0);
	cr_assert_eq(o.n, 17);
	for (size_t i = 0; i < o.n; i++) {
		const struct cc_property *p = &o.p[i];
		enum cc_verdict v = cc_oracle_verdict(p);
		const char *m = p->message;
		enum cc_verdict want =
			strstr(m, "breaks")	  ? CC_VERDICT_ALWAYS_VIOLATED
			: strstr(m, "never true") ? CC_VERDICT_NEVER_TRUE
			: !strcmp(m, "always never reached") ||
					!strcmp(m, "reachable never reached")
				? CC_VERDICT_NEVER_REACHED
			: !strcmp(m, "unreachable reached")
				? CC_VERDICT_UNREACHABLE_REACHED
				: CC_VERDICT_PASS;
		cr_assert_eq(v, want, "%s: %s", m, cc_verdict_name(v));
	}
	cr_assert_eq(cc_oracle_failures(&o), 7);
	cc_oracle_free(&o);
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	unlink(path);
}

Test(sdk, no_op_mode_writes_nothing)
{
	cr_assert_eq(cc_test_sh(out, sizeof(out),
				"env -u CHAOSCONTROL_SDK_LOCAL_OUTPUT -u "
				"ANTITHESIS_SDK_LOCAL_OUTPUT " SDKCHECK),
		     0, "%s", out);
	cr_assert(strstr(out, "sdkcheck: mode no-op"), "%s", out);
	cr_assert(strstr(out, "sdkcheck: done"), "%s", out);
}

/* ---- oracle -----------------------------------------------------------------
 */

static char *rec(const char *type, bool must, bool hit, bool cond,
		 const char *id)
{
	char *s;
	cr_assert(asprintf(&s,
			   "{\"antithesis_assert\":{\"hit\":%s,\"must_hit\":%s,"
			   "\"assert_type\":\"%s\",\"display_type\":\"X\","
			   "\"message\":\"%s\",\"condition\":%s,\"id\":\"%s\","
			   "\"location\":{\"file\":\"f.c\",\"begin_line\":1},"
			   "\"details\":{}}}",
			   hit ? "true" : "false", must ? "true" : "false",
			   type, id, cond ? "true" : "false", id) > 0);
	return s;
}

/*
 * libvoidstar.so is freestanding: no NEEDED entry, no undefined dynamic
 * symbol, so any process can load it.  Here a glibc build of
 * voidstar_user dlopen()s it outside a VM: in local mode its records are
 * written as the SDKs' JSON lines, and its draws come from the OS.
 */
#define VOIDSTAR  CC_BUILD_DIR "/guest/lib/libvoidstar.so"
#define VS_GLIBC  CC_BUILD_DIR "/tests/host/voidstar_glibc"
#define VS_OUTPUT CC_BUILD_DIR "/tests/voidstar-local.jsonl"

Test(sdk, libvoidstar_needs_no_libc)
{
	cr_assert_eq(cc_test_sh(out, sizeof(out),
				"readelf -d " VOIDSTAR " | grep NEEDED; "
				"nm -D --undefined-only " VOIDSTAR
				" && readelf -d " VOIDSTAR " | grep -q SONAME"),
		     0, "not a shared object: %s", out);
	cr_assert_str_eq(out, "", "libvoidstar.so depends on: %s", out);
}

Test(sdk, libvoidstar_in_a_glibc_process_writes_local_records)
{
	unlink(VS_OUTPUT);
	cr_assert_eq(cc_test_sh(out, sizeof(out),
				"ANTITHESIS_SDK_LOCAL_OUTPUT=" VS_OUTPUT
				" " VS_GLIBC " " VOIDSTAR),
		     0, "%s", out);
	unsigned long long a, b;
	cr_assert_eq(sscanf(out, "voidstar_user: random %llx %llx", &a, &b), 2,
		     "%s", out);
	cr_assert_neq(a, b, "the OS's randomness");
	char *lines[16];
	size_t n = read_lines(VS_OUTPUT, lines, 16);
	cr_assert_eq(n, 5, "the program's 5 records, %zu written", n);
	cr_assert(strstr(lines[0], "\"antithesis_sdk\""), "%s", lines[0]);
	cr_assert(strstr(lines[2], "\"voidstar always\""), "%s", lines[2]);
	cr_assert(strstr(lines[4], "\"antithesis_setup\""), "%s", lines[4]);
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
}

Test(oracle, verdicts_across_runs)
{
	struct cc_oracle o = {0};
	char *run1[] = {
		rec("always", true, true, true, "a-ok"),
		rec("always", true, true, true, "b-broken-later"),
		rec("sometimes", true, true, false, "c-sometimes"),
		rec("reachability", true, false, true, "d-reachable"),
		rec("reachability", false, false, false, "e-unreachable"),
		rec("always", true, false, true, "f-never"),
		rec("always", false, false, true, "g-always-or-unreachable"),
	};
	char *run2[] = {
		rec("always", true, true, false, "b-broken-later"),
		rec("sometimes", true, true, true, "c-sometimes"),
		rec("reachability", true, true, true, "d-reachable"),
		rec("reachability", false, true, false, "e-unreachable"),
	};
	cr_assert_eq(cc_oracle_add_run(&o, (const char *const *)run1, 7), 0);
	cr_assert_eq(o.n, 7);
	cr_assert_eq(cc_oracle_verdict(&o.p[2]), CC_VERDICT_NEVER_TRUE,
		     "after run 1, c was never true");
	cr_assert_eq(cc_oracle_verdict(&o.p[3]), CC_VERDICT_NEVER_REACHED);
	cr_assert_eq(cc_oracle_add_run(&o, (const char *const *)run2, 4), 0);
	enum cc_verdict want[] = {
		CC_VERDICT_PASS,
		CC_VERDICT_ALWAYS_VIOLATED,
		CC_VERDICT_PASS,
		CC_VERDICT_PASS,
		CC_VERDICT_UNREACHABLE_REACHED,
		CC_VERDICT_NEVER_REACHED,
		CC_VERDICT_PASS,
	};
	for (size_t i = 0; i < 7; i++)
		cr_assert_eq(cc_oracle_verdict(&o.p[i]), want[i], "%s: %s",
			     o.p[i].id,
			     cc_verdict_name(cc_oracle_verdict(&o.p[i])));
	cr_assert_eq(o.runs, 2);
	cr_assert_eq(o.p[1].runs_hit, 2);
	cr_assert_eq(o.p[1].first_fail, 2, "failed first in run 2");

	/* The same runs with records in another order: the same report. */
	struct cc_oracle r = {0};
	char *rev1[7], *rev2[4];
	for (int i = 0; i < 7; i++)
		rev1[i] = run1[6 - i];
	for (int i = 0; i < 4; i++)
		rev2[i] = run2[3 - i];
	cc_oracle_add_run(&r, (const char *const *)rev1, 7);
	cc_oracle_add_run(&r, (const char *const *)rev2, 4);
	json_t *o1 = cc_oracle_json(&o), *o2 = cc_oracle_json(&r);
	char *j1 = json_dumps(o1, JSON_COMPACT);
	char *j2 = json_dumps(o2, JSON_COMPACT);
	cr_assert_str_eq(j1, j2);
	free(j1);
	free(j2);
	json_decref(o1);
	json_decref(o2);
	cc_oracle_free(&o);
	cc_oracle_free(&r);
	for (int i = 0; i < 7; i++)
		free(run1[i]);
	for (int i = 0; i < 4; i++)
		free(run2[i]);
}

Test(oracle, unreadable_records_are_counted_not_fatal)
{
	struct cc_oracle o = {0};
	const char *recs[] = {"not json", "{\"event\":{}}"};
	cr_assert_eq(cc_oracle_add_run(&o, recs, 2), 0);
	cr_assert_eq(o.bad_records, 1);
	cr_assert_eq(o.n, 0);
	cc_oracle_free(&o);
}

/* ---- coverage
 * ------------------------------------------------------------------ */

Test(coverage, afl_buckets)
{
	const uint8_t in[] = {0,  1,  2,  3,  4,   7,	8,
			      15, 16, 31, 32, 127, 128, 255};
	const uint8_t want[] = {0,  1,	2,  4,	8,  8,	 16,
				16, 32, 32, 64, 64, 128, 128};
	for (size_t i = 0; i < sizeof(in); i++)
		cr_assert_eq(cc_coverage_bucket(in[i]), want[i], "%u", in[i]);
}

Test(coverage, new_edges_and_new_counts)
{
	static struct cc_coverage c;
	static uint8_t map[CC_COVERAGE_SIZE];
	map[10] = 1;
	map[20] = 5;
	struct cc_coverage_run r = cc_coverage_add(&c, map);
	cr_assert_eq(r.edges, 2);
	cr_assert_eq(r.new_edges, 2);
	r = cc_coverage_add(&c, map);
	cr_assert_eq(r.new_edges, 0, "the same run again finds nothing");
	cr_assert_eq(r.new_buckets, 0);
	map[20] = 6; /* same bucket (4-7) */
	map[10] = 2; /* new bucket */
	map[30] = 200;
	r = cc_coverage_add(&c, map);
	cr_assert_eq(r.new_edges, 1);
	cr_assert_eq(r.new_buckets, 2, "edge 10 counted twice, edge 30 new");
	cr_assert_eq(c.edges, 3);
}
