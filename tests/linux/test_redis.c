/*
 * A real system nobody here wrote: Debian's redis-server (glibc, its 17
 * shared objects found by `image build` from examples/redis/image.json)
 * as a primary and two replicas, and the SDK client of guest/programs/
 * redisclient.c, as examples/redis-replication.json runs them: a
 * partition of the replicas, the heal, a replica restart.  Each node's
 * /data is its own overlay of one ext4 image; Redis keeps its AOF there
 * with appendfsync always.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

#define SCENARIO CC_BUILD_DIR "/../examples/redis-replication.json"

TestSuite(redis, .timeout = 3600);

struct run {
	int rc;
	json_t *report;
	char out[1 << 16];
	char console[1 << 21];
};

static struct run *run(const char *fmt, ...)
{
	struct run *r = calloc(1, sizeof(*r));
	cr_assert(r);
	char args[512], all[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	/* The example as shipped: its blank data disk too. */
	snprintf(all, sizeof(all), SCENARIO " %s", args);
	r->rc = cc_test_run_json(r->out, sizeof(r->out), r->console,
				 sizeof(r->console), all);
	json_error_t e;
	r->report = json_loads(r->out, 0, &e);
	cr_assert(r->report, "no JSON report (exit %d): %s\n%s", r->rc, e.text,
		  r->console);
	return r;
}

static const char *hash(struct run *r)
{
	return json_string_value(json_object_get(r->report, "trace_hash"));
}

static json_int_t num(json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(json_object_get(o, a), b);
	cr_assert(json_is_integer(v), "no %s.%s", a, b);
	return json_integer_value(v);
}

/* VM v's n-th console line (from con on) holding s, at s; or NULL. */
static const char *vm_line(const char *con, int v, const char *s, int n)
{
	char tag[16];
	snprintf(tag, sizeof(tag), "[vm%d] ", v);
	for (const char *p = con; (p = strstr(p, s)); p++) {
		const char *bol = p;
		while (bol > con && bol[-1] != '\n')
			bol--;
		if (!strncmp(bol, tag, strlen(tag)) && n-- == 0)
			return p;
	}
	return NULL;
}

static void free_run(struct run *r)
{
	json_decref(r->report);
	free(r);
}

Test(redis, replication_keeps_acknowledged_writes_through_faults)
{
	if (getenv("CC_TEST_NESTED")) /* tests/hw/inside.sh */
		cr_skip_test("the Redis cluster runs on the PVM tier only: "
			     "nested TCG is too slow for it in CI");
	cc_test_make_disk();
	struct run *a = run("");
	cr_assert_eq(a->rc, 0, "%s\n%s", a->out, a->console);
	cr_assert_eq(num(a->report, "properties", "failed"), 0, "%s", a->out);
	json_t *vm1 = json_array_get(json_object_get(a->report, "vm"), 1);
	cr_assert_eq(json_integer_value(json_object_get(vm1, "restarts")), 1);
	/* The restarted replica came back with its data: Redis read its
	 * append-only file from /data after the restart. */
	const char *again = vm_line(a->console, 1, "Redis is starting", 1);
	cr_assert(again && vm_line(again, 1, "DB loaded from incr file", 0),
		  "no AOF loaded after the restart:\n%s", a->console);
	cr_assert(strstr(a->console, "acknowledged by every replica"), "%s",
		  a->console);
	cr_assert(strstr(a->console, ": 0 acknowledged writes missing"), "%s",
		  a->console);
	/* The same seed, the same cluster execution. */
	struct run *b = run("");
	cr_assert_str_eq(hash(a), hash(b), "%s\n%s", a->out, b->out);
	/* Another seed, other values written: another execution. */
	struct run *c = run("--ticks 800"), *d = run("--ticks 800 --seed 2");
	cr_assert_str_neq(hash(c), hash(d), "seeds 1 and 2 ran alike");
	free_run(a);
	free_run(b);
	free_run(c);
	free_run(d);
}
