#include "observer.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../base/array.h"
#include "../run/reproducer.h"
#include "../vmm/snapshot.h"

static const char *const type_names[CC_EV__COUNT] = {
	[CC_EV_FAULT] = "fault",     [CC_EV_STATUS] = "status",
	[CC_EV_SERIAL] = "serial",   [CC_EV_SEND] = "send",
	[CC_EV_DELIVER] = "deliver", [CC_EV_DROP] = "drop",
	[CC_EV_RESEED] = "reseed",   [CC_EV_CHOICE] = "choice",
	[CC_EV_ASSERT] = "assert",   [CC_EV_SDK] = "sdk",
	[CC_EV_BUG] = "bug",	     [CC_EV_CHECKPOINT] = "checkpoint",
};

const char *cc_event_type_name(enum cc_event_type t)
{
	return (unsigned)t < CC_EV__COUNT ? type_names[t] : "?";
}

int cc_event_type_parse(const char *name)
{
	for (int t = 0; t < CC_EV__COUNT; t++)
		if (!strcmp(name, type_names[t]))
			return t;
	return -1;
}

/* --- the line encoder -------------------------------------------------- */

static void put(struct cc_observer *o, const char *p, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 512;
		while (o->len + n + 1 > cap)
			cap *= 2;
		char *b = realloc(o->buf, cap);
		if (!b) {
			o->oom = true;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	o->buf[o->len] = 0;
}

static void putf(struct cc_observer *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void putf(struct cc_observer *o, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	put(o, tmp, n < (int)sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* A JSON string of arbitrary bytes: printable ASCII as is, the rest
 * escaped (bytes above 0x7f as \u00XX, i.e. read as Latin-1). */
static void put_str(struct cc_observer *o, const char *key, const char *p,
		    size_t n)
{
	putf(o, ",\"%s\":\"", key);
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)p[k];
		if (c == '"' || c == '\\')
			putf(o, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			put(o, (const char *)&c, 1);
		else
			putf(o, "\\u%04x", c);
	}
	put(o, "\"", 1);
}

static void put_hex(struct cc_observer *o, const char *key, uint64_t v)
{
	putf(o, ",\"%s\":\"%016" PRIx64 "\"", key, v);
}

static void begin(struct cc_observer *o, enum cc_event_type t, uint64_t tick,
		  int vm)
{
	o->len = 0;
	putf(o, "{\"i\":%" PRIu64 ",\"tick\":%" PRIu64 ",\"type\":\"%s\"",
	     o->st.events, tick, type_names[t]);
	if (vm >= 0)
		putf(o, ",\"vm\":%d", vm);
}

static void end(struct cc_observer *o, enum cc_event_type t, uint64_t tick,
		int vm, bool failed)
{
	put(o, "}", 1);
	if (o->oom)
		return; /* counted in failed by the caller's next round */
	struct cc_obs_event e = {o->st.events, tick,   t,     vm,
				 failed,       o->buf, o->len};
	o->st.events++;
	o->emit(o->ctx, &e);
}

/* --- controller events -------------------------------------------------- */

static void fault_fields(struct cc_observer *o, const struct cc_fault *f)
{
	json_t *a = cc_faults_json(f, 1);
	char *text = a ? json_dumps(json_array_get(a, 0),
				    JSON_COMPACT | JSON_PRESERVE_ORDER)
		       : NULL;
	if (text) {
		put(o, ",\"fault\":", 9);
		put(o, text, strlen(text));
	} else {
		o->oom = true;
	}
	free(text);
	json_decref(a);
}

static void on_event(void *ctx, const struct cc_sim_event *e)
{
	struct cc_observer *o = ctx;
	int vm = (int)e->vm;
	switch (e->kind) {
	case CC_SIM_EV_FAULT:
		begin(o, CC_EV_FAULT, e->tick, -1);
		fault_fields(o, e->fault);
		end(o, CC_EV_FAULT, e->tick, -1, false);
		return;
	case CC_SIM_EV_STATUS: {
		begin(o, CC_EV_STATUS, e->tick, vm);
		putf(o, ",\"status\":\"%s\"", cc_vm_status_name(e->status));
		const struct cc_vm_slot *v = &o->s->slot[e->vm];
		if (e->status == CC_VM_HALTED)
			putf(o, ",\"stop\":\"%s\"", cc_stop_name(v->res.stop));
		end(o, CC_EV_STATUS, e->tick, vm, false);
		return;
	}
	case CC_SIM_EV_SEND:
	case CC_SIM_EV_DELIVER:
	case CC_SIM_EV_DROP: {
		enum cc_event_type t = e->kind == CC_SIM_EV_SEND ? CC_EV_SEND
				       : e->kind == CC_SIM_EV_DELIVER
					       ? CC_EV_DELIVER
					       : CC_EV_DROP;
		bool nobody = e->vm >= o->s->n; /* unroutable */
		begin(o, t, e->tick,
		      t == CC_EV_SEND || nobody ? (int)e->from : vm);
		if (t != CC_EV_SEND && !nobody)
			putf(o, ",\"from\":%u", e->from);
		putf(o, ",\"len\":%u", e->len);
		put_hex(o, "frame", e->hash);
		if (e->stage)
			putf(o, ",\"stage\":\"%s\"", e->stage);
		end(o, t, e->tick,
		    t == CC_EV_SEND || nobody ? (int)e->from : vm, false);
		return;
	}
	case CC_SIM_EV_RESEED:
		begin(o, CC_EV_RESEED, e->tick, -1);
		put_hex(o, "seed", e->value);
		end(o, CC_EV_RESEED, e->tick, -1, false);
		return;
	case CC_SIM_EV_CHOICE:
		begin(o, CC_EV_CHOICE, e->tick, vm);
		putf(o, ",\"offset\":%" PRIu64, e->offset);
		put_hex(o, "value", e->value);
		end(o, CC_EV_CHOICE, e->tick, vm, false);
		return;
	}
}

/* --- bugs ------------------------------------------------------------------
 */

static void bug(struct cc_observer *o, uint64_t tick, int vm,
		enum cc_bug_kind kind, const char *id, const char *what)
{
	struct cc_observer_state *st = &o->st;
	for (size_t k = 0; k < st->nbugs; k++)
		if (st->bug[k].kind == kind && !strcmp(st->bug[k].id, id))
			return;
	if (st->nbugs == CC_OBS_MAX_BUGS) {
		st->bugs_dropped++;
		return;
	}
	st->bug[st->nbugs].kind = (uint8_t)kind;
	snprintf(st->bug[st->nbugs].id, sizeof(st->bug[0].id), "%s", id);
	st->nbugs++;
	begin(o, CC_EV_BUG, tick, vm);
	putf(o, ",\"kind\":\"%s\"", cc_bug_kind_name(kind));
	put_str(o, "id", id, strlen(id));
	put_str(o, "what", what, strlen(what));
	end(o, CC_EV_BUG, tick, vm, false);
}

static void on_serial(void *ctx, unsigned vm, const char *line, size_t len)
{
	struct cc_observer *o = ctx;
	uint64_t tick = o->s->tick;
	begin(o, CC_EV_SERIAL, tick, (int)vm);
	put_str(o, "line", line, len);
	end(o, CC_EV_SERIAL, tick, (int)vm, false);
	char id[160], what[240];
	if (cc_bug_console(line, len, id, sizeof(id), what, sizeof(what)))
		bug(o, tick, (int)vm, CC_BUG_CRASH, id, what);
	if (o->on_serial)
		o->on_serial(o->serial_ctx, vm, line, len);
}

/* --- SDK records --------------------------------------------------------- */

static const char *record_at(const struct cc_vm_slot *v, uint64_t k)
{
	return k < v->narchive ? v->archive[k]
			       : v->vm->hc_log.records[k - v->narchive];
}

/* A record as an event: an assertion hit (and the bug it shows, by the
 * oracle's rules, fault/oracle.c) or any other SDK record. */
static void record(struct cc_observer *o, uint64_t tick, int vm,
		   const char *text)
{
	json_t *r = json_loads(text, 0, NULL);
	json_t *a = json_object_get(r, "antithesis_assert");
	bool hit = a && json_is_true(json_object_get(a, "hit"));
	bool cond = json_is_true(json_object_get(a, "condition"));
	const char *type = json_string_value(json_object_get(a, "assert_type"));
	const char *id = json_string_value(json_object_get(a, "id"));
	const char *msg = json_string_value(json_object_get(a, "message"));
	bool must = json_is_true(json_object_get(a, "must_hit"));
	enum cc_event_type t = hit ? CC_EV_ASSERT : CC_EV_SDK;
	begin(o, t, tick, vm);
	if (hit) {
		put_str(o, "property", id ? id : "", id ? strlen(id) : 0);
		putf(o, ",\"condition\":%s", cond ? "true" : "false");
	}
	/* Records are stored re-serialised on one line (vmm/hypercall.c). */
	if (!strchr(text, '\n') && r) {
		put(o, ",\"record\":", 10);
		put(o, text, strlen(text));
	} else {
		put_str(o, "record", text, strlen(text));
	}
	bool always = hit && type && !strcmp(type, "always");
	bool unreachable = hit && type && strcmp(type, "always") &&
			   strcmp(type, "sometimes") && !must;
	end(o, t, tick, vm, always && !cond);
	if (always && !cond)
		bug(o, tick, vm, CC_BUG_ALWAYS, id ? id : "", msg ? msg : "");
	else if (unreachable)
		bug(o, tick, vm, CC_BUG_UNREACHABLE, id ? id : "",
		    msg ? msg : "");
	json_decref(r);
}

static void records(struct cc_observer *o, uint64_t tick)
{
	for (unsigned i = 0; i < o->s->n; i++) {
		const struct cc_vm_slot *v = &o->s->slot[i];
		uint64_t n = v->narchive + v->vm->hc_log.nrecords;
		if (o->st.records[i] > n)
			o->st.records[i] = n; /* a restore cut the log back */
		for (; o->st.records[i] < n; o->st.records[i]++)
			record(o, tick, (int)i, record_at(v, o->st.records[i]));
	}
}

/* VMs a fault of their own stopped (the branch's rule). */
static void stopped(struct cc_observer *o, uint64_t tick)
{
	for (unsigned i = 0; i < o->s->n; i++) {
		const struct cc_vm_slot *v = &o->s->slot[i];
		if (v->status != CC_VM_HALTED ||
		    (v->res.stop != CC_STOP_SHUTDOWN &&
		     v->res.stop != CC_STOP_ERROR))
			continue;
		char id[160];
		snprintf(id, sizeof(id), "vm stop: %s",
			 cc_stop_name(v->res.stop));
		bug(o, tick, (int)i, CC_BUG_CRASH, id, v->res.msg);
	}
}

/* --- checkpoints ------------------------------------------------------- */

int cc_observer_checkpoint(struct cc_observer *o, struct cc_err *err)
{
	struct cc_sim *s = o->s;
	if (o->st.last_cp == s->tick + 1)
		return 0;
	begin(o, CC_EV_CHECKPOINT, s->tick, -1);
	putf(o, ",\"n\":%" PRIu64, o->st.checkpoints);
	put_hex(o, "trace_hash", cc_sim_trace_hash(s));
	put(o, ",\"vms\":[", 8);
	for (unsigned i = 0; i < s->n; i++) {
		struct cc_vm_digest d;
		if (cc_vm_digest(s->slot[i].vm, &d, err))
			return -1;
		putf(o, "%s{\"rip\":\"%016" PRIx64 "\"", i ? "," : "", d.rip);
		put_hex(o, "regs", d.regs);
		put_hex(o, "sregs", d.sregs);
		put_hex(o, "ram", d.ram);
		putf(o, ",\"clock_ns\":%" PRIu64 ",\"status\":\"%s\"}",
		     d.clock_ns, cc_vm_status_name(s->slot[i].status));
	}
	put(o, "]", 1);
	o->st.checkpoints++;
	o->st.last_cp = s->tick + 1;
	end(o, CC_EV_CHECKPOINT, s->tick, -1, false);
	if (o->oom)
		return cc_err_set(err, "observer: out of memory");
	return 0;
}

/* --- the hooks ------------------------------------------------------------
 */

int cc_observer_attach(struct cc_observer *o, struct cc_sim *s, uint64_t every,
		       void (*emit)(void *ctx, const struct cc_obs_event *e),
		       void *ctx, struct cc_err *err)
{
	*o = (struct cc_observer){
		.s = s, .every = every, .emit = emit, .ctx = ctx};
	for (unsigned i = 0; i < s->n; i++)
		o->st.records[i] =
			s->slot[i].narchive + s->slot[i].vm->hc_log.nrecords;
	o->on_serial = s->cfg.on_serial;
	o->serial_ctx = s->cfg.ctx;
	s->cfg.on_serial = on_serial;
	s->cfg.ctx = o;
	cc_sim_observe(s, on_event, cc_observer_round, o);
	return cc_observer_checkpoint(o, err);
}

void cc_observer_round(void *observer)
{
	struct cc_observer *o = observer;
	uint64_t tick = o->s->tick ? o->s->tick - 1 : 0;
	records(o, tick);
	stopped(o, tick);
	if (o->oom && !o->failed)
		o->failed = cc_err_set(&o->err, "observer: out of memory");
	if (!o->failed && o->every && o->s->tick % o->every == 0)
		o->failed = cc_observer_checkpoint(o, &o->err);
}

void cc_observer_detach(struct cc_observer *o)
{
	if (o->s) {
		o->s->cfg.on_serial = o->on_serial;
		o->s->cfg.ctx = o->serial_ctx;
		cc_sim_observe(o->s, NULL, NULL, NULL);
	}
	free(o->buf);
	o->buf = NULL;
	o->s = NULL;
}
