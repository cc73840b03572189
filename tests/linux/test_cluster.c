/*
 * Clusters: real Linux guests (from their boot cache entries) talking
 * TCP and UDP through the NetworkFabric, every fault seen from inside the
 * guests, the cluster trace hash over fresh runs, threads and host load,
 * and a cluster snapshot restored 100 times.  Everything goes through
 * `chaoscontrol run --vms N --json`: the report on stdout, each VM's
 * console ("[vmI] ...") on stderr.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define CC  CC_BUILD_DIR "/chaoscontrol"
#define DIR CC_BUILD_DIR "/tests/cluster"

TestSuite(cluster, .timeout = 3600);

struct run {
	int rc;
	json_t *report;
	char console[1 << 18];
	char out[1 << 18];
};

/* Writes a schedule file; returns its path (static per name). */
static const char *schedule(const char *name, const char *json)
{
	static char path[8][256];
	static int next;
	char *p = path[next++ % 8];
	mkdir(DIR, 0755);
	snprintf(p, 256, DIR "/%s.json", name);
	FILE *f = fopen(p, "w");
	cr_assert(f, "cannot write %s", p);
	fputs(json, f);
	fclose(f);
	return p;
}

/* chaoscontrol run --vms ... --json ARGS; fills r. */
static void cluster(struct run *r, const char *fmt, ...)
{
	char args[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	mkdir(DIR, 0755);
	r->rc = cc_test_run_json(r->out, sizeof(r->out), r->console,
				 sizeof(r->console), args);
	json_error_t e;
	r->report = json_loads(r->out, 0, &e);
	cr_assert(r->report, "no JSON report (exit %d): %s\nconsole:\n%s",
		  r->rc, e.text, r->console);
}

static json_int_t num(json_t *o, const char *path)
{
	char key[64];
	const char *dot = strchr(path, '.');
	if (dot) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		return num(json_object_get(o, key), dot + 1);
	}
	json_t *v = json_object_get(o, path);
	cr_assert(json_is_integer(v), "no integer %s", path);
	return json_integer_value(v);
}

static json_t *vm(struct run *r, int i)
{
	return json_array_get(json_object_get(r->report, "vm"), (size_t)i);
}

static const char *status(struct run *r, int i)
{
	return json_string_value(json_object_get(vm(r, i), "status"));
}

static const char *hash(struct run *r)
{
	return json_string_value(json_object_get(r->report, "trace_hash"));
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* pingpong's round lines: calls fn(ctx, t, line) for each. */
static void rounds(const char *console,
		   void (*fn)(void *ctx, long t, const char *line), void *ctx)
{
	for (const char *p = console; (p = strstr(p, "pingpong: round "));
	     p++) {
		const char *t = strstr(p, " t=");
		const char *end = strchr(p, '\n');
		if (!t || !end)
			break;
		char line[512];
		snprintf(line, sizeof(line), "%.*s", (int)(end - p), p);
		fn(ctx, atol(t + 3), line);
	}
}

static void free_run(struct run *r)
{
	json_decref(r->report);
	free(r);
}

static struct run *new_run(void)
{
	struct run *r = calloc(1, sizeof(*r));
	cr_assert(r);
	return r;
}

/* --- talking ------------------------------------------------------------- */

Test(cluster, two_vms_talk_tcp_and_udp)
{
	struct run *r = new_run();
	cluster(r, "--vms 2 --ticks 500 -- /bin/pingpong 2 50");
	cr_assert_eq(r->rc, 0, "%s\n%s", r->out, r->console);
	cr_assert(count(r->console, "1:udp+tcp+") >= 5, "%s", r->console);
	cr_assert_str_eq(status(r, 0), "running");
	cr_assert_gt(num(r->report, "network.delivered"), 20);
	cr_assert_eq(num(r->report, "network.lost"), 0);
	free_run(r);
}

Test(cluster, three_vm_kvstore_replicates_and_holds_its_properties)
{
	struct run *r = new_run();
	cluster(r, "--vms 3 --ticks 1500");
	cr_assert_eq(r->rc, 0, "%s\n%s", r->out, r->console);
	cr_assert(strstr(r->console, "replicas=2/2"), "%s", r->console);
	cr_assert_eq(num(r->report, "properties.failed"), 0, "%s", r->out);
	for (int i = 0; i < 3; i++)
		cr_assert(json_is_true(
			json_object_get(vm(r, i), "setup_complete")));
	free_run(r);
}

/* --- determinism ------------------------------------------------------------
 */

#define SHORT "--vms 3 --ticks 250 --quiet -- /bin/pingpong 3 20"

Test(cluster, same_seed_same_hash_over_20_runs_threads_and_load)
{
	struct run *r = new_run();
	char first[17] = "";
	pid_t h = -1;
	for (int k = 0; k < 20; k++) {
		if (k == 10)
			h = cc_test_hog_start(); /* the other core, loaded */
		cluster(r, "--seed 7 --threads %d " SHORT, k % 3 + 1);
		cr_assert_eq(r->rc, 0, "%s", r->out);
		if (!k)
			snprintf(first, sizeof(first), "%s", hash(r));
		cr_assert_str_eq(hash(r), first, "run %d (threads %d%s)", k,
				 k % 3 + 1, k >= 10 ? ", loaded" : "");
		json_decref(r->report);
	}
	cc_test_hog_stop(h);
	cluster(r, "--seed 8 " SHORT);
	cr_assert_str_neq(hash(r), first, "seeds 7 and 8 ran alike");
	free_run(r);
}

/* --- the network's faults ------------------------------------------------- */

struct window {
	long from, to; /* guest ms */
	const char *want;
	size_t in, matched;
};

static void in_window(void *ctx, long t, const char *line)
{
	struct window *w = ctx;
	if (t < w->from || t >= w->to)
		return;
	w->in++;
	w->matched += strstr(line, w->want) != NULL;
}

/* Every round line in [from, to) says `want` (there is at least one). */
static void all_rounds(const char *console, long from, long to,
		       const char *want)
{
	struct window w = {from, to, want, 0, 0};
	rounds(console, in_window, &w);
	cr_assert(w.in > 0, "no rounds in [%ld, %ld):\n%s", from, to, console);
	cr_assert_eq(w.matched, w.in,
		     "%zu of %zu rounds in [%ld, %ld) say %s:\n%s", w.matched,
		     w.in, from, to, want, console);
}

Test(cluster, partition_stops_traffic_until_heal)
{
	struct run *r = new_run();
	const char *s = schedule(
		"partition", "{\"faults\": ["
			     "{\"at_ms\": 300, \"type\": \"network_partition\","
			     " \"sides\": [0, 1, 1]},"
			     "{\"at_ms\": 700, \"type\": \"network_heal\"}]}");
	cluster(r,
		"--vms 3 --gate none --ticks 1200 --schedule %s -- "
		"/bin/pingpong 3 50",
		s);
	cr_assert_eq(r->rc, 0, "%s\n%s", r->out, r->console);
	all_rounds(r->console, 150, 300, "1:udp+tcp+");
	all_rounds(r->console, 350, 700, "1:udp-tcp-");
	all_rounds(r->console, 350, 700, "2:udp-tcp-");
	all_rounds(r->console, 1000, 1200, "2:udp+tcp+");
	cr_assert_gt(num(r->report, "network.partitioned"), 10);
	free_run(r);
}

/* Init sets each node up the way a server expects (guest/init/system.c):
 * host name, MAC and address from its index, /etc/hosts naming every
 * node, the usual files and file systems, and the data disk (each node
 * its own overlay of one ext4 image) at /data. */
Test(cluster, init_gives_every_node_its_name_address_files_and_data)
{
	struct run *r = new_run();
	cc_test_make_disk();
	cluster(r, "--vms 2 --ticks 100 --data-disk " CC_TEST_DISK
		   " -- /bin/nodeinfo node0 node1 localhost");
	cr_assert_eq(r->rc, 0, "%s\n%s", r->out, r->console);
	char want[160];
	for (int i = 0; i < 2; i++) {
		const char *const lines[] = {
			"nodeinfo: host node%d\n",
			"nodeinfo: eth0 up 10.0.0.%d mac 52:54:00:12:34:0%d",
			"nodeinfo: lo up 127.0.0.1 ",
			"nodeinfo: resolve node0 10.0.0.1\n",
			"nodeinfo: resolve node1 10.0.0.2\n",
			"nodeinfo: resolve localhost 127.0.0.1\n",
			"nodeinfo: user root /root\n",
			"nodeinfo: /tmp tmpfs, /dev/shm tmpfs, /data ext4\n",
			"nodeinfo: /dev/null ok\n",
			"nodeinfo: /dev/urandom ok\n",
			"nodeinfo: /data/seed.txt hello from the host",
			"nodeinfo: /data/runs 1\n",
		};
		for (size_t k = 0; k < sizeof(lines) / sizeof(lines[0]); k++) {
			int n = snprintf(want, sizeof(want), "[vm%d] ", i);
			snprintf(want + n, sizeof(want) - (size_t)n, lines[k],
				 k == 1 ? i + 1 : i, i);
			cr_assert(strstr(r->console, want), "no '%s' in:\n%s",
				  want, r->console);
		}
	}
	free_run(r);
}

/* The n-th "nodeinfo: wall T ms" line of VM 0's console, or -1. */
static long long wall_ms(const char *console, int n)
{
	const char *p = console;
	for (int k = 0; (p = strstr(p, "[vm0] nodeinfo: wall ")); p++)
		if (k++ == n)
			return atoll(p + strlen("[vm0] nodeinfo: wall "));
	return -1;
}

/* ProcessRestart and ProcessCrash: the node boots again with the data it
 * had flushed (nodeinfo's fsync'ed run counter) and without what it had
 * not (a file written without a sync), and its wall clock goes on. */
Test(cluster, a_restarted_node_keeps_its_flushed_data_and_its_wall_clock)
{
	struct run *r = new_run();
	cc_test_make_disk();
	const char *s = schedule(
		"restart-data",
		"{\"faults\": [{\"at_ms\": 300, \"type\": "
		"\"process_restart\", \"vm\": 0}, {\"at_ms\": 600, \"type\": "
		"\"process_crash\", \"vm\": 0}]}");
	cluster(r,
		"--vms 1 --ticks 900 --gate none --schedule %s "
		"--data-disk " CC_TEST_DISK " -- /bin/nodeinfo --wait",
		s);
	cr_assert_eq(r->rc, 0, "%s\n%s", r->out, r->console);
	cr_assert_eq(num(vm(r, 0), "restarts"), 2, "%s", r->out);
	for (int k = 1; k <= 3; k++) {
		char want[64];
		snprintf(want, sizeof(want), "[vm0] nodeinfo: /data/runs %d\n",
			 k);
		cr_assert(strstr(r->console, want), "no '%s' in:\n%s", want,
			  r->console);
	}
	cr_assert_eq(count(r->console, "[vm0] nodeinfo: /data/unsynced absent"),
		     3, "%s", r->console);
	long long w0 = wall_ms(r->console, 0), w1 = wall_ms(r->console, 1),
		  w2 = wall_ms(r->console, 2);
	cr_assert(w0 > 0 && w1 >= w0 + 250 && w2 >= w1 + 250,
		  "wall clock %lld, %lld, %lld ms:\n%s", w0, w1, w2,
		  r->console);
	free_run(r);
}

/* A scenario file (docs/SCENARIOS.md) is the run its fields' flags make:
 * the same cluster hash; a flag overrides its field; the nodes' argument
 * templates expand per node. */
Test(cluster, a_scenario_file_is_the_run_its_flags_make)
{
	struct run *a = new_run(), *b = new_run(), *c = new_run(),
		   *d = new_run();
	const char *sched = "{\"faults\": [{\"at_ms\": 100, \"type\": "
			    "\"network_partition\", \"sides\": [0, 1, 1]}, "
			    "{\"at_ms\": 250, \"type\": \"network_heal\"}]}";
	char text[1024];
	snprintf(text, sizeof(text),
		 "{\"version\": 1, \"nodes\": 3, \"seed\": 5, \"ticks\": 400,"
		 " \"gate\": \"none\", \"program\": \"/bin/pingpong\","
		 " \"args\": [\"{n}\", \"50\"], \"schedule\": %s}",
		 sched);
	const char *sc = schedule("scenario", text);
	const char *file = schedule("scenario-faults", sched);
	cluster(a, "%s", sc);
	cluster(b,
		"--vms 3 --seed 5 --ticks 400 --gate none --schedule %s -- "
		"/bin/pingpong 3 50",
		file);
	cr_assert_eq(a->rc, 0, "%s\n%s", a->out, a->console);
	cr_assert_str_eq(hash(a), hash(b), "scenario %s, flags %s", hash(a),
			 hash(b));
	cr_assert_eq(json_array_size(json_object_get(a->report, "faults")), 2);
	cluster(c, "%s --seed 9", sc);
	cluster(d,
		"--vms 3 --seed 9 --ticks 400 --gate none --schedule %s -- "
		"/bin/pingpong 3 50",
		file);
	cr_assert_str_eq(hash(c), hash(d), "--seed overrides the file's");
	cr_assert_str_neq(hash(a), hash(c), "another seed, another run");
	free_run(a);
	free_run(b);
	free_run(c);
	free_run(d);
}

/* |got - n p| within 5 standard deviations of a binomial(n, p). */
static void binomial(json_int_t got, json_int_t n, double p, const char *what)
{
	double mean = n * p, sd = sqrt(n * p * (1 - p));
	cr_assert(fabs((double)got - mean) <= 5 * sd + 1,
		  "%s: %lld of %lld, expected %.1f +- %.1f", what,
		  (long long)got, (long long)n, mean, 5 * sd);
}

Test(cluster, loss_corruption_duplication_reorder_match_their_rates)
{
	struct run *r = new_run();
	char json[4096];
	int n = snprintf(json, sizeof(json), "{\"faults\": [");
	for (int v = 0; v < 3; v++)
		n += snprintf(json + n, sizeof(json) - (size_t)n,
			      "%s{\"at_ms\": 0, \"type\": \"packet_loss\", "
			      "\"vm\": %d, \"ppm\": 100000},"
			      "{\"at_ms\": 0, \"type\": \"packet_corruption\", "
			      "\"vm\": %d, \"ppm\": 50000},"
			      "{\"at_ms\": 0, \"type\": \"packet_duplicate\", "
			      "\"vm\": %d, \"ppm\": 100000},"
			      "{\"at_ms\": 0, \"type\": \"packet_reorder\", "
			      "\"vm\": %d, \"ppm\": 100000, \"ticks\": 3}",
			      v ? "," : "", v, v, v, v);
	snprintf(json + n, sizeof(json) - (size_t)n, "]}");
	cluster(r,
		"--vms 3 --gate none --ticks 1500 --schedule %s -- "
		"/bin/pingpong 3 20",
		schedule("rates", json));
	/* 1: a property failed - under these rates TCP may never get
	 * through to some peer, so "every peer answered" can stay false. */
	cr_assert(r->rc == 0 || r->rc == 1, "%s\n%s", r->out, r->console);
	json_int_t copies = num(r->report, "network.copies");
	json_int_t lost = num(r->report, "network.lost");
	json_int_t left = copies - lost - num(r->report, "network.unroutable");
	cr_assert_gt(copies, 500, "too little traffic: %s", r->out);
	binomial(lost, copies, 0.10, "lost");
	binomial(num(r->report, "network.corrupted"), left, 0.05, "corrupted");
	binomial(num(r->report, "network.duplicated"), left, 0.10,
		 "duplicated");
	binomial(num(r->report, "network.reordered"), left, 0.10, "reordered");
	/* The guests see it: some UDP pings went unanswered. */
	cr_assert(strstr(r->console, "udp-"), "%s", r->console);
	free_run(r);
}

struct rtts {
	long from;
	long lo, hi, n;
};

static void rtt_of(void *ctx, long t, const char *line)
{
	struct rtts *w = ctx;
	const char *p = strstr(line, "1:udp");
	p = p ? strstr(p, "rtt=") : NULL;
	if (t < w->from || !p)
		return;
	long v = atol(p + 4);
	w->lo = w->n && w->lo < v ? w->lo : v;
	w->hi = w->n && w->hi > v ? w->hi : v;
	w->n++;
}

Test(cluster, bandwidth_delay_follows_the_formula)
{
	/* 32 kbit/s on VM 1's link: a frame of L bytes is serialised in
	 * L * 8 * 1000 / 32000 ticks (the smaller cap of both ends), after
	 * the sender's link is free.  A TCP ping and its answer are 66-100
	 * bytes: 16-25 ticks each way; the round's UDP ping (42-60 bytes)
	 * and an ACK may queue ahead of them on either link.  The guest's
	 * clock ticks in 10 ms (HZ=100), hence the slack of one tick. */
	struct run *r = new_run();
	const char *s =
		schedule("bandwidth", "{\"faults\": [{\"at_ms\": 0, \"type\": "
				      "\"network_bandwidth\", \"vm\": 1, "
				      "\"bps\": 32000}]}");
	cluster(r,
		"--vms 2 --gate none --ticks 2000 --schedule %s -- "
		"/bin/pingpong 2 200",
		s);
	cr_assert_eq(r->rc, 0, "%s\n%s", r->out, r->console);
	struct rtts w = {.from = 500};
	rounds(r->console, rtt_of, &w);
	cr_assert_gt(w.n, 5, "%s", r->console);
	long lo = 2 * (66 * 8 * 1000 / 32000) - 10;
	long hi = 2 * (60 + 66 + 100) * 8 * 1000 / 32000 + 2 + 10;
	cr_assert(w.lo >= lo && w.hi <= hi,
		  "tcp rtt %ld-%ld ms, the formula says %ld-%ld:\n%s", w.lo,
		  w.hi, lo, hi, r->console);
	cr_assert_gt(num(r->report, "network.delayed_bandwidth"), 10);
	free_run(r);
}

/* --- processes
 * ------------------------------------------------------------------ */

Test(cluster, kill_pause_restart_change_status_and_the_guests_notice)
{
	struct run *r = new_run();
	const char *s = schedule(
		"process",
		"{\"faults\": ["
		"{\"at_ms\": 300, \"type\": \"process_pause\", \"vm\": 1,"
		" \"duration_ms\": 200},"
		"{\"at_ms\": 400, \"type\": \"process_kill\", \"vm\": 2},"
		"{\"at_ms\": 800, \"type\": \"process_restart\", \"vm\": 1}]}");
	cluster(r,
		"--vms 3 --gate none --ticks 1400 --schedule %s -- "
		"/bin/pingpong 3 50",
		s);
	cr_assert_eq(r->rc, 0, "%s\n%s", r->out, r->console);
	cr_assert_str_eq(status(r, 0), "running");
	cr_assert_str_eq(status(r, 1), "running");
	cr_assert_str_eq(status(r, 2), "killed");
	cr_assert_eq(num(vm(r, 1), "pauses"), 1);
	cr_assert_eq(num(vm(r, 1), "restarts"), 1);
	cr_assert_eq(num(vm(r, 2), "kills"), 1);
	all_rounds(r->console, 150, 300, "2:udp+tcp+");
	all_rounds(r->console, 350, 500, "1:udp-tcp-");	 /* paused */
	all_rounds(r->console, 600, 800, "1:udp+tcp+");	 /* resumed */
	all_rounds(r->console, 450, 1400, "2:udp-tcp-"); /* killed */
	/* The restarted node boots its program again and answers again. */
	cr_assert_eq(count(r->console, "[vm1] pingpong: node 1 of 3 up"), 2,
		     "%s", r->console);
	all_rounds(r->console, 1200, 1400, "1:udp+");
	free_run(r);
}

/* --- clocks, memory, interrupts
 * ------------------------------------------------- */

struct skews {
	long from;
	long s1, s2;
	bool seen;
};

static void skew_of(void *ctx, long t, const char *line)
{
	struct skews *w = ctx;
	if (w->from == 100 && t >= 300)
		return; /* "before": rounds up to the faults only */
	const char *a = strstr(line, "1:udp"), *b = strstr(line, "2:udp");
	a = a ? strstr(a, "skew=") : NULL;
	b = b ? strstr(b, "skew=") : NULL;
	if (t < w->from || !a || !b || a[5] == '?' || b[5] == '?')
		return;
	w->s1 = atol(a + 5);
	w->s2 = atol(b + 5);
	w->seen = true; /* the last such round wins */
}

Test(cluster, clock_faults_memory_pressure_and_nmi_seen_by_the_guests)
{
	struct run *r = new_run();
	const char *s = schedule(
		"clock",
		"{\"faults\": ["
		"{\"at_ms\": 300, \"type\": \"clock_jump\", \"vm\": 1,"
		" \"offset_ms\": 400},"
		"{\"at_ms\": 300, \"type\": \"clock_skew\", \"vm\": 2,"
		" \"offset_ms\": 100},"
		"{\"at_ms\": 300, \"type\": \"memory_pressure\", \"vm\": 0,"
		" \"bytes\": 67108864},"
		"{\"at_ms\": 400, \"type\": \"nmi\", \"vm\": 2},"
		"{\"at_ms\": 400, \"type\": \"interrupt\", \"vm\": 1,"
		" \"irq\": 4}]}");
	cluster(r,
		"--vms 3 --gate none --ticks 1300 --schedule %s -- "
		"/bin/pingpong 3 100",
		s);
	cr_assert_eq(r->rc, 0, "%s\n%s", r->out, r->console);
	struct skews before = {.from = 100}, after = {.from = 1200};
	rounds(r->console, skew_of, &before); /* the last before 300 */
	rounds(r->console, skew_of, &after);
	cr_assert(after.seen, "%s", r->console);
	/* Peers' clocks agree at first; then VM 1 jumped 400 ms ahead and
	 * VM 2 ran 100 ms/s fast for ~1 s. */
	cr_assert(before.seen && labs(before.s1) <= 10 && labs(before.s2) <= 10,
		  "skews before the faults %ld %ld:\n%s", before.s1, before.s2,
		  r->console);
	/* The skew is one clock's reading minus another's, and each ticks
	 * in 10 ms (HZ=100): up to a tick off either way, two of slack.  At
	 * the last round (t=1210) VM 2 has run fast for 910 ms: +91 ms. */
	cr_assert(after.s1 >= 380 && after.s1 <= 420, "vm1 skew %ld:\n%s",
		  after.s1, r->console);
	cr_assert(after.s2 >= 71 && after.s2 <= 111, "vm2 skew %ld:\n%s",
		  after.s2, r->console);
	cr_assert(strstr(r->console, "[vm0] cc-init: memory limit 64 MiB"),
		  "%s", r->console);
	cr_assert(strstr(r->console, "[vm2] ") &&
			  strstr(r->console, "NMI received"),
		  "%s", r->console);
	free_run(r);
}

/* --- disks
 * ------------------------------------------------------------------------ */

Test(cluster, disk_faults_surface_as_errors_in_the_guest)
{
	cc_test_make_disk();
	struct run *r = new_run();
	const char *s = schedule(
		"disk", "{\"faults\": ["
			"{\"at_ms\": 0, \"type\": \"disk_write_error\","
			" \"vm\": 0}]}");
	cluster(r,
		"--vms 1 --gate none --ticks 20000 --disk %s "
		"--schedule %s -- /bin/diskcheck write",
		CC_TEST_DISK, s);
	cr_assert(strstr(r->console, "EIO"), "%s", r->console);
	cr_assert_str_eq(status(r, 0), "halted"); /* diskcheck ended */
	s = schedule("disk-full", "{\"faults\": ["
				  "{\"at_ms\": 0, \"type\": \"disk_full\","
				  " \"vm\": 0}]}");
	json_decref(r->report);
	cluster(r,
		"--vms 1 --gate none --ticks 20000 --disk %s "
		"--schedule %s -- /bin/diskcheck write",
		CC_TEST_DISK, s);
	cr_assert(strstr(r->console, "ENOSPC"), "%s", r->console);
	free_run(r);
}

/* --- cluster snapshots
 * ------------------------------------------------------------- */

Test(cluster, snapshot_mid_traffic_restored_100_times_matches)
{
	struct run *r = new_run();
	cluster(r, "--vms 3 --seed 3 --ticks 400 --restore-check 360:100 "
		   "--quiet");
	cr_assert_eq(r->rc, 0, "%s\n%s", r->out, r->console);
	cr_assert(strstr(r->console, "restore-check: 100/100 runs restored"),
		  "%s", r->console);
	/* In the middle of traffic: frames were in flight. */
	cr_assert_gt(num(r->report, "network.sent"), 100);
	free_run(r);
}

/* --- the command line
 * --------------------------------------------------------------- */

Test(cluster, bad_command_lines_and_schedules_are_refused)
{
	char out[4096];
	cr_assert_eq(cc_test_sh(out, sizeof(out), CC " run --vms 0 2>&1"), 2,
		     "%s", out);
	cr_assert_eq(cc_test_sh(out, sizeof(out),
				CC " run --vms 2 --ticks 10 --restore-check "
				   "20 2>&1"),
		     2, "%s", out);
	const char *s = schedule("bad", "{\"faults\": [{\"at_ms\": 1, "
					"\"type\": \"process_kill\", "
					"\"vm\": 5}]}");
	cr_assert_eq(cc_test_sh(out, sizeof(out),
				CC " run --vms 2 --schedule %s 2>&1", s),
		     2, "%s", out);
	cr_assert(strstr(out, "vm"), "%s", out);
}
