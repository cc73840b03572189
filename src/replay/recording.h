/*
 * Recordings: one run's events (replay/observer.h) in one file, with
 * what it takes to run it again.  JSON lines:
 *
 *   {"format":"chaoscontrol-recording","version":1,
 *    "argv":["examples/raft/raft.json","--seed","7"],"cwd":"/work",
 *    "files":[{"path":"examples/raft/raft.json","xxh3":"...","size":812}],
 *    "checkpoint_every":100}
 *   {"i":0,"tick":0,"type":"checkpoint",...}
 *   ... one line per event ...
 *   {"end":true,"events":N,"checkpoints":C,"bugs":B,"ticks":T,
 *    "trace_hash":"...","xxh3":"..."}
 *
 * argv is `run`'s command line without --record and its options; files
 * are the arguments that named regular files when it was recorded, with
 * their hashes, so a replay refuses a scenario that changed.  The last
 * line's xxh3 covers every byte before it: a truncated or edited file is
 * refused, never half-read.  The file is written under a temporary name
 * and renamed when the run ends (base/file.h).
 *
 * Checkpoints are the cluster's trace hash and digests, not its state:
 * replay and the debugger re-execute from the start and take their own
 * snapshots on the way (docs/REPLAY.md says why).
 */
#ifndef CC_REPLAY_RECORDING_H
#define CC_REPLAY_RECORDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xxhash.h>

#include "../base/err.h"
#include "../base/file.h"
#include "observer.h"

#define CC_REC_VERSION	 1
#define CC_REC_MAX_BYTES (2ull << 30)
#define CC_REC_MAX_ARGS	 256u
#define CC_REC_MAX_FILES 64u

struct cc_rec_file {
	char *path;
	uint64_t hash, size;
};

struct cc_rec_event {
	uint64_t tick;
	enum cc_event_type type;
	int vm;
	bool failed;
	const char *line; /* in the recording's text */
	size_t len;
};

struct cc_recording {
	char **argv; /* argc strings and a NULL */
	size_t argc;
	char *cwd;
	struct cc_rec_file file[CC_REC_MAX_FILES];
	size_t nfiles;
	uint64_t every;
	struct cc_rec_event *ev;
	size_t nev;
	uint64_t checkpoints, bugs, ticks, trace_hash;
	char *text; /* the file, lines NUL-terminated in place */
	size_t text_len;
};

/* Takes over text (malloc'd, len bytes) and checks every line. */
int cc_recording_parse(struct cc_recording *r, char *text, size_t len,
		       struct cc_err *err);
int cc_recording_load(struct cc_recording *r, const char *path,
		      struct cc_err *err);
void cc_recording_free(struct cc_recording *r);

/* Every file the recording names still has its hash; -1 naming the
 * first that does not (paths relative to r->cwd). */
int cc_recording_check_files(const struct cc_recording *r, struct cc_err *err);

/* The writer: events go to the file as they come (cc_recorder_event is
 * an observer's emit callback); commit writes the last line and
 * renames.  A failure on the way is kept and reported by the commit. */
struct cc_recorder {
	struct cc_file_out out;
	XXH3_state_t *hash;
	uint64_t bytes, events, checkpoints, bugs;
	char *buf;
	size_t len, cap;
	int failed;
	struct cc_err err;
};

int cc_recorder_open(struct cc_recorder *w, const char *path, int argc,
		     char *const *argv, uint64_t every, struct cc_err *err);
void cc_recorder_event(void *recorder, const struct cc_obs_event *e);
int cc_recorder_commit(struct cc_recorder *w, uint64_t ticks,
		       uint64_t trace_hash, struct cc_err *err);
void cc_recorder_abandon(struct cc_recorder *w);

#endif
