/*
 * Reproducers: a path (run/branch.h) written down with what it needs to
 * run again in a fresh process - the scenario (by path, with its hash),
 * the simulation seed, where the last branch ends and how it watched for
 * bugs - and, for a bug, what was seen and the trace hash it ended with.
 * `chaoscontrol run --reproduce FILE` replays one; the explorer writes
 * one per bug and one per corpus entry (queue/).
 *
 *   {"format": "chaoscontrol-reproducer", "version": 1,
 *    "scenario": "/abs/raft.json", "scenario_xxh3": "9f0c...",
 *    "nodes": 3, "seed": "0x1", "until": 1412, "stall_ticks": 400,
 *    "stop_at_bug": true,
 *    "forks": [{"at": 412, "reseed": true, "seed": "0x5d1c...",
 *               "faults": [{"at_ms": 430, "type": "network_heal"}]}],
 *    "bug": {"kind": "always", "id": "...", "what": "...", "vm": 0,
 *            "tick": 1412},
 *    "trace_hash": "0123456789abcdef"}
 *
 * Seeds and hashes are hex strings (JSON numbers stop at 2^53 in many
 * readers).  Written atomically; every field is checked on load.
 */
#ifndef CC_RUN_REPRODUCER_H
#define CC_RUN_REPRODUCER_H

#include <stdbool.h>
#include <stdint.h>

#include "../base/err.h"
#include "branch.h"

#define CC_REPRO_VERSION   2 /* 2: a fork's choice overrides */
#define CC_REPRO_MAX_BYTES (64u << 20)

struct cc_repro {
	char scenario[4096];
	uint64_t scenario_hash;
	unsigned nodes;
	uint64_t seed;
	uint64_t until, stall_ticks;
	bool stop_at_bug;
	struct cc_path path;
	bool has_bug;
	struct cc_bug_sig bug;
	uint64_t trace_hash;
};

/* The file's text (malloc'd), or NULL when out of memory. */
char *cc_repro_json(const struct cc_repro *r);
int cc_repro_save(const struct cc_repro *r, const char *path,
		  struct cc_err *err);
int cc_repro_parse(struct cc_repro *r, const char *text, size_t len,
		   struct cc_err *err);
int cc_repro_load(struct cc_repro *r, const char *path, struct cc_err *err);
void cc_repro_free(struct cc_repro *r);

/* The pieces, for other files that hold paths (the explorer's state). */
struct json_t;
struct json_t *cc_json_hex(uint64_t v); /* "0x..." */
int cc_json_get_hex(struct json_t *o, const char *key, uint64_t *v,
		    struct cc_err *err);
int cc_json_get_uint(struct json_t *o, const char *key, uint64_t max,
		     uint64_t *v, struct cc_err *err);
struct json_t *cc_faults_json(const struct cc_fault *f, size_t n);
/* At most CC_FORK_MAX_FAULTS faults into out[]. */
int cc_faults_parse(struct json_t *a, unsigned nodes, struct cc_fault *out,
		    size_t *n, struct cc_err *err);
struct json_t *cc_path_json(const struct cc_path *p);
/* Appends the forks (in tick order, none after until) to p. */
int cc_path_parse(struct json_t *forks, unsigned nodes, uint64_t until,
		  struct cc_path *p, struct cc_err *err);
int cc_bug_parse(struct json_t *j, struct cc_bug_sig *b, struct cc_err *err);

#endif
