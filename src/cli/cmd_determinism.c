/*
 * `chaoscontrol determinism`: run one configuration N times, each in a
 * fresh process, and prove the executions identical - or show the first
 * event where they diverge.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../replay/divergence.h"
#include "cli.h"

#define MAX_RUNS 10000
#define MAX_ARGS 256

static const char help[] =
	"usage: chaoscontrol determinism --runs N [--keep DIR] [run options]\n"
	"\n"
	"Runs `chaoscontrol run [run options]` N times, each in a fresh\n"
	"process, with an event trace each, and compares the trace hashes.\n"
	"Prints `identical: N runs, trace-hash: H`, or the first divergent\n"
	"event (index, virtual time, exit, RIP) with the events before it.\n"
	"\n"
	"  --runs N     number of runs (default 2)\n"
	"  --keep DIR   keep the traces in DIR (default: a temporary\n"
	"               directory, removed afterwards)\n"
	"  everything else is passed to `chaoscontrol run` (see its --help)\n"
	"\n"
	"exit status: 0 identical; 6 diverged; 2 usage; 3 a run failed to\n"
	"produce a trace.\n";

struct opts {
	unsigned runs;
	const char *keep;
	char *pass[MAX_ARGS];
	int npass;
};

static int parse(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->runs = 2;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(help, stdout);
			exit(CC_EXIT_OK);
		} else if (!strcmp(a, "--runs") && i + 1 < argc) {
			char *end;
			unsigned long v = strtoul(argv[++i], &end, 10);
			if (*end || v < 2 || v > MAX_RUNS) {
				fprintf(stderr,
					"chaoscontrol: --runs wants 2 to "
					"%d, got '%s'\n",
					MAX_RUNS, argv[i]);
				return CC_EXIT_USAGE;
			}
			o->runs = (unsigned)v;
		} else if (!strcmp(a, "--keep") && i + 1 < argc) {
			o->keep = argv[++i];
		} else if (!strcmp(a, "--trace") || !strcmp(a, "--json")) {
			fprintf(stderr,
				"chaoscontrol: determinism sets %s "
				"itself\n",
				a);
			return CC_EXIT_USAGE;
		} else if (o->npass < MAX_ARGS - 8) {
			o->pass[o->npass++] = argv[i];
		}
	}
	return 0;
}

/* Runs one child; returns 0 and its trace hash, or -1. */
static int one_run(const struct opts *o, const char *trace, char hash[17])
{
	int fds[2];
	if (pipe(fds) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[MAX_ARGS + 8];
		int n = 0;
		argv[n++] = "chaoscontrol";
		argv[n++] = "run";
		for (int i = 0; i < o->npass; i++)
			argv[n++] = o->pass[i];
		argv[n++] = "--quiet";
		argv[n++] = "--json";
		argv[n++] = "--trace";
		argv[n++] = (char *)trace;
		argv[n] = NULL;
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0)
			dup2(devnull, STDERR_FILENO);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	json_error_t je;
	json_t *j = f ? json_loadf(f, 0, &je) : NULL;
	if (f)
		fclose(f);
	int st;
	waitpid(pid, &st, 0);
	const char *h =
		j ? json_string_value(json_object_get(j, "trace_hash")) : NULL;
	int rc = -1;
	if (h && strlen(h) == 16) {
		memcpy(hash, h, 17);
		rc = 0;
	}
	json_decref(j);
	return rc;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int report_divergence(const char *dir, unsigned k)
{
	char pa[4096], pb[4096], na[32], nb[32];
	snprintf(pa, sizeof(pa), "%s/run-0.trace", dir);
	snprintf(pb, sizeof(pb), "%s/run-%u.trace", dir, k);
	snprintf(na, sizeof(na), "run 0");
	snprintf(nb, sizeof(nb), "run %u", k);
	struct cc_trace_record *a = NULL, *b = NULL;
	uint64_t nra, nrb, fa, fb;
	struct cc_err e;
	if (cc_trace_load(pa, &a, &nra, &fa, &e) ||
	    cc_trace_load(pb, &b, &nrb, &fb, &e)) {
		fprintf(stderr, "chaoscontrol: %s\n", e.msg);
		free(a);
		return CC_EXIT_SETUP;
	}
	/* A run that started from the boot cache traces from its ready
	 * point: compare from where both traces have events. */
	uint64_t base = fa > fb ? fa : fb;
	uint64_t sa = base - fa < nra ? base - fa : nra;
	uint64_t sb = base - fb < nrb ? base - fb : nrb;
	struct cc_divergence d;
	cc_divergence_find(a + sa, nra - sa, b + sb, nrb - sb, &d);
	printf("diverged: run %u differs from run 0\n", k);
	cc_divergence_print(stdout, &d, base, na, a + sa, nra - sa, nb, b + sb,
			    nrb - sb, 5);
	free(a);
	free(b);
	return CC_EXIT_DIVERGED;
}

int cc_cmd_determinism(int argc, char **argv)
{
	struct opts o;
	int rc = parse(argc, argv, &o);
	if (rc)
		return rc;
	char tmp[] = "/tmp/cc-determinism-XXXXXX";
	const char *dir = o.keep;
	if (dir && mkdir(dir, 0755) < 0 && errno != EEXIST) {
		perror("chaoscontrol: --keep");
		return CC_EXIT_SETUP;
	}
	if (!dir && !(dir = mkdtemp(tmp))) {
		perror("chaoscontrol: temporary directory");
		return CC_EXIT_SETUP;
	}
	char first[17] = "", hash[17];
	unsigned diverged = 0;
	rc = CC_EXIT_OK;
	for (unsigned i = 0; i < o.runs && rc == CC_EXIT_OK; i++) {
		char trace[4096];
		snprintf(trace, sizeof(trace), "%s/run-%u.trace", dir, i);
		double t0 = now_s();
		if (one_run(&o, trace, hash)) {
			fprintf(stderr,
				"chaoscontrol: run %u produced no trace "
				"hash (try the same options with "
				"`chaoscontrol run`)\n",
				i);
			rc = CC_EXIT_SETUP;
			break;
		}
		fprintf(stderr, "run %u/%u: trace-hash %s (%.2f s)\n", i + 1,
			o.runs, hash, now_s() - t0);
		if (i == 0)
			memcpy(first, hash, sizeof(first));
		else if (strcmp(hash, first) && !diverged)
			diverged = i;
	}
	if (rc == CC_EXIT_OK && diverged)
		rc = report_divergence(dir, diverged);
	else if (rc == CC_EXIT_OK)
		printf("identical: %u runs, trace-hash: %s\n", o.runs, first);
	if (!o.keep) {
		for (unsigned i = 0; i < o.runs; i++) {
			char trace[4096];
			snprintf(trace, sizeof(trace), "%s/run-%u.trace", dir,
				 i);
			unlink(trace);
		}
		rmdir(dir);
	}
	return rc;
}
