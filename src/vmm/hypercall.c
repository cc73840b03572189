#include "hypercall.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../base/array.h"
#include "chaoscontrol/protocol.h"

#define OFF(field) offsetof(struct cc_hc_page, field)

void cc_hypercall_page_init(struct cc_mem *mem, uint32_t transport)
{
	struct cc_hc_page h;
	memset(&h, 0, CC_HC_HEADER_SIZE);
	h.magic = CC_HC_MAGIC;
	h.version = CC_HC_VERSION;
	h.transport = transport;
	cc_mem_write(mem, CC_HYPERCALL_GPA, &h, CC_HC_HEADER_SIZE);
}

void cc_hypercall_log_limit(struct cc_hc_log *log, size_t entries, size_t bytes)
{
	log->max_entries = entries; /* 0: the default (max_entries()) */
	log->max_bytes = bytes;
}

/* A log no VM set limits on (tests, fuzzing) has the defaults. */
static size_t max_entries(const struct cc_hc_log *log)
{
	return log->max_entries ? log->max_entries : CC_HC_LOG_DEFAULT_ENTRIES;
}

static size_t max_bytes(const struct cc_hc_log *log)
{
	return log->max_bytes ? log->max_bytes : CC_HC_LOG_DEFAULT_BYTES;
}

/* Keeps text (or frees it, past the caps: the call still counts). */
static bool push_record(struct cc_hc_log *log, char *text)
{
	size_t len = strlen(text) + 1;
	if (log->nrecords >= max_entries(log) ||
	    log->record_bytes + len > max_bytes(log)) {
		free(text);
		return true;
	}
	if (cc_array_grow(&log->records, &log->cap_records, log->nrecords,
			  sizeof(*log->records), 64))
		return false;
	log->records[log->nrecords++] = text;
	log->record_bytes += len;
	return true;
}

static void push_choice(struct cc_hc_log *log, struct cc_choice_record c)
{
	if (log->nchoices >= max_entries(log) ||
	    cc_array_grow(&log->choices, &log->cap_choices, log->nchoices,
			  sizeof(*log->choices), 64))
		return; /* not kept: counted as dropped */
	log->choices[log->nchoices++] = c;
}

static void pop_record(struct cc_hc_log *log)
{
	char *r = log->records[--log->nrecords];
	log->record_bytes -= strlen(r) + 1;
	free(r);
}

uint64_t cc_hypercall_records_dropped(const struct cc_hc_log *log,
				      const struct cc_hc_state *st)
{
	uint64_t seen = st->records - log->base_records;
	return seen > log->nrecords ? seen - log->nrecords : 0;
}

uint64_t cc_hypercall_choices_dropped(const struct cc_hc_log *log,
				      const struct cc_hc_state *st)
{
	uint64_t seen = st->choices - log->base_choices;
	return seen > log->nchoices ? seen - log->nchoices : 0;
}

static bool is(json_t *o, const char *key, json_type t)
{
	json_t *v = json_object_get(o, key);
	return v && (json_typeof(v) == t ||
		     (t == JSON_TRUE && json_typeof(v) == JSON_FALSE));
}

/* The fields the oracle relies on, with the types it expects. */
static bool valid_assert(json_t *a)
{
	if (!json_is_object(a) || !is(a, "hit", JSON_TRUE) ||
	    !is(a, "must_hit", JSON_TRUE) || !is(a, "condition", JSON_TRUE) ||
	    !is(a, "assert_type", JSON_STRING) || !is(a, "id", JSON_STRING) ||
	    !is(a, "message", JSON_STRING))
		return false;
	const char *t = json_string_value(json_object_get(a, "assert_type"));
	return !strcmp(t, "always") || !strcmp(t, "sometimes") ||
	       !strcmp(t, "reachability");
}

/* One JSON record: parsed, checked, kept in compact form. */
static uint32_t record(struct cc_hc_state *st, struct cc_hc_log *log,
		       const uint8_t *p, uint32_t len, uint64_t now)
{
	json_error_t e;
	json_t *r =
		json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &e);
	if (!json_is_object(r) || json_object_size(r) != 1) {
		json_decref(r);
		return CC_HC_EPAYLOAD;
	}
	const char *key = json_object_iter_key(json_object_iter(r));
	json_t *body = json_object_iter_value(json_object_iter(r));
	if ((!strcmp(key, "antithesis_assert") && !valid_assert(body)) ||
	    (!strcmp(key, "antithesis_setup") && !json_is_object(body))) {
		json_decref(r);
		return CC_HC_EPAYLOAD;
	}
	if (!strcmp(key, "antithesis_setup") && !st->setup_complete) {
		st->setup_complete = 1;
		st->setup_ns = now;
	}
	char *text = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(r);
	if (!text || !push_record(log, text)) {
		free(text);
		return CC_HC_EPAYLOAD;
	}
	st->records++;
	return CC_HC_OK;
}

/* A random draw, recorded; an override for its sequence number wins. */
static uint64_t choose(struct cc_hc_state *st, struct cc_hc_log *log,
		       struct cc_entropy *rng, const struct cc_hc_override *ov,
		       size_t nov, uint64_t n)
{
	struct cc_choice_record c = {st->choices, n, cc_entropy_u64(rng),
				     false};
	if (n)
		c.value %= n;
	for (size_t i = 0; i < nov; i++) {
		if (ov[i].seq == c.seq) {
			c.value = n ? ov[i].value % n : ov[i].value;
			c.overridden = true;
		}
	}
	push_choice(log, c); /* past the cap or out of memory: not kept */
	st->choices++;
	return c.value;
}

static uint32_t dispatch(struct cc_hc_state *st, struct cc_hc_log *log,
			 struct cc_mem *mem, struct cc_entropy *rng,
			 const struct cc_hc_override *ov, size_t nov,
			 uint64_t now, const struct cc_hc_page *h,
			 uint64_t *result)
{
	if (h->magic != CC_HC_MAGIC)
		return CC_HC_EBADMAGIC;
	if (h->version != CC_HC_VERSION)
		return CC_HC_EVERSION;
	if (h->len > CC_HC_PAYLOAD_MAX)
		return CC_HC_ELEN;
	uint8_t payload[CC_HC_PAYLOAD_MAX]; /* per call: VMs run on threads */
	if (!cc_mem_read(mem, CC_HYPERCALL_GPA + CC_HC_HEADER_SIZE, payload,
			 h->len))
		return CC_HC_ELEN;
	switch (h->cmd) {
	case CC_HC_NOP:
		return CC_HC_OK;
	case CC_HC_JSON:
		return record(st, log, payload, h->len, now);
	case CC_HC_RANDOM:
		*result = choose(st, log, rng, ov, nov, 0);
		return CC_HC_OK;
	case CC_HC_CHOICE: {
		struct cc_hc_choice c;
		if (h->len != sizeof(c))
			return CC_HC_ELEN;
		memcpy(&c, payload, sizeof(c));
		if (!c.n)
			return CC_HC_EPAYLOAD;
		*result = choose(st, log, rng, ov, nov, c.n);
		return CC_HC_OK;
	}
	case CC_HC_COVERAGE:
		st->coverage_live = 1;
		return CC_HC_OK;
	default:
		return CC_HC_ECMD;
	}
}

struct cc_hc_answer
cc_hypercall_serve(struct cc_hc_state *st, struct cc_hc_log *log,
		   struct cc_mem *mem, struct cc_entropy *rng,
		   const struct cc_hc_override *ov, size_t nov, uint64_t now)
{
	struct cc_hc_page h;
	uint64_t result = 0;
	st->calls++;
	uint32_t status = CC_HC_EBADMAGIC, cmd = 0;
	if (cc_mem_read(mem, CC_HYPERCALL_GPA, &h, CC_HC_HEADER_SIZE)) {
		cmd = h.cmd;
		status = dispatch(st, log, mem, rng, ov, nov, now, &h, &result);
	}
	if (status != CC_HC_OK)
		st->errors++;
	cc_mem_write(mem, CC_HYPERCALL_GPA + OFF(status), &status,
		     sizeof(status));
	cc_mem_write(mem, CC_HYPERCALL_GPA + OFF(result), &result,
		     sizeof(result));
	cc_mem_write(mem, CC_HYPERCALL_GPA + OFF(calls), &st->calls,
		     sizeof(st->calls));
	return (struct cc_hc_answer){cmd, status, result};
}

void cc_hypercall_log_restart(struct cc_hc_log *log,
			      const struct cc_hc_state *st)
{
	while (log->nrecords)
		pop_record(log);
	log->nchoices = 0;
	log->base_records = st->records;
	log->base_choices = st->choices;
}

void cc_hypercall_log_truncate(struct cc_hc_log *log,
			       const struct cc_hc_state *st)
{
	if (st->records < log->base_records ||
	    st->choices < log->base_choices) {
		cc_hypercall_log_restart(log, st);
		return;
	}
	if (!log->nrecords && !log->nchoices) {
		log->base_records = st->records;
		log->base_choices = st->choices;
	}
	while (log->nrecords > st->records - log->base_records)
		pop_record(log);
	if (log->nchoices > st->choices - log->base_choices)
		log->nchoices = st->choices - log->base_choices;
}

void cc_hypercall_log_free(struct cc_hc_log *log)
{
	while (log->nrecords)
		pop_record(log);
	free(log->records);
	free(log->choices);
	memset(log, 0, sizeof(*log));
}
