/*
 * The event trace: every guest-visible event of one VM, in order, hashed
 * incrementally (XXH3-64) and optionally written to a file.
 *
 * Two runs are "the same execution" exactly when their trace hashes are
 * equal: the hash covers each exit's class, port or address, size and
 * data (values the guest wrote and values we answered), every injected
 * interrupt, every fix-up and every virtual-time jump, each with the
 * vclock at which it happened.  Wall-clock figures never enter it.
 *
 * The guest RIP of each event is recorded in trace files only (it costs a
 * KVM_GET_REGS per exit): it is diagnosis for the divergence finder, not
 * part of the hash, so tracing to a file does not change the hash.
 */
#ifndef CC_TRACE_H
#define CC_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../base/err.h"

enum cc_event_kind {
	CC_EV_PIO_IN = 1,
	CC_EV_PIO_OUT,
	CC_EV_MMIO_READ,
	CC_EV_MMIO_WRITE,
	CC_EV_HLT,	 /* a = vclock after the fast-forward */
	CC_EV_IRQ,	 /* a = vector injected */
	CC_EV_FIXUP,	 /* a = enum cc_fixup_kind */
	CC_EV_WATCHDOG,	 /* a = vclock after the forced advance */
	CC_EV_STOP,	 /* a = enum cc_stop, b = exit status */
	CC_EV_PROGRESS,	 /* a = units reported by the guest */
	CC_EV_HYPERCALL, /* a = command | status << 32, b = result */
	CC_EV_INJECT,	 /* host fault: a = enum cc_inject, b = parameter */
};

/* One event, as hashed and as stored (little-endian, no padding). */
struct cc_event {
	uint64_t vclock;
	uint32_t kind;
	uint32_t size; /* access size in bytes, 0 when not an access */
	uint64_t a;    /* port or address, or kind-specific */
	uint64_t b;    /* data, or kind-specific */
};

/* A trace file: this header, then records of (event, rip). */
#define CC_TRACE_MAGIC	 "CCTRACE\0"
#define CC_TRACE_VERSION 2u

struct cc_trace_record {
	struct cc_event ev;
	uint64_t rip;
};

/* The hash is chained, h(n) = XXH3-64(event n, seed = h(n-1)), so the
 * whole running state is two integers and a snapshot can carry it. */
struct cc_trace_state {
	uint64_t hash;
	uint64_t count;
};

struct cc_trace {
	struct cc_trace_state st;
	FILE *file; /* NULL: hash only */
	bool want_rip;
	bool header_written;
	bool failed; /* a write failed: the file is incomplete */
};

int cc_trace_init(struct cc_trace *t, const char *path, struct cc_err *err);
/* Hashes (and stores) one event; rip is used only for files. */
void cc_trace_add(struct cc_trace *t, const struct cc_event *ev, uint64_t rip);
uint64_t cc_trace_hash(const struct cc_trace *t);
/* Flushes and closes the file; -1 if any write failed. */
int cc_trace_close(struct cc_trace *t, struct cc_err *err);

const char *cc_event_kind_name(uint32_t kind);
/* "pio_out port 0x3f8 size 1 data 0x41" and the like. */
void cc_event_format(const struct cc_event *ev, char *buf, size_t len);

/* Reads a whole trace file, validating magic, version and size; *first
 * is the run-wide index of its first record. */
int cc_trace_load(const char *path, struct cc_trace_record **recs, uint64_t *n,
		  uint64_t *first, struct cc_err *err);

#endif
