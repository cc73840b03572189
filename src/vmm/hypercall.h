/*
 * The VMM's side of the HypercallPage (include/chaoscontrol/protocol.h):
 * one call per trigger (outb CC_PORT_HYPERCALL, or a write to the
 * doorbell's CC_DOORBELL_HYPERCALL), decoded from guest memory with every
 * field checked, answered in the page before the guest runs again.
 *
 * What the calls leave behind is the run's SDK log: the records the
 * guest sent (Antithesis-schema JSON, re-serialised after validation),
 * and every random value it drew (choice records: sequence number, n,
 * value) - the input tree later exploration branches on.  An override
 * table replaces chosen values by sequence number.
 */
#ifndef CC_HYPERCALL_H
#define CC_HYPERCALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/entropy.h"
#include "../base/mem.h"

/* Guest-visible SDK state (a snapshot row): counters and lifecycle. */
/* Saved whole by snapshots; bump when the struct changes. */
#define CC_HC_STATE_VERSION 1
struct cc_hc_state {
	uint64_t calls, errors;
	uint64_t records;  /* entries of the log's records, at this point */
	uint64_t choices;  /* entries of the log's choices = next seq */
	uint64_t setup_ns; /* vclock of setup_complete, 0 = not yet */
	uint32_t setup_complete, coverage_live;
};

struct cc_choice_record {
	uint64_t seq, n, value;
	bool overridden;
};

struct cc_hc_override {
	uint64_t seq, value;
};

/* Host-side: what the guest sent.  Grows with the run; a restore cuts it
 * back to the counts its state row recorded.  A log that starts from a
 * restored snapshot file begins at that point: base_* say where. */
struct cc_hc_log {
	uint64_t base_records, base_choices;
	char **records;
	size_t nrecords, cap_records;
	struct cc_choice_record *choices;
	size_t nchoices, cap_choices;
	/* What the log keeps at most (a guest can call in a loop): past
	 * it, calls are answered as before and only not kept.  0 until
	 * cc_hypercall_log_limit() sets them: CC_HC_LOG_DEFAULT_*. */
	size_t max_entries, max_bytes, record_bytes;
};

#define CC_HC_LOG_DEFAULT_ENTRIES (1u << 18)
#define CC_HC_LOG_DEFAULT_BYTES	  (64u << 20)

/* Caps the records and the choice records kept (each), and the bytes of
 * records; 0 = the default. */
void cc_hypercall_log_limit(struct cc_hc_log *log, size_t entries,
			    size_t bytes);
/* Calls answered but not kept, since the log's start. */
uint64_t cc_hypercall_records_dropped(const struct cc_hc_log *log,
				      const struct cc_hc_state *st);
uint64_t cc_hypercall_choices_dropped(const struct cc_hc_log *log,
				      const struct cc_hc_state *st);

/* What one call asked and was told (for the event trace). */
struct cc_hc_answer {
	uint32_t cmd, status;
	uint64_t result;
};

/* Serves the call now in the page.  `rng` is the VM's stream. */
struct cc_hc_answer
cc_hypercall_serve(struct cc_hc_state *st, struct cc_hc_log *log,
		   struct cc_mem *mem, struct cc_entropy *rng,
		   const struct cc_hc_override *ov, size_t nov, uint64_t now);

/* Writes the page's header (magic, version, transport) before boot. */
void cc_hypercall_page_init(struct cc_mem *mem, uint32_t transport);

/* After a restore: cuts the log back to what st says existed, or, when
 * st lies before the log's start (another lineage), starts it afresh. */
void cc_hypercall_log_truncate(struct cc_hc_log *log,
			       const struct cc_hc_state *st);
/* Empties the log; what the guest sends next is numbered from st. */
void cc_hypercall_log_restart(struct cc_hc_log *log,
			      const struct cc_hc_state *st);
void cc_hypercall_log_free(struct cc_hc_log *log);

#endif
