/*
 * The SimulationController on micro-guests (milliseconds per run, and
 * under ASan in `make asan`): each VM-side fault's effect on status and
 * clock, worker threads changing nothing, cluster snapshots restoring the
 * exact future.  The guest (snap_worker) ticks at 1 kHz and prints
 * "tick N" every 10 ticks, so its console shows its own clock.  The
 * Linux cluster tests (tests/linux/test_cluster.c) show the same faults
 * from inside real guests.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/controller.h"

#define MS 1000000ull

struct console {
	char text[3][1 << 16];
	size_t len[3];
};

static void on_serial(void *ctx, unsigned vm, const char *line, size_t len)
{
	struct console *c = ctx;
	if (vm < 3 && c->len[vm] + len + 1 < sizeof(c->text[vm])) {
		memcpy(c->text[vm] + c->len[vm], line, len);
		c->len[vm] += len;
		c->text[vm][c->len[vm]++] = '\n';
	}
}

static struct cc_vm *micro(unsigned i)
{
	struct cc_vm_config cfg = {
		.kernel_path = CC_BUILD_DIR "/guest/micro/snap_worker.elf",
		.mem_size = 32 << 20,
		.serial_fd = -1,
		.vm_index = i,
	};
	struct cc_vm *vm;
	struct cc_err e;
	cr_assert_eq(cc_vm_create(&vm, &cfg, &e), 0, "%s", e.msg);
	return vm;
}

static void add(struct cc_schedule *s, struct cc_fault f)
{
	cr_assert_eq(cc_schedule_add(s, &f), 0);
}

/* Three snap_workers under sched (consumed), gates off. */
static void start(struct cc_sim *s, struct cc_schedule *sched, unsigned threads,
		  struct console *c)
{
	struct cc_vm *vms[3] = {micro(0), micro(1), micro(2)};
	struct cc_sim_config cfg = {
		.threads = threads,
		.seed = 11,
		.on_serial = on_serial,
		.ctx = c,
		.engine = {.gate = CC_GATE_NONE},
	};
	struct cc_err e;
	cr_assert_eq(cc_sim_init(s, vms, 3, sched, &cfg, &e), 0, "%s", e.msg);
}

static void rounds(struct cc_sim *s, uint64_t to_tick)
{
	struct cc_err e;
	while (s->tick < to_tick)
		cr_assert_eq(cc_sim_step_round(s, &e), 0, "%s", e.msg);
}

/* VM i's clock is at `ms` after its start (within the last exit). */
static void clock_at(struct cc_sim *s, unsigned i, uint64_t base, uint64_t ms)
{
	uint64_t at = s->slot[i].vm->vclock.ns - base;
	cr_assert(at >= ms * MS && at < ms * MS + MS / 10,
		  "VM %u at %.3f ms, want %llu ms (tick %llu)", i, at / 1e6,
		  (unsigned long long)ms, (unsigned long long)s->tick);
}

static void process_schedule(struct cc_schedule *sc)
{
	memset(sc, 0, sizeof(*sc));
	add(sc, (struct cc_fault){.at_ns = 10 * MS,
				  .kind = CC_FAULT_PROCESS_PAUSE,
				  .vm = 1,
				  .duration_ns = 20 * MS});
	add(sc, (struct cc_fault){.at_ns = 15 * MS,
				  .kind = CC_FAULT_PROCESS_KILL,
				  .vm = 2});
	add(sc, (struct cc_fault){.at_ns = 20 * MS,
				  .kind = CC_FAULT_CLOCK_JUMP,
				  .vm = 0,
				  .offset_ns = 40 * (int64_t)MS});
	add(sc, (struct cc_fault){.at_ns = 40 * MS,
				  .kind = CC_FAULT_PROCESS_RESTART,
				  .vm = 2});
	add(sc, (struct cc_fault){.at_ns = 50 * MS,
				  .kind = CC_FAULT_CLOCK_SKEW,
				  .vm = 1,
				  .offset_ns = 250 * (int64_t)MS});
}

Test(controller, statuses_and_clocks_follow_the_faults)
{
	static struct cc_sim s;
	static struct console c;
	struct cc_schedule sc;
	process_schedule(&sc);
	start(&s, &sc, 0, &c);
	uint64_t base[3];
	for (unsigned i = 0; i < 3; i++)
		base[i] = s.slot[i].vm->vclock.ns;
	rounds(&s, 10);
	clock_at(&s, 1, base[1], 10);
	rounds(&s, 11); /* the pause fired at the tick-10 boundary */
	cr_assert_eq(s.slot[1].status, CC_VM_PAUSED);
	clock_at(&s, 1, base[1], 10);
	rounds(&s, 16);
	cr_assert_eq(s.slot[2].status, CC_VM_KILLED);
	clock_at(&s, 2, base[2], 15);
	rounds(&s, 21); /* the jump: VM 0 ran 40 ms of its own ahead */
	clock_at(&s, 0, base[0], 61);
	rounds(&s, 30);
	cr_assert_eq(s.slot[1].status, CC_VM_PAUSED);
	clock_at(&s, 1, base[1], 10);
	rounds(&s, 31); /* resumed at 30: caught up, running again */
	cr_assert_eq(s.slot[1].status, CC_VM_RUNNING);
	clock_at(&s, 1, base[1], 31);
	cr_assert_eq(s.slot[1].pauses, 1);
	rounds(&s, 41); /* restarted at 40 from its initial snapshot */
	cr_assert_eq(s.slot[2].status, CC_VM_RUNNING);
	cr_assert_eq(s.slot[2].restarts, 1);
	clock_at(&s, 2, base[2], 1);
	rounds(&s, 250); /* VM 1: 200 ticks at +250 ms/s = +50 ms */
	clock_at(&s, 1, base[1], 300);
	clock_at(&s, 0, base[0], 290);
	cr_assert(s.status_changes >= 5);
	/* The guests' own clocks: VM 1 counted more ticks than VM 2. */
	cr_assert(strstr(c.text[1], "tick 280 "), "%s", c.text[1]);
	cr_assert(!strstr(c.text[2], "tick 280 "), "%s", c.text[2]);
	cc_sim_free(&s);
}

/* The same schedule, sequential or on threads: one hash, one console. */
Test(controller, worker_threads_change_nothing)
{
	static struct cc_sim s;
	static struct console c[2];
	uint64_t h[2];
	for (int k = 0; k < 2; k++) {
		struct cc_schedule sc;
		process_schedule(&sc);
		start(&s, &sc, k ? 3 : 0, &c[k]);
		cr_assert_eq(s.workers.n, k ? 3u : 0u);
		rounds(&s, 200);
		h[k] = cc_sim_trace_hash(&s);
		cc_sim_free(&s);
	}
	cr_assert_eq(h[0], h[1], "%016llx vs %016llx", (unsigned long long)h[0],
		     (unsigned long long)h[1]);
	for (int i = 0; i < 3; i++)
		cr_assert_str_eq(c[0].text[i], c[1].text[i]);
}

Test(controller, cluster_snapshot_restores_the_future_100_times)
{
	static struct cc_sim s;
	static struct console c;
	struct cc_schedule sc;
	struct cc_err e;
	process_schedule(&sc);
	start(&s, &sc, 2, &c);
	rounds(&s, 12); /* VM 1 paused, the others running */
	struct cc_sim_snapshot *snap;
	cr_assert_eq(cc_sim_snapshot(&s, &snap, &e), 0, "%s", e.msg);
	rounds(&s, 80); /* through kill, jump, resume, restart, skew */
	uint64_t want = cc_sim_trace_hash(&s);
	size_t nlog = s.engine.nlog;
	for (int k = 0; k < 100; k++) {
		cr_assert_eq(cc_sim_restore(&s, snap, &e), 0, "%s", e.msg);
		cr_assert_eq(s.tick, 12u);
		cr_assert_eq(s.slot[1].status, CC_VM_PAUSED);
		rounds(&s, 80);
		cr_assert_eq(cc_sim_trace_hash(&s), want, "restore %d", k);
		cr_assert_eq(s.engine.nlog, nlog);
	}
	cc_sim_snapshot_free(snap);
	cc_sim_free(&s);
}

Test(controller, bad_sizes_are_refused)
{
	static struct cc_sim s;
	struct cc_sim_config cfg = {0};
	struct cc_err e;
	cr_assert_eq(cc_sim_init(&s, NULL, 0, NULL, &cfg, &e), -1);
	cr_assert(strstr(e.msg, "1 to 16 VMs"), "%s", e.msg);
}

/* Interrupt and NMI faults reach the guest's handlers. */
Test(controller, injected_interrupts_reach_the_guest)
{
	static struct cc_sim s;
	static struct console c;
	struct cc_schedule sc = {0};
	struct cc_vm_config cfg = {
		.kernel_path = CC_BUILD_DIR "/guest/micro/irq_count.elf",
		.mem_size = 32 << 20,
		.serial_fd = -1,
	};
	struct cc_vm *vm;
	struct cc_err e;
	cr_assert_eq(cc_vm_create(&vm, &cfg, &e), 0, "%s", e.msg);
	add(&sc, (struct cc_fault){.at_ns = 5 * MS,
				   .kind = CC_FAULT_INTERRUPT,
				   .irq = 3});
	add(&sc, (struct cc_fault){.at_ns = 8 * MS,
				   .kind = CC_FAULT_INTERRUPT,
				   .irq = 3});
	add(&sc, (struct cc_fault){.at_ns = 12 * MS, .kind = CC_FAULT_NMI});
	struct cc_sim_config sim = {.seed = 1,
				    .on_serial = on_serial,
				    .ctx = &c,
				    .engine = {.gate = CC_GATE_NONE}};
	cr_assert_eq(cc_sim_init(&s, &vm, 1, &sc, &sim, &e), 0, "%s", e.msg);
	rounds(&s, 20);
	cr_assert(
		strstr(c.text[0], "irq3 1 nmi 0\nirq3 2 nmi 0\nirq3 2 nmi 1\n"),
		"%s", c.text[0]);
	cr_assert_str_eq(s.err, "");
	cc_sim_free(&s);
}
