/*
 * Recordings (replay/recording.h): what the recorder writes reads back
 * event for event; a file cut anywhere, a byte changed, a newer version
 * or an input that changed since is refused with a clear message; a
 * failed run leaves nothing at the path and a recording already there
 * is untouched.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "replay/recording.h"

static char dir[] = "/tmp/cc-rec-XXXXXX";
static char path[256], input[256];

static void setup(void)
{
	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/rec.jsonl", dir);
	snprintf(input, sizeof(input), "%s/scenario.json", dir);
	FILE *f = fopen(input, "w");
	cr_assert(f);
	fputs("{\"nodes\": 3}\n", f);
	fclose(f);
}

static void teardown(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(recording, .init = setup, .fini = teardown);

static const char *const lines[] = {
	"{\"i\":0,\"tick\":0,\"type\":\"checkpoint\",\"n\":0,\"trace_hash\":"
	"\"00000000000000aa\",\"vms\":[]}",
	"{\"i\":1,\"tick\":2,\"type\":\"fault\",\"fault\":{\"at_ms\":2,"
	"\"type\":\"network_heal\"}}",
	"{\"i\":2,\"tick\":2,\"type\":\"serial\",\"vm\":1,\"line\":"
	"\"a\\u00ff\"}",
	"{\"i\":3,\"tick\":7,\"type\":\"assert\",\"vm\":2,\"property\":\"p\","
	"\"condition\":false,\"record\":{}}",
	"{\"i\":4,\"tick\":7,\"type\":\"bug\",\"vm\":2,\"kind\":\"always\","
	"\"id\":\"p\",\"what\":\"x\"}",
	"{\"i\":5,\"tick\":9,\"type\":\"checkpoint\",\"n\":1,\"trace_hash\":"
	"\"00000000000000bb\",\"vms\":[]}",
};
#define NLINES (sizeof(lines) / sizeof(lines[0]))

static enum cc_event_type type_of(const char *line)
{
	char name[32];
	const char *t = strstr(line, "\"type\":\"") + 8;
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(t, "\""), t);
	return (enum cc_event_type)cc_event_type_parse(name);
}

/* Records the lines above with the scenario on its command line. */
static void write_recording(const char *to)
{
	struct cc_recorder w;
	struct cc_err e;
	char *argv[] = {input, "--seed", "7", NULL};
	cr_assert_eq(cc_recorder_open(&w, to, 3, argv, 50, &e), 0, "%s", e.msg);
	struct stat st;
	cr_assert(stat(to, &st), "nothing at the path before the commit");
	for (size_t k = 0; k < NLINES; k++) {
		struct cc_obs_event ev = {.index = k,
					  .type = type_of(lines[k]),
					  .text = lines[k],
					  .len = strlen(lines[k])};
		cc_recorder_event(&w, &ev);
	}
	cr_assert_eq(cc_recorder_commit(&w, 10, 0xbb, &e), 0, "%s", e.msg);
}

static char *slurp(const char *p, size_t *len)
{
	uint8_t *d;
	struct cc_err e;
	cr_assert_eq(cc_read_file(p, "test", &d, len, &e), 0, "%s", e.msg);
	return (char *)d;
}

/* Parses a copy of [text, text+len); 0 or -1 with the message. */
static int parse_copy(const char *text, size_t len, struct cc_err *e)
{
	char *c = malloc(len + 1);
	memcpy(c, text, len);
	struct cc_recording r;
	int rc = cc_recording_parse(&r, c, len, e);
	if (!rc)
		cc_recording_free(&r);
	return rc;
}

Test(recording, what_is_written_reads_back_event_for_event)
{
	write_recording(path);
	struct cc_recording r;
	struct cc_err e;
	cr_assert_eq(cc_recording_load(&r, path, &e), 0, "%s", e.msg);
	cr_assert_eq(r.nev, NLINES);
	for (size_t k = 0; k < NLINES; k++)
		cr_assert_str_eq(r.ev[k].line, lines[k]);
	cr_assert_eq(r.ev[2].vm, 1);
	cr_assert_eq(r.ev[2].type, CC_EV_SERIAL);
	cr_assert(r.ev[3].failed, "a false assertion is marked failed");
	cr_assert_eq(r.ev[1].vm, -1);
	cr_assert_eq(r.checkpoints, 2);
	cr_assert_eq(r.bugs, 1);
	cr_assert_eq(r.ticks, 10);
	cr_assert_eq(r.trace_hash, 0xbb);
	cr_assert_eq(r.every, 50);
	cr_assert_eq(r.argc, 3);
	cr_assert_str_eq(r.argv[1], "--seed");
	cr_assert_null(r.argv[3]);
	cr_assert_eq(r.nfiles, 1, "the scenario on the command line is hashed");
	cr_assert_str_eq(r.file[0].path, input);
	cr_assert_eq(cc_recording_check_files(&r, &e), 0, "%s", e.msg);
	FILE *f = fopen(input, "a");
	fputs(" ", f);
	fclose(f);
	cr_assert_eq(cc_recording_check_files(&r, &e), -1);
	cr_assert(strstr(e.msg, "changed since it was recorded"), "%s", e.msg);
	cc_recording_free(&r);
}

Test(recording, a_file_cut_anywhere_is_refused)
{
	write_recording(path);
	size_t len;
	char *text = slurp(path, &len);
	struct cc_err e;
	cr_assert_eq(parse_copy(text, len, &e), 0, "%s", e.msg);
	for (size_t cut = 0; cut < len; cut++) {
		cr_assert_eq(parse_copy(text, cut, &e), -1, "cut at %zu", cut);
		cr_assert(e.msg[0]);
	}
	cr_assert_eq(parse_copy(text, len - 1, &e), -1);
	cr_assert(strstr(e.msg, "truncated"), "%s", e.msg);
	free(text);
}

Test(recording, a_changed_byte_is_refused)
{
	write_recording(path);
	size_t len;
	char *text = slurp(path, &len);
	struct cc_err e;
	/* Every byte of the header and the events, changed but still
	 * valid JSON where it is a digit: the checksum sees it. */
	char *last = memrchr(text, '\n', len - 1) + 1;
	size_t refused = 0, changed = 0;
	for (char *p = text; p < last; p++) {
		if (*p < '0' || *p > '8')
			continue;
		changed++;
		(*p)++;
		refused += parse_copy(text, len, &e) == -1;
		(*p)--;
	}
	cr_assert_gt(changed, 20);
	cr_assert_eq(refused, changed);
	char *d = strstr(text, "u00ff");
	d[2] = '1';
	cr_assert_eq(parse_copy(text, len, &e), -1);
	cr_assert(strstr(e.msg, "corrupt"), "%s", e.msg);
	free(text);
}

Test(recording, a_newer_version_or_another_format_is_named)
{
	struct cc_err e;
	const char *v2 =
		"{\"format\":\"chaoscontrol-recording\",\"version\":2}\n"
		"{\"end\":true}\n";
	cr_assert_eq(parse_copy(v2, strlen(v2), &e), -1);
	cr_assert(strstr(e.msg, "version 2; this build reads version 1"), "%s",
		  e.msg);
	const char *other = "{\"format\":\"chaoscontrol-reproducer\"}\n{}\n";
	cr_assert_eq(parse_copy(other, strlen(other), &e), -1);
	cr_assert(strstr(e.msg, "not a chaoscontrol recording"), "%s", e.msg);
	cr_assert_eq(parse_copy("\0\n\n", 3, &e), -1);
	cr_assert(strstr(e.msg, "NUL"), "%s", e.msg);
}

Test(recording, events_out_of_order_are_refused)
{
	write_recording(path);
	size_t len;
	char *text = slurp(path, &len);
	struct cc_err e;
	char *t = strstr(text, "\"tick\":9");
	t[7] = '1'; /* tick 1 after tick 7 */
	cr_assert_eq(parse_copy(text, len, &e), -1);
	cr_assert(strstr(e.msg, "back in time"), "%s", e.msg);
	t[7] = '9';
	char *i = strstr(text, "\"i\":4");
	i[4] = '3';
	cr_assert_eq(parse_copy(text, len, &e), -1);
	cr_assert(strstr(e.msg, "is event 3, not 4"), "%s", e.msg);
	free(text);
}

Test(recording, a_failed_recording_leaves_the_old_file_alone)
{
	write_recording(path);
	size_t len0;
	char *before = slurp(path, &len0);
	struct cc_recorder w;
	struct cc_err e;
	char *argv[] = {"--vms", "2", NULL};
	cr_assert_eq(cc_recorder_open(&w, path, 2, argv, 10, &e), 0);
	struct cc_obs_event ev = {.type = CC_EV_SERIAL, .text = "{}", .len = 2};
	cc_recorder_event(&w, &ev);
	cc_recorder_abandon(&w); /* the run failed */
	size_t len1;
	char *after = slurp(path, &len1);
	cr_assert_eq(len0, len1);
	cr_assert_eq(memcmp(before, after, len0), 0);
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	cr_assert_neq(access(tmp, F_OK), 0, "no temporary file left");
	free(before);
	free(after);
}
