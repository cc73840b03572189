/*
 * FaultSchedule: the builder keeps time order (stable for equal times),
 * the JSON format reads every fault kind, refuses each kind of mistake
 * with a message naming the fault and field, and round-trips.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault/schedule.h"

static const char every[] =
	"{\"faults\": ["
	"{\"at_ms\": 100, \"type\": \"network_partition\", \"sides\": [0,1,1]},"
	"{\"at_ms\": 50, \"type\": \"packet_loss\", \"vm\": 0, \"ppm\": "
	"300000},"
	"{\"at_ms\": 50, \"type\": \"packet_corruption\", \"vm\": 1, \"ppm\": "
	"1},"
	"{\"at_ms\": 60, \"type\": \"packet_reorder\", \"vm\": 1, \"ppm\": 5,"
	" \"ticks\": 4},"
	"{\"at_ms\": 60, \"type\": \"packet_duplicate\", \"vm\": 2, \"ppm\": "
	"9},"
	"{\"at_ms\": 70, \"type\": \"network_latency\", \"vm\": 0, \"ticks\": "
	"3},"
	"{\"at_ms\": 70, \"type\": \"network_jitter\", \"vm\": 0, \"ticks\": "
	"2},"
	"{\"at_ms\": 70, \"type\": \"network_bandwidth\", \"vm\": 0,"
	" \"bps\": 1000000},"
	"{\"at_ms\": 200, \"type\": \"network_heal\"},"
	"{\"at_ms\": 210, \"type\": \"disk_read_error\", \"vm\": 2},"
	"{\"at_ms\": 210, \"type\": \"disk_write_error\", \"vm\": 2},"
	"{\"at_ms\": 210, \"type\": \"disk_torn_write\", \"vm\": 2},"
	"{\"at_ms\": 210, \"type\": \"disk_corruption\", \"vm\": 2},"
	"{\"at_ms\": 210, \"type\": \"disk_full\", \"vm\": 2},"
	"{\"at_ms\": 220, \"type\": \"disk_heal\", \"vm\": 2},"
	"{\"at_ms\": 300, \"type\": \"process_pause\", \"vm\": 1,"
	" \"duration_ms\": 50},"
	"{\"at_ms\": 400, \"type\": \"process_kill\", \"vm\": 1},"
	"{\"at_ms\": 500, \"type\": \"process_restart\", \"vm\": 1},"
	"{\"at_ms\": 550, \"type\": \"process_crash\", \"vm\": 1},"
	"{\"at_ms\": 600, \"type\": \"clock_skew\", \"vm\": 0, \"offset_ms\": "
	"5},"
	"{\"at_ms\": 600, \"type\": \"clock_jump\", \"vm\": 0,"
	" \"offset_ms\": -20},"
	"{\"at_ms\": 700, \"type\": \"memory_pressure\", \"vm\": 0,"
	" \"bytes\": 67108864},"
	"{\"at_ms\": 800, \"type\": \"interrupt\", \"vm\": 0, \"irq\": 3},"
	"{\"at_ms\": 800, \"type\": \"nmi\", \"vm\": 0}"
	"]}";

Test(schedule, reads_every_fault_in_time_order)
{
	struct cc_schedule s;
	struct cc_err e = {{0}};
	cr_assert_eq(cc_schedule_parse(&s, every, strlen(every), 3, &e), 0,
		     "%s", e.msg);
	cr_assert_eq(s.n, 24);
	bool seen[CC_FAULT__COUNT] = {0};
	for (size_t i = 0; i < s.n; i++) {
		seen[s.f[i].kind] = true;
		if (i)
			cr_assert_geq(s.f[i].at_ns, s.f[i - 1].at_ns);
	}
	for (int k = 0; k < CC_FAULT__COUNT; k++)
		cr_assert(seen[k], "%s missing", cc_fault_name(k));
	/* Equal times keep file order: loss before corruption at 50 ms. */
	cr_assert_eq(s.f[0].kind, CC_FAULT_PACKET_LOSS);
	cr_assert_eq(s.f[0].ppm, 300000);
	cr_assert_eq(s.f[1].kind, CC_FAULT_PACKET_CORRUPTION);
	const struct cc_fault *f, *jump = NULL;
	size_t due = 0;
	while ((f = cc_schedule_due(&s, 100000000ull)))
		due++;
	cr_assert_eq(due, 8, "faults at or before 100 ms");
	for (size_t i = 0; i < s.n; i++)
		if (s.f[i].kind == CC_FAULT_CLOCK_JUMP)
			jump = &s.f[i];
	cr_assert_eq(jump->offset_ns, -20000000ll);
	cc_schedule_free(&s);
}

Test(schedule, round_trips_through_json)
{
	struct cc_schedule a, b;
	struct cc_err e;
	cr_assert_eq(cc_schedule_parse(&a, every, strlen(every), 3, &e), 0);
	char *text = cc_schedule_to_json(&a);
	cr_assert_eq(cc_schedule_parse(&b, text, strlen(text), 3, &e), 0,
		     "%s\n%s", e.msg, text);
	cr_assert_eq(a.n, b.n);
	for (size_t i = 0; i < a.n; i++)
		cr_assert_eq(memcmp(&a.f[i], &b.f[i], sizeof(a.f[i])), 0,
			     "fault %zu changed", i);
	free(text);
	cc_schedule_free(&a);
	cc_schedule_free(&b);
}

static void refused(const char *json, const char *want)
{
	struct cc_schedule s;
	struct cc_err e = {{0}};
	cr_assert_neq(cc_schedule_parse(&s, json, strlen(json), 3, &e), 0,
		      "accepted: %s", json);
	cr_assert(strstr(e.msg, want), "'%s' not in '%s'", want, e.msg);
}

Test(schedule, mistakes_are_refused_with_a_reason)
{
	refused("{\"faults\": [{\"at_ms\": 1, \"type\": \"meteor\"}]}",
		"unknown type \"meteor\"");
	refused("{\"faults\": [{\"at_ms\": 1, \"type\": \"packet_loss\","
		" \"vm\": 0}]}",
		"needs \"ppm\"");
	refused("{\"faults\": [{\"at_ms\": 1, \"type\": \"disk_full\","
		" \"vm\": 3}]}",
		"\"vm\" must be an integer in [0, 2]");
	refused("{\"faults\": [{\"at_ms\": 1, \"type\": \"packet_loss\","
		" \"vm\": 0, \"ppm\": 2000000}]}",
		"\"ppm\"");
	refused("{\"faults\": [{\"at_ms\": 1, \"type\": \"nmi\", \"vm\": 0,"
		" \"ppm\": 5}]}",
		"unknown field \"ppm\"");
	refused("{\"faults\": [{\"at_ms\": 1, \"type\": "
		"\"network_partition\", \"sides\": [0, 1]}]}",
		"one side per VM");
	refused("{\"faults\": [{\"at_ms\": -1, \"type\": \"network_heal\"}]}",
		"\"at_ms\"");
	refused("{\"faults\": [{\"type\": \"network_heal\"}]}", "\"at_ms\"");
	refused("{\"faults\": 3}", "wants {\"faults\"");
	refused("{\"faults\": [", "line 1");
	refused("{\"faults\": [{\"at_ms\": 1}]}", "needs a \"type\"");
}

Test(schedule, builder_keeps_order_stable)
{
	struct cc_schedule s = {0};
	struct cc_fault f = {.kind = CC_FAULT_NETWORK_HEAL};
	uint64_t times[] = {30, 10, 20, 10, 30};
	for (int i = 0; i < 5; i++) {
		f.at_ns = times[i];
		f.vm = (uint32_t)i;
		cr_assert_eq(cc_schedule_add(&s, &f), 0);
	}
	uint32_t want[] = {1, 3, 2, 0, 4};
	for (int i = 0; i < 5; i++)
		cr_assert_eq(s.f[i].vm, want[i]);
	cc_schedule_free(&s);
}

/* Many faults at once land where one call each would have put them:
 * time order, ties in the order given - also from a file in reverse. */
Test(schedule, faults_added_at_once_land_as_one_at_a_time)
{
	struct cc_schedule one = {0}, many = {0};
	struct cc_fault *f = calloc(5000, sizeof(*f));
	cr_assert(f);
	uint64_t x = 88172645463325252ull;
	for (unsigned i = 0; i < 5000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		f[i].at_ns = (x % 40) * 1000000; /* many ties */
		f[i].kind = CC_FAULT_PACKET_LOSS;
		f[i].vm = i; /* tells ties apart */
		cr_assert_eq(cc_schedule_add(&one, &f[i]), 0);
	}
	cr_assert_eq(cc_schedule_add_n(&many, f, 2500), 0);
	cr_assert_eq(cc_schedule_add_n(&many, f + 2500, 2500), 0);
	cr_assert_eq(many.n, one.n);
	cr_assert_eq(memcmp(many.f, one.f, one.n * sizeof(*f)), 0);
	cc_schedule_free(&many);

	/* A file in reverse time order. */
	size_t cap = 5000 * 64 + 64, at = 0;
	char *json = malloc(cap);
	cr_assert(json);
	at += (size_t)snprintf(json + at, cap - at, "{\"faults\": [");
	for (unsigned i = 0; i < 5000; i++)
		at += (size_t)snprintf(json + at, cap - at,
				       "%s{\"at_ms\": %u, \"type\": "
				       "\"network_heal\"}",
				       i ? "," : "", 4999 - i);
	at += (size_t)snprintf(json + at, cap - at, "]}");
	struct cc_err err;
	cr_assert_eq(cc_schedule_parse(&many, json, at, 3, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(many.n, 5000);
	for (size_t i = 0; i < many.n; i++)
		cr_assert_eq(many.f[i].at_ns, i * 1000000);
	cc_schedule_free(&many);
	cc_schedule_free(&one);
	free(json);
	free(f);
}
