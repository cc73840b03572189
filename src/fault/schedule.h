/*
 * Faults and the FaultSchedule: what can go wrong (every fault of the
 * glossary), when, to whom.  A schedule is a time-ordered list of
 * (time, fault) pairs - built in code (cc_schedule_add, which keeps the
 * order stable for equal times) or read from a JSON file users write by
 * hand:
 *
 *   {"faults": [
 *     {"at_ms": 100, "type": "network_partition", "sides": [0, 1, 1]},
 *     {"at_ms": 150, "type": "packet_loss", "vm": 0, "ppm": 300000},
 *     {"at_ms": 400, "type": "network_heal"},
 *     {"at_ms": 500, "type": "process_pause", "vm": 2, "duration_ms": 50},
 *     {"at_ms": 600, "type": "clock_jump", "vm": 1, "offset_ms": -20}
 *   ]}
 *
 * Every field is checked on load (type names, VM indices against the
 * cluster size, ranges); an error names the fault's index and field.
 */
#ifndef CC_SCHEDULE_H
#define CC_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/err.h"

enum cc_fault_kind {
	CC_FAULT_NETWORK_PARTITION,
	CC_FAULT_NETWORK_HEAL,
	CC_FAULT_NETWORK_LATENCY,
	CC_FAULT_NETWORK_JITTER,
	CC_FAULT_NETWORK_BANDWIDTH,
	CC_FAULT_PACKET_LOSS,
	CC_FAULT_PACKET_CORRUPTION,
	CC_FAULT_PACKET_REORDER,
	CC_FAULT_PACKET_DUPLICATE,
	CC_FAULT_DISK_READ_ERROR,
	CC_FAULT_DISK_WRITE_ERROR,
	CC_FAULT_DISK_TORN_WRITE,
	CC_FAULT_DISK_CORRUPTION,
	CC_FAULT_DISK_FULL,
	CC_FAULT_DISK_HEAL, /* clears a VM's disk faults */
	CC_FAULT_PROCESS_KILL,
	CC_FAULT_PROCESS_PAUSE,
	CC_FAULT_PROCESS_RESTART,
	CC_FAULT_CLOCK_SKEW,
	CC_FAULT_CLOCK_JUMP,
	CC_FAULT_MEMORY_PRESSURE,
	CC_FAULT_INTERRUPT, /* inject ISA IRQ `irq` */
	CC_FAULT_NMI,
	CC_FAULT_PROCESS_CRASH, /* a restart that also tears unflushed writes */
	CC_FAULT__COUNT
};

#define CC_SCHEDULE_MAX_VMS 16u

struct cc_fault {
	uint64_t at_ns;
	enum cc_fault_kind kind;
	uint32_t vm;	      /* target VM (faults that have one) */
	uint32_t ppm;	      /* loss, corruption, reorder, duplicate */
	uint64_t ticks;	      /* latency, jitter, reorder window */
	uint64_t bps;	      /* bandwidth cap, 0 = unlimited */
	uint64_t duration_ns; /* pause (0 = until resumed) */
	int64_t offset_ns;    /* skew (per second of guest time), jump */
	uint64_t bytes;	      /* memory limit */
	uint32_t irq;	      /* interrupt */
	uint32_t nsides;
	uint32_t sides[CC_SCHEDULE_MAX_VMS]; /* partition: side per VM */
};

struct cc_schedule {
	struct cc_fault *f;
	size_t n, cap;
	size_t next; /* first fault not yet dispatched */
};

const char *cc_fault_name(enum cc_fault_kind k);
/* The kind named `name` ("packet_loss", ...), or CC_FAULT__COUNT. */
enum cc_fault_kind cc_fault_kind_of(const char *name);

/* Builder: inserts in time order, after faults of the same time. */
int cc_schedule_add(struct cc_schedule *s, const struct cc_fault *f);
/* The same for n faults at once, as n calls would place them, in
 * O((s->n + n) log) rather than one shift per fault out of order. */
int cc_schedule_add_n(struct cc_schedule *s, const struct cc_fault *f,
		      size_t n);
/* Parses a JSON schedule for a cluster of nvms VMs. */
int cc_schedule_parse(struct cc_schedule *s, const char *json, size_t len,
		      unsigned nvms, struct cc_err *err);
int cc_schedule_load(struct cc_schedule *s, const char *path, unsigned nvms,
		     struct cc_err *err);
/* The next fault due at or before now_ns, or NULL. */
const struct cc_fault *cc_schedule_due(struct cc_schedule *s, uint64_t now_ns);
/* One fault as the file format writes it (a new reference). */
struct json_t;
struct json_t *cc_fault_json(const struct cc_fault *f);
/* f as the file format keeps it (fields its kind does not use are
 * zero): a fault made in code, canonicalised, runs the same as when it
 * is read back from a file.  -1 if the format cannot hold it. */
int cc_fault_canon(struct cc_fault *f, unsigned nvms);
/* Back to JSON (the same format), e.g. to record what ran. */
char *cc_schedule_to_json(const struct cc_schedule *s);
void cc_schedule_free(struct cc_schedule *s);

#endif
