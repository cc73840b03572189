/*
 * How the fabric and the fault schedule scale: the cost per message of
 * a burst of N messages in flight delivered together, and per fault of
 * a schedule of N faults given in reverse time order, at N and 10 N.
 * The baseline is the same code at N, measured in the same run: a ratio
 * near 1 per message (or fault) at 10 N is O(n log n) at worst, one
 * near 10 would be the O(n^2) these once were.
 */
#include <string.h>

#include "bench.h"
#include "fault/schedule.h"
#include "sim/fabric.h"

static void drop(void *ctx, const struct cc_net_message *m)
{
	(void)m;
	++*(size_t *)ctx;
}

/* Seconds per message: n frames 0 -> 1 sent at spread ticks, one burst. */
static double fabric_per_msg(unsigned n)
{
	struct cc_fabric f;
	if (cc_fabric_init(&f, 2, 1))
		exit(1);
	f.link[0].jitter_ticks = 1000000; /* arrival order far from send's */
	uint8_t frame[64] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x01,
			     0x52, 0x54, 0x00, 0x12, 0x34, 0x00};
	double t0 = bench_now();
	for (unsigned i = 0; i < n; i++)
		cc_fabric_send(&f, 0, frame, sizeof(frame), i);
	size_t got = 0;
	cc_fabric_deliver(&f, UINT64_MAX, drop, &got);
	double t = bench_now() - t0;
	if (got != n) {
		fprintf(stderr, "sim_scale: %zu of %u delivered\n", got, n);
		exit(1);
	}
	cc_fabric_free(&f);
	return t / n;
}

/* Seconds per fault: a JSON schedule of n faults, latest first. */
static double schedule_per_fault(unsigned n)
{
	size_t cap = (size_t)n * 64 + 64, at = 0;
	char *json = malloc(cap);
	if (!json)
		exit(1);
	at += (size_t)snprintf(json, cap, "{\"faults\": [");
	for (unsigned i = 0; i < n; i++)
		at += (size_t)snprintf(json + at, cap - at,
				       "%s{\"at_ms\": %u, \"type\": "
				       "\"network_heal\"}",
				       i ? "," : "", n - i);
	at += (size_t)snprintf(json + at, cap - at, "]}");
	struct cc_schedule s = {0};
	struct cc_err err;
	double t0 = bench_now();
	if (cc_schedule_parse(&s, json, at, 2, &err)) {
		fprintf(stderr, "sim_scale: %s\n", err.msg);
		exit(1);
	}
	double t = bench_now() - t0;
	cc_schedule_free(&s);
	free(json);
	return t / n;
}

int main(void)
{
	const unsigned n = 6000; /* 10 N stays under the in-flight cap */
	double a = fabric_per_msg(n), b = fabric_per_msg(10 * n);
	printf("fabric burst:  %.0f ns/message at %u in flight, %.0f at %u: "
	       "x%.2f per message\n",
	       a * 1e9, n, b * 1e9, 10 * n, b / a);
	double c = schedule_per_fault(n), d = schedule_per_fault(10 * n);
	printf("schedule load: %.0f ns/fault at %u (reverse order), %.0f at "
	       "%u: x%.2f per fault\n",
	       c * 1e9, n, d * 1e9, 10 * n, d / c);
	return 0;
}
