/*
 * Recordings of real clusters (docs/REPLAY.md): a 2-VM pingpong under a
 * partition and heal, recorded with `run --record`, replays event for
 * event in a fresh process; a recording whose event says something the
 * run does not do is shown diverging at that event; a recording cut
 * short is refused.  Everything through the `chaoscontrol` binary.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

#include "helpers.h"

#define CC  CC_BUILD_DIR "/chaoscontrol"
#define DIR CC_BUILD_DIR "/tests/replay"

TestSuite(replay, .timeout = 3600);

static char out[1 << 20];

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert(f, "no %s", path);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	char *p = malloc(*len + 1);
	cr_assert_eq(fread(p, 1, *len, f), *len);
	p[*len] = 0;
	fclose(f);
	return p;
}

/* Writes text as a recording again, its end line's checksum made to
 * match, as a careful forger (or a real divergence) would. */
static void write_resealed(const char *path, char *text, size_t len)
{
	char *last = memrchr(text, '\n', len - 1) + 1;
	char *x = strstr(last, "\"xxh3\":\"0x");
	cr_assert(x);
	char hex[17];
	snprintf(hex, sizeof(hex), "%016llx",
		 (unsigned long long)XXH3_64bits(text, (size_t)(last - text)));
	memcpy(x + 10, hex, 16);
	FILE *f = fopen(path, "wb");
	cr_assert(f);
	fwrite(text, 1, len, f);
	fclose(f);
}

Test(replay, a_recorded_cluster_replays_event_for_event)
{
	mkdir(DIR, 0755);
	FILE *f = fopen(DIR "/sched.json", "w");
	cr_assert(f);
	fputs("{\"faults\": [{\"at_ms\": 100, \"type\": \"network_partition\","
	      " \"sides\": [0, 1]}, {\"at_ms\": 200, \"type\": "
	      "\"network_heal\"}]}\n",
	      f);
	fclose(f);
	const char *rec = DIR "/pingpong.rec";
	int rc = cc_test_sh(
		out, sizeof(out),
		"%s run --vms 2 --seed 3 --ticks 300 --gate none "
		"--schedule %s/sched.json --quiet --json --record %s "
		"--checkpoint-every 50 -- /bin/pingpong 2 50 2>&1",
		CC, DIR, rec);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "chaoscontrol: recorded "), "%s", out);
	size_t len;
	char *text = slurp(rec, &len);
	/* A checkpoint at 0, every 50 ticks and at the end (300). */
	size_t cps = 0;
	for (char *p = text; (p = strstr(p, "\"type\":\"checkpoint\"")); p++)
		cps++;
	cr_assert_eq(cps, 7, "%zu checkpoints", cps);
	cr_assert(strstr(text, "\"type\":\"fault\""), "the faults are events");
	cr_assert(strstr(text, "\"stage\":\"partition\""),
		  "the partition's drops are events");
	cr_assert(strstr(text, "\"type\":\"deliver\""));
	cr_assert(strstr(text, "\"type\":\"serial\""));

	rc = cc_test_sh(out, sizeof(out), "%s replay %s 2>&1", CC, rec);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "replay: identical: "), "%s", out);

	/* A console line the run never printed: the replay stops there and
	 * shows both lines. */
	char *line = strstr(text, "\"type\":\"serial\"");
	char *q = strstr(line, "\"line\":\"") + 8;
	*q = *q == 'Z' ? 'Y' : 'Z';
	write_resealed(DIR "/forged.rec", text, len);
	rc = cc_test_sh(out, sizeof(out), "%s replay %s/forged.rec 2>&1", CC,
			DIR);
	cr_assert_eq(rc, 6, "%s", out);
	cr_assert(strstr(out, "replay: DIVERGED at event "), "%s", out);
	cr_assert(strstr(out, "recorded ") && strstr(out, "replayed "), "%s",
		  out);

	/* Cut short: refused before anything runs. */
	f = fopen(DIR "/cut.rec", "wb");
	fwrite(text, 1, len / 2, f);
	fclose(f);
	rc = cc_test_sh(out, sizeof(out), "%s replay %s/cut.rec 2>&1", CC, DIR);
	cr_assert_eq(rc, 3, "%s", out);
	cr_assert(strstr(out, "truncated"), "%s", out);
	free(text);
}
