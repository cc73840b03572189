/*
 * The observer: what a running cluster does, as a stream of events, one
 * JSON object per line (docs/REPLAY.md lists the types and fields):
 *
 *   fault       a fault applied (its schedule entry)
 *   status      a VM's status changed (halted ones say how they stopped)
 *   serial      a console line
 *   send        a frame a VM sent (length, XXH3 of its bytes)
 *   deliver     a copy handed to its receiver (or its paused inbox)
 *   drop        a copy dropped, and the stage that dropped it
 *   reseed      every random stream restarted (a fork)
 *   choice      a random_choice answer forced (input-tree mode)
 *   assert      an SDK assertion hit (the SDK record as the guest sent it)
 *   sdk         any other SDK record (catalog entries, setup_complete)
 *   bug         a property broken, a crash (the branch's rules)
 *   checkpoint  the cluster's trace hash and each VM's digest
 *               (vmm/snapshot.h): every `every` ticks, at the start and
 *               at the end
 *
 * Every line starts {"i":N,"tick":T,"type":"...","vm":V and is made by
 * this module's own encoder, so the same run gives the same bytes: the
 * recorder writes them, replay compares them, the debugger walks them.
 * An event's tick is the round it happened in (s->tick during the
 * round); a checkpoint's is the cluster's tick after the round, the tick
 * a seek to it lands on.  Console bytes that are not printable ASCII
 * are written as \u00XX, so any guest output is valid JSON.
 *
 * The observer's own state (events so far, SDK records passed on, bugs
 * seen) is plain data: the debugger keeps a copy with each cluster
 * snapshot so a restore puts both back.
 */
#ifndef CC_REPLAY_OBSERVER_H
#define CC_REPLAY_OBSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/err.h"
#include "../run/branch.h"
#include "../sim/controller.h"

#define CC_OBS_MAX_BUGS	     64u
#define CC_OBS_DEFAULT_EVERY 100u /* ticks between checkpoints */

enum cc_event_type {
	CC_EV_FAULT,
	CC_EV_STATUS,
	CC_EV_SERIAL,
	CC_EV_SEND,
	CC_EV_DELIVER,
	CC_EV_DROP,
	CC_EV_RESEED,
	CC_EV_CHOICE,
	CC_EV_ASSERT,
	CC_EV_SDK,
	CC_EV_BUG,
	CC_EV_CHECKPOINT,
	CC_EV__COUNT,
};

const char *cc_event_type_name(enum cc_event_type t);
/* -1 when name is none of them. */
int cc_event_type_parse(const char *name);

/* One event as the observer hands it on; text is its line (no newline),
 * valid until the callback returns. */
struct cc_obs_event {
	uint64_t index, tick;
	enum cc_event_type type;
	int vm;	     /* -1: the cluster */
	bool failed; /* an assertion whose condition was false */
	const char *text;
	size_t len;
};

struct cc_observer_state {
	uint64_t events;
	uint64_t checkpoints;
	uint64_t last_cp; /* 1 + the tick of the last checkpoint; 0 = none */
	uint64_t records[CC_SIM_MAX_VMS]; /* SDK records passed on, per VM */
	struct {
		uint8_t kind;
		char id[160];
	} bug[CC_OBS_MAX_BUGS];
	size_t nbugs;
	uint64_t bugs_dropped;
};

struct cc_observer {
	struct cc_sim *s;
	uint64_t every; /* checkpoint interval, ticks; 0 = start and end */
	struct cc_observer_state st;
	void (*emit)(void *ctx, const struct cc_obs_event *e);
	void *ctx;
	/* The console callback the observer took the place of. */
	void (*on_serial)(void *ctx, unsigned vm, const char *line, size_t len);
	void *serial_ctx;
	char *buf; /* the line being built */
	size_t len, cap;
	bool oom;
	int failed; /* a digest could not be taken: err says why */
	struct cc_err err;
};

/*
 * Watches s from now on: hooks its event stream, its rounds and its
 * console (the console callback it had still sees every line), and
 * emits the first checkpoint.  -1 with err when the digest fails.
 */
int cc_observer_attach(struct cc_observer *o, struct cc_sim *s, uint64_t every,
		       void (*emit)(void *ctx, const struct cc_obs_event *e),
		       void *ctx, struct cc_err *err);
/* After each round (called by the controller): the SDK records it
 * brought, the bugs they show, and the checkpoint when one is due.  A
 * failure is kept in o->failed and o->err: check it after the run. */
void cc_observer_round(void *observer);
/* A checkpoint now (the end of a run), unless one was just taken. */
int cc_observer_checkpoint(struct cc_observer *o, struct cc_err *err);
/* Unhooks (the console callback is put back) and frees the buffer. */
void cc_observer_detach(struct cc_observer *o);

#endif
