#include "controller.h"

#include <stdlib.h>
#include <string.h>

#include "chaoscontrol/protocol.h"

static const char *const status_names[] = {
	[CC_VM_RUNNING] = "running",   [CC_VM_PAUSED] = "paused",
	[CC_VM_RESUMING] = "resuming", [CC_VM_KILLED] = "killed",
	[CC_VM_HALTED] = "halted",
};

const char *cc_vm_status_name(enum cc_vm_status s)
{
	return (unsigned)s < sizeof(status_names) / sizeof(status_names[0])
		       ? status_names[s]
		       : "?";
}

/* --- the controller's event stream (part of the cluster hash) --------- */

enum sim_event {
	EV_ROUND = 1,
	EV_SEND,
	EV_DELIVER,
	EV_FAULT,
	EV_STATUS,
	EV_VM_HASH,
	EV_RESEED,
	EV_CHOICE,
};

static void note(struct cc_sim *s, uint32_t kind, uint64_t a, uint64_t b,
		 uint64_t c)
{
	uint64_t ev[4] = {kind, a, b, c};
	XXH3_64bits_update(s->hash, ev, sizeof(ev));
}

static void wire_fabric(struct cc_sim *s);

static void emit(struct cc_sim *s, struct cc_sim_event e)
{
	if (!s->cfg.on_event)
		return;
	e.tick = s->tick;
	s->cfg.on_event(s->cfg.event_ctx, &e);
}

static bool live(const struct cc_vm_slot *v)
{
	return v->status == CC_VM_RUNNING || v->status == CC_VM_RESUMING;
}

static void set_status(struct cc_sim *s, unsigned i, enum cc_vm_status st)
{
	if (s->slot[i].status == st)
		return;
	s->slot[i].status = st;
	s->status_changes++;
	note(s, EV_STATUS, s->tick, i, st);
	emit(s, (struct cc_sim_event){
			.kind = CC_SIM_EV_STATUS, .vm = i, .status = st});
}

static void free_archive(char **a, size_t from, size_t n)
{
	for (size_t k = from; k < n; k++)
		free(a[k]);
}

/* A copy of records[0, n) after a[0, na); NULL when out of memory. */
static char **append_records(char **a, size_t na, char *const *records,
			     size_t n)
{
	char **out = realloc(a, (na + n + 1) * sizeof(*out));
	if (!out)
		return NULL;
	for (size_t k = 0; k < n; k++)
		out[na + k] = strdup(records[k]);
	return out;
}

/* --- set-up ------------------------------------------------------------- */

static int take_vm(struct cc_sim *s, unsigned i, struct cc_vm *vm,
		   struct cc_err *err)
{
	struct cc_vm_slot *v = &s->slot[i];
	memset(v, 0, sizeof(*v));
	v->vm = vm;
	if (vm->cfg.vm_index != i)
		return cc_err_set(err, "VM %u was built as VM %u", i,
				  vm->cfg.vm_index);
	/* From here on the simulation decides when the VM stops, what its
	 * console does and what its memory agent sees. */
	vm->cfg.serial_fd = -1;
	vm->cfg.stop_at_ready = vm->cfg.stop_at_setup = false;
	vm->cfg.max_exits = 0;
	vm->cfg.memory_agent = true;
	cc_vm_reseed(vm, s->cfg.seed);
	v->serial_seen = vm->serial_len;
	v->target_ns = vm->vclock.ns;
	v->inbox = calloc(CC_SIM_INBOX, sizeof(*v->inbox));
	if (!v->inbox)
		return cc_err_set(err, "out of memory");
	return cc_vm_snapshot(vm, &v->initial, err);
}

int cc_sim_init(struct cc_sim *s, struct cc_vm **vms, unsigned n,
		struct cc_schedule *sched, const struct cc_sim_config *cfg,
		struct cc_err *err)
{
	memset(s, 0, sizeof(*s));
	if (n == 0 || n > CC_SIM_MAX_VMS)
		return cc_err_set(err, "a simulation has 1 to %u VMs, not %u",
				  CC_SIM_MAX_VMS, n);
	s->cfg = *cfg;
	s->cfg.engine.nvms = n;
	s->hash = XXH3_createState();
	if (!s->hash || XXH3_64bits_reset_withSeed(s->hash, cfg->seed) ||
	    cc_fabric_init(&s->fabric, n, cfg->seed) ||
	    cc_engine_init(&s->engine, &s->cfg.engine, sched, cfg->seed)) {
		for (unsigned j = 0; j < n; j++)
			cc_vm_destroy(vms[j]);
		cc_sim_free(s);
		return cc_err_set(err, "cannot set up the simulation");
	}
	wire_fabric(s);
	for (unsigned i = 0; i < n; i++) {
		s->n = i + 1;
		if (take_vm(s, i, vms[i], err)) {
			for (unsigned j = i + 1; j < n; j++)
				cc_vm_destroy(vms[j]);
			cc_sim_free(s);
			return -1;
		}
	}
	unsigned threads = cfg->threads < n ? cfg->threads : n;
	if (threads > 1 && cc_workers_start(&s->workers, threads)) {
		cc_sim_free(s);
		return cc_err_set(err, "cannot start %u worker threads",
				  threads);
	}
	return 0;
}

void cc_sim_free(struct cc_sim *s)
{
	if (s->workers.n)
		cc_workers_stop(&s->workers);
	for (unsigned i = 0; i < s->n; i++) {
		struct cc_vm_slot *v = &s->slot[i];
		if (v->initial)
			cc_snapshot_free(v->initial);
		if (v->vm)
			cc_vm_destroy(v->vm);
		free(v->inbox);
		free_archive(v->archive, 0, v->narchive);
		free(v->archive);
	}
	cc_fabric_free(&s->fabric);
	cc_engine_free(&s->engine);
	if (s->hash)
		XXH3_freeState(s->hash);
	memset(s, 0, sizeof(*s));
}

/* --- faults --------------------------------------------------------------- */

static void push_disk_faults(struct cc_vm_slot *v)
{
	if (v->vm->has_disk)
		cc_vm_set_disk_faults(v->vm, v->disk);
}

/* A fresh machine with the same "hardware": the disk faults and memory
 * limit set on the slot survive a restart. */
static void archive_log(struct cc_vm_slot *v)
{
	struct cc_hc_log *log = &v->vm->hc_log;
	char **a = append_records(v->archive, v->narchive, log->records,
				  log->nrecords);
	if (a) {
		v->archive = a;
		v->narchive += log->nrecords;
	}
}

const char **cc_sim_records(const struct cc_sim *s, unsigned i, size_t *n)
{
	const struct cc_vm_slot *v = &s->slot[i];
	const struct cc_hc_log *log = &v->vm->hc_log;
	const char **out =
		malloc((v->narchive + log->nrecords + 1) * sizeof(*out));
	*n = 0;
	if (!out)
		return NULL;
	for (size_t k = 0; k < v->narchive; k++)
		out[(*n)++] = v->archive[k];
	for (size_t k = 0; k < log->nrecords; k++)
		out[(*n)++] = log->records[k];
	return out;
}

void cc_sim_forget_records(struct cc_sim *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		struct cc_vm_slot *v = &s->slot[i];
		free_archive(v->archive, 0, v->narchive);
		free(v->archive);
		v->archive = NULL;
		v->narchive = 0;
		cc_hypercall_log_restart(&v->vm->hc_log, &v->vm->hc);
	}
}

/* ProcessRestart / ProcessCrash: the boot state again, with the disk as
 * the power cut left it (cc_vm_reboot). */
static void restart(struct cc_sim *s, unsigned i, bool crash)
{
	struct cc_vm_slot *v = &s->slot[i];
	struct cc_err e;
	archive_log(v);
	if (cc_vm_input(v->vm,
			&(struct cc_vm_input){.kind = CC_INJECT_RESTART,
					      .value = crash,
					      .boot = v->initial},
			&e)) {
		snprintf(s->err, sizeof(s->err), "restart of VM %u: %s", i,
			 e.msg);
		v->res = (struct cc_vm_result){.stop = CC_STOP_ERROR};
		memcpy(v->res.msg, e.msg, sizeof(v->res.msg));
		set_status(s, i, CC_VM_HALTED);
		return;
	}
	cc_vm_reseed(v->vm, s->cfg.seed);
	push_disk_faults(v);
	if (v->memory_limit)
		cc_vm_set_memory_limit(v->vm, v->memory_limit);
	v->target_ns = v->vm->vclock.ns;
	v->ninbox = 0;
	v->paused_ticks = v->resume_tick = 0;
	v->restarts++;
	set_status(s, i, CC_VM_RUNNING);
}

static void pause_vm(struct cc_sim *s, unsigned i, uint64_t duration_ns)
{
	struct cc_vm_slot *v = &s->slot[i];
	if (!live(v))
		return;
	v->pauses++;
	v->paused_ticks = 0;
	v->resume_tick = duration_ns ? s->tick + (duration_ns + CC_NS_PER_TICK -
						  1) / CC_NS_PER_TICK
				     : 0;
	set_status(s, i, CC_VM_PAUSED);
}

/* The paused VM runs again, catching up the time it missed; what the
 * network brought meanwhile is handed over first. */
static void resume_vm(struct cc_sim *s, unsigned i)
{
	struct cc_vm_slot *v = &s->slot[i];
	v->target_ns += v->paused_ticks * CC_NS_PER_TICK;
	for (size_t k = 0; k < v->ninbox; k++)
		if (!cc_vm_deliver_frame(v->vm, v->inbox[k].data,
					 v->inbox[k].len))
			v->frames_dropped++;
	v->ninbox = 0;
	v->paused_ticks = v->resume_tick = 0;
	set_status(s, i, CC_VM_RESUMING);
}

static void clock_jump(struct cc_vm_slot *v, int64_t offset)
{
	if (offset >= 0)
		v->target_ns += (uint64_t)offset;
	else if ((uint64_t)-offset < v->target_ns)
		v->target_ns -= (uint64_t)-offset;
	else
		v->target_ns = 0;
}

static void fault_error(struct cc_sim *s, const struct cc_err *e)
{
	snprintf(s->err, sizeof(s->err), "%s", e->msg);
}

static void apply_disk(struct cc_vm_slot *v, enum cc_fault_kind k)
{
	struct cc_disk_faults *d = &v->disk;
	if (k == CC_FAULT_DISK_READ_ERROR)
		d->read_error = true;
	else if (k == CC_FAULT_DISK_WRITE_ERROR)
		d->write_error = true;
	else if (k == CC_FAULT_DISK_TORN_WRITE)
		d->torn_write = true;
	else if (k == CC_FAULT_DISK_CORRUPTION)
		d->corruption = true;
	else if (k == CC_FAULT_DISK_FULL)
		d->full = true;
	else
		memset(d, 0, sizeof(*d));
	push_disk_faults(v);
}

static void apply_vm(struct cc_sim *s, const struct cc_fault *f)
{
	struct cc_vm_slot *v = &s->slot[f->vm];
	struct cc_err e;
	switch (f->kind) {
	case CC_FAULT_PROCESS_KILL:
		v->kills++;
		set_status(s, f->vm, CC_VM_KILLED);
		break;
	case CC_FAULT_PROCESS_PAUSE:
		pause_vm(s, f->vm, f->duration_ns);
		break;
	case CC_FAULT_PROCESS_RESTART:
	case CC_FAULT_PROCESS_CRASH:
		restart(s, f->vm, f->kind == CC_FAULT_PROCESS_CRASH);
		break;
	case CC_FAULT_CLOCK_SKEW:
		v->skew_ns_per_s = f->offset_ns;
		break;
	case CC_FAULT_CLOCK_JUMP:
		clock_jump(v, f->offset_ns);
		break;
	case CC_FAULT_MEMORY_PRESSURE:
		v->memory_limit = f->bytes;
		cc_vm_set_memory_limit(v->vm, f->bytes);
		break;
	case CC_FAULT_INTERRUPT:
		if (cc_vm_inject_irq(v->vm, f->irq, &e))
			fault_error(s, &e);
		break;
	case CC_FAULT_NMI:
		if (cc_vm_inject_nmi(v->vm, &e))
			fault_error(s, &e);
		break;
	default:
		apply_disk(v, f->kind);
		break;
	}
}

void cc_sim_apply(struct cc_sim *s, const struct cc_fault *f)
{
	note(s, EV_FAULT, s->tick, (uint64_t)f->kind << 32 | f->vm,
	     f->ppm ^ f->ticks ^ f->bps ^ f->duration_ns ^
		     (uint64_t)f->offset_ns ^ f->bytes ^ f->irq);
	emit(s, (struct cc_sim_event){
			.kind = CC_SIM_EV_FAULT, .vm = f->vm, .fault = f});
	if (cc_fabric_apply(&s->fabric, f))
		return;
	if (f->vm >= s->n)
		return; /* schedules are checked on load; be safe anyway */
	apply_vm(s, f);
}

static void apply_cb(void *ctx, const struct cc_fault *f)
{
	cc_sim_apply(ctx, f);
}

/* --- the network ------------------------------------------------------------
 */

static void fabric_dropped(void *ctx, unsigned from, unsigned to,
			   const uint8_t *frame, uint32_t len,
			   const char *stage)
{
	emit(ctx, (struct cc_sim_event){.kind = CC_SIM_EV_DROP,
					.vm = to,
					.from = from,
					.len = len,
					.hash = XXH3_64bits(frame, len),
					.stage = stage});
}

/* The fabric reports its drops to the controller's on_event. */
static void wire_fabric(struct cc_sim *s)
{
	s->fabric.on_drop = s->cfg.on_event ? fabric_dropped : NULL;
	s->fabric.drop_ctx = s;
}

/* Where a delivered copy went: the VM, its inbox, or nowhere. */
static const char *hand_over(struct cc_vm_slot *v,
			     const struct cc_net_message *m)
{
	if (live(v))
		return cc_vm_deliver_frame(v->vm, m->data, m->len) ? NULL
								   : "rx full";
	if (v->status == CC_VM_PAUSED && v->ninbox < CC_SIM_INBOX) {
		v->inbox[v->ninbox].len = m->len;
		memcpy(v->inbox[v->ninbox].data, m->data, m->len);
		v->ninbox++;
		return NULL;
	}
	return v->status == CC_VM_PAUSED ? "inbox full" : "receiver down";
}

static void deliver_cb(void *ctx, const struct cc_net_message *m)
{
	struct cc_sim *s = ctx;
	struct cc_vm_slot *v = &s->slot[m->to];
	uint64_t h = XXH3_64bits(m->data, m->len);
	note(s, EV_DELIVER, m->deliver_at_tick, m->from << 16 | m->to, h);
	v->frames_received++;
	const char *stage = hand_over(v, m);
	v->frames_dropped += stage != NULL;
	emit(s, (struct cc_sim_event){.kind = stage ? CC_SIM_EV_DROP
						    : CC_SIM_EV_DELIVER,
				      .vm = m->to,
				      .from = m->from,
				      .len = m->len,
				      .hash = h,
				      .stage = stage});
}

/* What VM i sent during the round enters the fabric at the boundary. */
static void collect_frames(struct cc_sim *s, unsigned i)
{
	static __thread struct cc_net_frame f;
	struct cc_vm_slot *v = &s->slot[i];
	while (cc_net_port_take(&v->vm->net, &f, v->vm->vclock.ns)) {
		v->frames_sent++;
		uint64_t h = XXH3_64bits(f.data, f.len);
		note(s, EV_SEND, s->tick + 1, i, h);
		emit(s, (struct cc_sim_event){.kind = CC_SIM_EV_SEND,
					      .vm = i,
					      .from = i,
					      .len = f.len,
					      .hash = h});
		cc_fabric_send(&s->fabric, i, f.data, f.len, s->tick + 1);
	}
}

/* --- rounds
 * ------------------------------------------------------------------- */

/* The VM's clock advances one tick of simulation time, skew included
 * (carried in thousandths of a ns so no rounding accumulates). */
static void advance_target(struct cc_vm_slot *v)
{
	int64_t milli = v->skew_ns_per_s + v->skew_carry; /* ns/1000 ticks */
	int64_t extra = milli / 1000;
	v->skew_carry = milli % 1000;
	int64_t step = (int64_t)CC_NS_PER_TICK + extra;
	v->target_ns += step > 0 ? (uint64_t)step : 0;
}

struct round_result {
	int rc;
	struct cc_vm_result res;
	bool ran;
};

struct round_ctx {
	struct cc_sim *s;
	struct round_result r[CC_SIM_MAX_VMS];
};

/* Worker threads: one VM's slice, touching nothing but that VM. */
static void run_slice(void *ctx, size_t i)
{
	struct round_ctx *rc = ctx;
	struct cc_vm_slot *v = &rc->s->slot[i];
	rc->r[i].ran = false;
	if (!live(v) || v->target_ns <= v->vm->vclock.ns)
		return;
	v->vm->cfg.max_ns = v->target_ns;
	rc->r[i].rc = cc_vm_run(v->vm, &rc->r[i].res);
	rc->r[i].ran = true;
}

static void pass_serial(struct cc_sim *s, unsigned i)
{
	struct cc_vm_slot *v = &s->slot[i];
	struct cc_vm *vm = v->vm;
	if (v->serial_seen > vm->serial_len)
		v->serial_seen = vm->serial_len; /* cut back by a restore */
	for (;;) {
		const char *p = vm->serial + v->serial_seen;
		size_t left = vm->serial_len - v->serial_seen;
		const char *nl = left ? memchr(p, '\n', left) : NULL;
		if (!nl)
			break;
		size_t len = (size_t)(nl - p);
		v->serial_seen += len + 1;
		if (len && p[len - 1] == '\r')
			len--; /* the guest's tty writes "\r\n" */
		if (s->cfg.on_serial)
			s->cfg.on_serial(s->cfg.ctx, i, p, len);
	}
}

static int after_slice(struct cc_sim *s, unsigned i,
		       const struct round_result *r, struct cc_err *err)
{
	struct cc_vm_slot *v = &s->slot[i];
	if (v->status == CC_VM_RESUMING)
		set_status(s, i, CC_VM_RUNNING);
	if (r->ran && r->res.stop != CC_STOP_LIMIT) {
		v->res = r->res;
		set_status(s, i, CC_VM_HALTED);
	}
	collect_frames(s, i);
	if (!v->setup_told && v->vm->hc.setup_complete) {
		v->setup_told = true;
		cc_engine_setup_complete(&s->engine, i);
	}
	note(s, EV_VM_HASH, s->tick, i, cc_vm_trace_hash(v->vm));
	pass_serial(s, i);
	if (r->ran && r->rc && r->res.stop != CC_STOP_ERROR)
		return cc_err_set(err, "VM %u: %s", i, r->res.msg);
	return 0;
}

int cc_sim_step_round(struct cc_sim *s, struct cc_err *err)
{
	static __thread struct round_ctx rc;
	note(s, EV_ROUND, s->tick, 0, 0);
	cc_engine_tick(&s->engine, s->tick * CC_NS_PER_TICK, apply_cb, s);
	for (unsigned i = 0; i < s->n; i++) {
		struct cc_vm_slot *v = &s->slot[i];
		if (v->status == CC_VM_PAUSED && v->resume_tick &&
		    s->tick >= v->resume_tick)
			resume_vm(s, i);
	}
	cc_fabric_deliver(&s->fabric, s->tick, deliver_cb, s);
	for (unsigned i = 0; i < s->n; i++) {
		struct cc_vm_slot *v = &s->slot[i];
		if (live(v))
			advance_target(v);
		else if (v->status == CC_VM_PAUSED)
			v->paused_ticks++;
	}
	rc.s = s;
	cc_workers_run(&s->workers, run_slice, &rc, s->n);
	int failed = 0;
	for (unsigned i = 0; i < s->n; i++)
		if (after_slice(s, i, &rc.r[i], err))
			failed = -1;
	s->tick++;
	if (s->cfg.after_round)
		s->cfg.after_round(s->cfg.event_ctx);
	return failed;
}

bool cc_sim_done(const struct cc_sim *s)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->slot[i].status != CC_VM_KILLED &&
		    s->slot[i].status != CC_VM_HALTED)
			return false;
	return true;
}

void cc_sim_reseed(struct cc_sim *s, uint64_t seed)
{
	s->cfg.seed = seed;
	for (unsigned i = 0; i < s->n; i++)
		cc_vm_reseed(s->slot[i].vm, seed);
	cc_fabric_reseed(&s->fabric, seed);
	cc_engine_reseed(&s->engine, seed);
	note(s, EV_RESEED, s->tick, seed, 0);
	emit(s, (struct cc_sim_event){.kind = CC_SIM_EV_RESEED, .value = seed});
}

/* The VM answers from its slot's table (a restore copies the slot). */
static void use_overrides(struct cc_vm_slot *v)
{
	v->vm->cfg.choice_overrides = v->ov;
	v->vm->cfg.n_choice_overrides = v->nov;
}

int cc_sim_override_choice(struct cc_sim *s, unsigned i, uint64_t offset,
			   uint64_t value)
{
	struct cc_vm_slot *v = &s->slot[i];
	uint64_t next = v->vm->hc.choices, seq = next + offset;
	size_t n = 0;
	for (size_t k = 0; k < v->nov; k++)
		if (v->ov[k].seq >= next && v->ov[k].seq != seq)
			v->ov[n++] = v->ov[k];
	v->nov = n;
	if (n == CC_SIM_MAX_OVERRIDES)
		return -1;
	v->ov[v->nov++] = (struct cc_hc_override){seq, value};
	use_overrides(v);
	note(s, EV_CHOICE, s->tick, (uint64_t)i << 32 | (offset & 0xffffffff),
	     value);
	emit(s, (struct cc_sim_event){.kind = CC_SIM_EV_CHOICE,
				      .vm = i,
				      .offset = offset,
				      .value = value});
	return 0;
}

void cc_sim_observe(struct cc_sim *s,
		    void (*on_event)(void *ctx, const struct cc_sim_event *e),
		    void (*after_round)(void *ctx), void *ctx)
{
	s->cfg.on_event = on_event;
	s->cfg.after_round = after_round;
	s->cfg.event_ctx = ctx;
	wire_fabric(s);
}

uint64_t cc_sim_trace_hash(const struct cc_sim *s)
{
	return XXH3_64bits_digest(s->hash);
}

/* --- cluster snapshots ------------------------------------------------------
 */

struct cc_sim_snapshot {
	unsigned n;
	uint64_t tick, status_changes, seed;
	XXH3_state_t *hash;
	struct cc_fabric fabric;
	struct cc_fault_engine engine;
	struct cc_snapshot *vm[CC_SIM_MAX_VMS];
	struct cc_vm_slot slot[CC_SIM_MAX_VMS]; /* inbox: own copy */
	size_t serial_len[CC_SIM_MAX_VMS];
};

void cc_sim_snapshot_free(struct cc_sim_snapshot *snap)
{
	if (!snap)
		return;
	for (unsigned i = 0; i < snap->n; i++) {
		if (snap->vm[i])
			cc_snapshot_free(snap->vm[i]);
		free(snap->slot[i].inbox);
		free_archive(snap->slot[i].archive, 0, snap->slot[i].narchive);
		free(snap->slot[i].archive);
	}
	cc_fabric_free(&snap->fabric);
	cc_engine_free(&snap->engine);
	if (snap->hash)
		XXH3_freeState(snap->hash);
	free(snap);
}

/* dst (its inbox allocated) := src, with its own archive copy. */
static int copy_slot(struct cc_vm_slot *dst, const struct cc_vm_slot *src)
{
	struct cc_sim_frame *inbox = dst->inbox;
	char **archive = dst->archive;
	size_t narchive = dst->narchive;
	char **copy = append_records(NULL, 0, src->archive, src->narchive);
	if (!copy)
		return -1;
	free_archive(archive, 0, narchive);
	free(archive);
	*dst = *src;
	dst->inbox = inbox;
	dst->archive = copy;
	memcpy(dst->inbox, src->inbox, src->ninbox * sizeof(*src->inbox));
	return 0;
}

int cc_sim_snapshot(struct cc_sim *s, struct cc_sim_snapshot **out,
		    struct cc_err *err)
{
	struct cc_sim_snapshot *snap = calloc(1, sizeof(*snap));
	if (!snap)
		return cc_err_set(err, "out of memory");
	snap->n = s->n;
	snap->tick = s->tick;
	snap->status_changes = s->status_changes;
	snap->seed = s->cfg.seed;
	snap->hash = XXH3_createState();
	bool ok = snap->hash && !cc_fabric_copy(&snap->fabric, &s->fabric) &&
		  !cc_engine_copy(&snap->engine, &s->engine);
	if (ok)
		XXH3_copyState(snap->hash, s->hash);
	for (unsigned i = 0; ok && i < s->n; i++) {
		snap->slot[i].inbox =
			calloc(CC_SIM_INBOX, sizeof(struct cc_sim_frame));
		ok = snap->slot[i].inbox != NULL &&
		     !copy_slot(&snap->slot[i], &s->slot[i]);
		snap->serial_len[i] = s->slot[i].vm->serial_len;
	}
	if (!ok) {
		cc_sim_snapshot_free(snap);
		return cc_err_set(err, "out of memory");
	}
	for (unsigned i = 0; i < s->n; i++)
		if (cc_vm_snapshot(s->slot[i].vm, &snap->vm[i], err)) {
			cc_sim_snapshot_free(snap);
			return -1;
		}
	*out = snap;
	return 0;
}

int cc_sim_restore(struct cc_sim *s, const struct cc_sim_snapshot *snap,
		   struct cc_err *err)
{
	if (snap->n != s->n)
		return cc_err_set(err, "snapshot of %u VMs, simulation of %u",
				  snap->n, s->n);
	struct cc_fabric fabric;
	struct cc_fault_engine engine;
	if (cc_fabric_copy(&fabric, &snap->fabric))
		return cc_err_set(err, "out of memory");
	if (cc_engine_copy(&engine, &snap->engine)) {
		cc_fabric_free(&fabric);
		return cc_err_set(err, "out of memory");
	}
	for (unsigned i = 0; i < s->n; i++)
		if (cc_vm_restore(s->slot[i].vm, snap->vm[i], err)) {
			cc_fabric_free(&fabric);
			cc_engine_free(&engine);
			return -1;
		}
	cc_fabric_free(&s->fabric);
	cc_engine_free(&s->engine);
	s->fabric = fabric;
	s->engine = engine;
	for (unsigned i = 0; i < s->n; i++) {
		struct cc_vm_slot *v = &s->slot[i];
		struct cc_vm *vm = v->vm;
		struct cc_snapshot *initial = v->initial;
		if (copy_slot(v, &snap->slot[i]))
			v->narchive = 0; /* out of memory: the old lives' log */
		v->vm = vm;
		v->initial = initial;
		use_overrides(v);
		if (vm->serial_len > snap->serial_len[i]) {
			vm->serial_len = snap->serial_len[i];
			vm->serial_dropped = 0; /* back before the cap */
		}
		vm->serial_flushed = vm->serial_len;
	}
	s->tick = snap->tick;
	s->status_changes = snap->status_changes;
	s->cfg.seed = snap->seed;
	XXH3_copyState(s->hash, snap->hash);
	wire_fabric(s);
	return 0;
}

uint64_t cc_sim_snapshot_bytes(const struct cc_sim_snapshot *snap)
{
	uint64_t n = sizeof(*snap);
	for (unsigned i = 0; i < snap->n; i++) {
		n += cc_snapshot_bytes(snap->vm[i]);
	}
	return n;
}
