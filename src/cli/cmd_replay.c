/*
 * `chaoscontrol replay REC`: runs a recording's command line again in
 * this process and checks, event by event, that the execution is the
 * recorded one - the same lines (replay/observer.h), so the same cluster
 * trace hash and VM digests at every checkpoint.  The first event that
 * differs is shown with the events before it, as `determinism` does.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../replay/observer.h"
#include "../replay/recording.h"
#include "../sim/controller.h"
#include "cli.h"

static const char help[] =
	"usage: chaoscontrol replay [--console] RECORDING\n"
	"\n"
	"Runs the recorded `run` again (its scenario files must be as they\n"
	"were) and compares every event with the recording: faults, status\n"
	"changes, console lines, frames, SDK records, bugs and checkpoints\n"
	"(the cluster trace hash, each VM's registers and a hash of its\n"
	"RAM).  Stops at the first event that differs and shows it.\n"
	"\n"
	"  --console   show the guests' console lines as they come\n"
	"\n"
	"exit status: 0 identical; 2 usage; 3 set-up error or a bad\n"
	"recording; 6 the replay diverged.\n";

struct compare {
	const struct cc_recording *r;
	uint64_t next; /* index of the next event to compare */
	uint64_t checkpoints;
	bool diverged;
	uint64_t at; /* the first differing event */
	char *got;   /* its line in the replay */
	bool console;
};

static void on_event(void *ctx, const struct cc_obs_event *e)
{
	struct compare *c = ctx;
	if (c->console && e->type == CC_EV_SERIAL)
		fprintf(stdout, "%.*s\n", (int)e->len, e->text);
	if (c->diverged)
		return;
	const struct cc_rec_event *want =
		c->next < c->r->nev ? &c->r->ev[c->next] : NULL;
	if (!want || want->len != e->len ||
	    memcmp(want->line, e->text, e->len)) {
		c->diverged = true;
		c->at = c->next;
		c->got = strndup(e->text, e->len);
		return;
	}
	c->checkpoints += e->type == CC_EV_CHECKPOINT;
	c->next++;
}

static void show_divergence(const struct compare *c)
{
	const struct cc_recording *r = c->r;
	uint64_t from = c->at > 3 ? c->at - 3 : 0;
	printf("replay: DIVERGED at event %" PRIu64 "\n", c->at);
	for (uint64_t k = from; k < c->at; k++)
		printf("    same      %s\n", r->ev[k].line);
	printf("    recorded  %s\n",
	       c->at < r->nev ? r->ev[c->at].line : "(the recording ends)");
	printf("    replayed  %s\n", c->got ? c->got : "(the replay ended)");
}

static int replay(const struct cc_recording *r, bool console)
{
	struct cc_err e;
	if (cc_recording_check_files(r, &e)) {
		fprintf(stderr, "chaoscontrol: replay: %s\n", e.msg);
		return CC_EXIT_SETUP;
	}
	if (chdir(r->cwd)) {
		fprintf(stderr, "chaoscontrol: replay: cannot enter %s\n",
			r->cwd);
		return CC_EXIT_SETUP;
	}
	char **argv = calloc(r->argc + 3, sizeof(*argv));
	if (!argv)
		return CC_EXIT_SETUP;
	argv[0] = "run";
	for (size_t k = 0; k < r->argc; k++)
		argv[k + 1] = r->argv[k];
	struct cc_cli_cluster *cl;
	struct cc_cli_cluster_info info;
	int rc = cc_cli_cluster_open((int)r->argc + 1, argv, &cl, &info);
	free(argv);
	if (rc)
		return rc;
	static struct compare c;
	static struct cc_observer ob;
	c = (struct compare){.r = r, .console = console};
	double t0 = cc_cli_wall_s();
	rc = cc_observer_attach(&ob, info.sim, r->every, on_event, &c, &e);
	if (!rc)
		rc = cc_cli_cluster_execute(cl, &e);
	if (!rc && ob.failed) {
		rc = -1;
		e = ob.err;
	}
	if (!rc)
		rc = cc_observer_checkpoint(&ob, &e);
	cc_observer_detach(&ob);
	uint64_t hash = cc_sim_trace_hash(info.sim), ticks = info.sim->tick;
	cc_cli_cluster_close(cl);
	if (rc) {
		fprintf(stderr, "chaoscontrol: replay: %s\n", e.msg);
		free(c.got);
		return CC_EXIT_SETUP;
	}
	if (!c.diverged && c.next != r->nev) {
		c.diverged = true;
		c.at = c.next;
	}
	fflush(stdout);
	if (c.diverged) {
		show_divergence(&c);
		free(c.got);
		return CC_EXIT_DIVERGED;
	}
	printf("replay: identical: %zu events, %" PRIu64
	       " checkpoints, %" PRIu64 " ticks, trace-hash %016" PRIx64
	       " (recorded %016" PRIx64 "), %.1f s\n",
	       r->nev, c.checkpoints, ticks, hash, r->trace_hash,
	       cc_cli_wall_s() - t0);
	return hash == r->trace_hash ? CC_EXIT_OK : CC_EXIT_DIVERGED;
}

int cc_cmd_replay(int argc, char **argv)
{
	bool console = false;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(help, stdout);
			return CC_EXIT_OK;
		}
		if (!strcmp(argv[i], "--console"))
			console = true;
		else if (argv[i][0] != '-' && !path)
			path = argv[i];
		else {
			fprintf(stderr,
				"chaoscontrol: replay: unexpected '%s' (see "
				"replay --help)\n",
				argv[i]);
			return CC_EXIT_USAGE;
		}
	}
	if (!path) {
		fputs(help, stderr);
		return CC_EXIT_USAGE;
	}
	static struct cc_recording r;
	struct cc_err e;
	if (cc_recording_load(&r, path, &e)) {
		fprintf(stderr, "chaoscontrol: %s\n", e.msg);
		return CC_EXIT_SETUP;
	}
	int rc = replay(&r, console);
	cc_recording_free(&r);
	return rc;
}
