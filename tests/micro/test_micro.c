/*
 * Micro-guest tests: every path of the run loop against real KVM, in
 * milliseconds.  Each test boots one guest from guest/micro/tests/.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "chaoscontrol/protocol.h"
#include "run/coverage.h"
#include "vmm/platform.h"
#include "vmm/vm.h"

struct run {
	struct cc_vm *vm;
	struct cc_vm_result res;
};

static struct run boot(const char *name, unsigned watchdog_ms)
{
	char path[512];
	snprintf(path, sizeof(path), CC_BUILD_DIR "/guest/micro/%s.elf", name);
	struct cc_vm_config cfg = {
		.kernel_path = path,
		.mem_size = 16 << 20,
		.serial_fd = -1,
		.max_exits = 100000,
		.watchdog_ms = watchdog_ms,
	};
	struct run r = {0};
	struct cc_err e;
	cr_assert_eq(cc_vm_create(&r.vm, &cfg, &e), 0, "%s: %s", name, e.msg);
	cr_assert_eq(cc_vm_run(r.vm, &r.res), 0, "%s: %s", name, r.res.msg);
	return r;
}

static bool serial_has(const struct run *r, const char *s)
{
	return memmem(r->vm->serial, r->vm->serial_len, s, strlen(s)) != NULL;
}

Test(micro, hello_prints_from_cpl3)
{
	struct run r = boot("hello", 0);
	cr_assert_eq(r.res.stop, CC_STOP_EXIT_PORT, "%s", r.res.msg);
	cr_assert_eq(r.res.exit_status, 0);
	cr_assert(serial_has(&r, "hello from a micro-guest at CPL3\n"));
	cr_assert_eq(r.vm->stats.serial_bytes, r.vm->serial_len);
	cr_assert_eq(r.vm->stats.watchdog_fires, 0);
	cc_vm_destroy(r.vm);
}

Test(micro, exit_status_reaches_the_vmm)
{
	struct run r = boot("exit_status", 0);
	cr_assert_eq(r.res.stop, CC_STOP_EXIT_PORT);
	cr_assert_eq(r.res.exit_status, 42);
	cc_vm_destroy(r.vm);
}

Test(micro, pit_ticks_on_virtual_time)
{
	struct run r = boot("pit_ticks", 0);
	cr_assert_eq(r.res.stop, CC_STOP_EXIT_PORT, "%s", r.res.msg);
	cr_assert_eq(r.res.exit_status, 0, "%.*s", (int)r.vm->serial_len,
		     r.vm->serial);
	cr_assert(serial_has(&r, "ticks: 100\n"));
	/* 100 ticks at 1 kHz: 100 ms of virtual time, +- one tick. */
	cr_assert(r.res.vclock_ns >= 99000000 && r.res.vclock_ns <= 101000000,
		  "vclock %llu ns", (unsigned long long)r.res.vclock_ns);
	cr_assert(r.vm->stats.exits[CC_EXIT_HLT] >= 100);
	cr_assert(r.vm->stats.irqs_injected >= 100);
	cc_vm_destroy(r.vm);
}

Test(micro, triple_fault_is_a_shutdown)
{
	struct run r = boot("triple_fault", 0);
	cr_assert_eq(r.res.stop, CC_STOP_SHUTDOWN, "%s", r.res.msg);
	cr_assert(strstr(r.res.msg, "triple-faulted"), "%s", r.res.msg);
	cc_vm_destroy(r.vm);
}

Test(micro, halt_with_interrupts_off_is_poweroff)
{
	struct run r = boot("poweroff", 0);
	cr_assert_eq(r.res.stop, CC_STOP_POWEROFF, "%s", r.res.msg);
	cr_assert(serial_has(&r, "powering off\n"));
	cc_vm_destroy(r.vm);
}

Test(micro, halt_with_no_timer_is_reported_idle)
{
	struct run r = boot("idle_forever", 0);
	cr_assert_eq(r.res.stop, CC_STOP_IDLE, "%s", r.res.msg);
	cr_assert(strstr(r.res.msg, "no timer armed"), "%s", r.res.msg);
	cc_vm_destroy(r.vm);
}

Test(micro, breakpoints_at_both_privilege_levels)
{
	struct cc_platform p;
	struct cc_err e;
	cr_assert_eq(cc_platform_probe(&p, &e), 0, "%s", e.msg);
	struct run r = boot("breakpoint", 0);
	cr_assert_eq(r.res.stop, CC_STOP_EXIT_PORT, "%s", r.res.msg);
	cr_assert_eq(r.res.exit_status, 0, "%.*s", (int)r.vm->serial_len,
		     r.vm->serial);
	/* PVM cannot emulate int3 at CPL0: the fix-up must have done it. */
	if (p.kind == CC_PLATFORM_PVM)
		cr_assert_eq(r.vm->stats.fixups[CC_FIXUP_INT3], 1);
	cc_vm_destroy(r.vm);
}

Test(micro, emulation_failure_names_rip_symbol_and_bytes)
{
	struct cc_platform p;
	struct cc_err e;
	cr_assert_eq(cc_platform_probe(&p, &e), 0, "%s", e.msg);
	struct run r = boot("popcnt_kernel", 0);
	if (p.kind == CC_PLATFORM_HARDWARE) {
		cr_assert_eq(r.res.stop, CC_STOP_EXIT_PORT, "%s", r.res.msg);
		cr_assert_eq(r.res.exit_status, 0);
	} else {
		cr_assert_eq(r.res.stop, CC_STOP_ERROR, "%s", r.res.msg);
		cr_assert(strstr(r.res.msg, "emulation failure"), "%s",
			  r.res.msg);
		cr_assert(strstr(r.res.msg, "count_bits+0x0"), "%s", r.res.msg);
		cr_assert(strstr(r.res.msg, "instruction bytes: f3 48 0f b8"),
			  "%s", r.res.msg);
	}
	cc_vm_destroy(r.vm);
}

Test(micro, watchdog_preempts_a_silent_spin_and_counts_it)
{
	struct run r = boot("spin_no_exit", 200);
	cr_assert_eq(r.res.stop, CC_STOP_EXIT_PORT, "%s", r.res.msg);
	cr_assert_eq(r.res.exit_status, 0);
	cr_assert(r.vm->stats.watchdog_fires >= 1,
		  "a spin with no exits can only end by the watchdog");
	cc_vm_destroy(r.vm);
}

Test(micro, port_io_paths)
{
	struct run r = boot("port_io", 0);
	cr_assert_eq(r.res.stop, CC_STOP_EXIT_PORT, "%s", r.res.msg);
	cr_assert_eq(r.res.exit_status, 0, "%.*s", (int)r.vm->serial_len,
		     r.vm->serial);
	cr_assert(serial_has(&r, "string I/O line\n"));
	cr_assert_eq(r.vm->stats.unknown_pio, 2);
	cc_vm_destroy(r.vm);
}

Test(micro, mmio_from_user_space)
{
	struct run r = boot("mmio_user", 0);
	cr_assert_eq(r.res.stop, CC_STOP_EXIT_PORT, "%s", r.res.msg);
	cr_assert_eq(r.res.exit_status, 0, "%.*s", (int)r.vm->serial_len,
		     r.vm->serial);
	cr_assert_eq(r.vm->stats.exits[CC_EXIT_MMIO_WRITE], 1);
	cr_assert_eq(r.vm->stats.exits[CC_EXIT_MMIO_READ], 1);
	cc_vm_destroy(r.vm);
}

Test(micro, exit_limit_stops_the_guest)
{
	char path[512];
	snprintf(path, sizeof(path), CC_BUILD_DIR "/guest/micro/pit_ticks.elf");
	struct cc_vm_config cfg = {
		.kernel_path = path,
		.mem_size = 16 << 20,
		.serial_fd = -1,
		.max_exits = 50,
	};
	struct cc_vm *vm;
	struct cc_vm_result res;
	struct cc_err e;
	cr_assert_eq(cc_vm_create(&vm, &cfg, &e), 0, "%s", e.msg);
	cc_vm_run(vm, &res);
	cr_assert_eq(res.stop, CC_STOP_LIMIT, "%s", res.msg);
	cc_vm_destroy(vm);
}

Test(micro, cpuid_hides_time_and_randomness_leaks)
{
	struct cc_platform p;
	struct cc_err e;
	cr_assert_eq(cc_platform_probe(&p, &e), 0, "%s", e.msg);
	struct run r = boot("cpuid_filter", 0);
	cr_assert_eq(r.res.stop, CC_STOP_EXIT_PORT, "%s", r.res.msg);
	/* Bits: 1 RDRAND, 2 TSC-deadline, 4 hypervisor, 8 RDSEED,
	 * 16 RDTSCP, 32 invariant TSC, 64 KVM leaves.  PVM's CPUID emulation
	 * at CPL0 keeps RDRAND and RDSEED (measured); there the guest
	 * kernel's clearcpuid= hides them instead. */
	uint32_t allowed = p.kind == CC_PLATFORM_PVM ? (1u | 8u) : 0u;
	cr_assert_eq(r.res.exit_status & ~allowed, 0,
		     "CPL0 CPUID leaks %#x:\n%.*s", r.res.exit_status,
		     (int)r.vm->serial_len, r.vm->serial);
	cc_vm_destroy(r.vm);
}

Test(micro, cpuid_options_fix_the_model_and_hide_avx)
{
	char path[512];
	snprintf(path, sizeof(path),
		 CC_BUILD_DIR "/guest/micro/cpuid_model.elf");
	struct cc_vm_config cfg = {
		.kernel_path = path,
		.mem_size = 16 << 20,
		.serial_fd = -1,
		.max_exits = 10000,
		.cpuid_hide_avx = true,
		.cpuid_fixed_model = true,
	};
	struct cc_vm *vm;
	struct cc_vm_result res;
	struct cc_err e;
	cr_assert_eq(cc_vm_create(&vm, &cfg, &e), 0, "%s", e.msg);
	cc_vm_run(vm, &res);
	cr_assert_eq(res.stop, CC_STOP_EXIT_PORT, "%s", res.msg);
	const char *s = vm->serial;
	struct cc_platform p;
	cr_assert_eq(cc_platform_probe(&p, &e), 0, "%s", e.msg);
	/* PVM's CPL0 CPUID passes leaf 7 through from the host (measured):
	 * there the kernel command line hides AVX instead. */
	if (p.kind == CC_PLATFORM_HARDWARE)
		cr_assert(memmem(s, vm->serial_len, "avx2: 0\n", 8), "%.*s",
			  (int)vm->serial_len, s);
	cr_assert(memmem(s, vm->serial_len, "signature: 0x0000000000050654",
			 29) ||
			  memmem(s, vm->serial_len,
				 "signature: 0x0000000000830f10", 29),
		  "%.*s", (int)vm->serial_len, s);
	cc_vm_destroy(vm);
}

/* ---- the hypercall protocol --------------------------------------------- */

static struct run boot_sdk_capped(const struct cc_hc_override *ov, size_t nov,
				  uint64_t log_entries)
{
	struct cc_vm_config cfg = {
		.sdk_log_entries = log_entries,
		.kernel_path = CC_BUILD_DIR "/guest/micro/hypercalls.elf",
		.mem_size = 16 << 20,
		.serial_fd = -1,
		.max_exits = 100000,
		.choice_overrides = ov,
		.n_choice_overrides = nov,
	};
	struct run r = {0};
	struct cc_err e;
	cr_assert_eq(cc_vm_create(&r.vm, &cfg, &e), 0, "%s", e.msg);
	cr_assert_eq(cc_vm_run(r.vm, &r.res), 0, "%s", r.res.msg);
	cr_assert_eq(r.res.stop, CC_STOP_EXIT_PORT, "%s", r.res.msg);
	cr_assert_eq(r.res.exit_status, 0, "%.*s", (int)r.vm->serial_len,
		     r.vm->serial);
	return r;
}

static struct run boot_sdk(const struct cc_hc_override *ov, size_t nov)
{
	return boot_sdk_capped(ov, nov, 0);
}

Test(micro, hypercalls_are_answered_and_hostile_ones_refused)
{
	struct run r = boot_sdk(NULL, 0);
	cr_assert(serial_has(&r, "hypercalls ok\n"));
	/* 9 good calls, 12 refused (each status checked in the guest). */
	cr_assert_eq(r.vm->hc.calls, 21);
	cr_assert_eq(r.vm->hc.errors, 12);
	cr_assert_eq(r.vm->hc.records, 3, "only valid records are kept");
	cr_assert_eq(r.vm->hc_log.nrecords, 3);
	cr_assert_eq(r.vm->hc.choices, 4);
	cr_assert(r.vm->hc.setup_complete && r.vm->hc.coverage_live);
	cr_assert_eq(r.vm->hc_log.choices[0].n, 10);
	cr_assert_eq(r.vm->hc_log.choices[3].n, 0, "get_random: n = 0");
	cc_vm_destroy(r.vm);
}

/* A guest that calls in a loop cannot grow the log past its cap: the
 * calls are answered alike (same trace hash), kept up to the cap, and
 * the rest counted. */
Test(micro, the_sdk_log_keeps_at_most_its_cap)
{
	struct run full = boot_sdk(NULL, 0), r = boot_sdk_capped(NULL, 0, 2);
	cr_assert_eq(cc_vm_trace_hash(r.vm), cc_vm_trace_hash(full.vm));
	cr_assert_eq(r.vm->hc.records, 3);
	cr_assert_eq(r.vm->hc_log.nrecords, 2);
	cr_assert_eq(r.vm->hc_log.nchoices, 2);
	cr_assert_eq(cc_hypercall_records_dropped(&r.vm->hc_log, &r.vm->hc), 1);
	cr_assert_eq(cc_hypercall_choices_dropped(&r.vm->hc_log, &r.vm->hc), 2);
	cr_assert_eq(
		cc_hypercall_records_dropped(&full.vm->hc_log, &full.vm->hc),
		0);
	cc_vm_destroy(r.vm);
	cc_vm_destroy(full.vm);
}

/* Console output past the capture cap is counted (and streamed), not
 * kept: the VMM's memory stays bounded whatever the guest prints. */
Test(micro, the_console_keeps_at_most_its_cap)
{
	struct cc_vm_config cfg = {
		.kernel_path = CC_BUILD_DIR "/guest/micro/hello.elf",
		.mem_size = 16 << 20,
		.serial_fd = -1,
		.max_exits = 100000,
		.console_cap = 16,
	};
	struct run r = {0};
	struct cc_err e;
	cr_assert_eq(cc_vm_create(&r.vm, &cfg, &e), 0, "%s", e.msg);
	cr_assert_eq(cc_vm_run(r.vm, &r.res), 0, "%s", r.res.msg);
	cr_assert_eq(r.vm->serial_len, 16);
	cr_assert_gt(r.vm->serial_dropped, 0);
	cr_assert_eq(r.vm->serial_len + r.vm->serial_dropped,
		     r.vm->stats.serial_bytes);
	cc_vm_destroy(r.vm);
}

static void bitmap(struct cc_vm *vm, uint8_t *map)
{
	cr_assert(
		cc_mem_read(&vm->mem, CC_COVERAGE_GPA, map, CC_COVERAGE_SIZE));
}

Test(micro, choices_replay_and_overrides_change_them)
{
	static uint8_t m1[CC_COVERAGE_SIZE], m2[CC_COVERAGE_SIZE];
	struct run a = boot_sdk(NULL, 0), b = boot_sdk(NULL, 0);
	cr_assert_eq(cc_vm_trace_hash(a.vm), cc_vm_trace_hash(b.vm));
	bitmap(a.vm, m1);
	bitmap(b.vm, m2);
	cr_assert_arr_eq(m1, m2, sizeof(m1), "identical runs, other edges");
	uint64_t first = a.vm->hc_log.choices[0].value;
	struct cc_hc_override ov = {0, first == 7 ? 8 : 7};
	struct run c = boot_sdk(&ov, 1);
	cr_assert_eq(c.vm->hc_log.choices[0].value, ov.value);
	cr_assert(c.vm->hc_log.choices[0].overridden);
	cr_assert_eq(c.vm->hc_log.choices[1].value,
		     a.vm->hc_log.choices[1].value, "only seq 0 changes");
	cr_assert_neq(cc_vm_trace_hash(c.vm), cc_vm_trace_hash(a.vm));
	bitmap(c.vm, m2);
	cr_assert(memcmp(m1, m2, sizeof(m1)), "same edges for another choice");
	/* The CoverageCollector sees the run's edges, then clears them. */
	static struct cc_coverage cov;
	struct cc_coverage_run r1 = cc_coverage_add(&cov, m1);
	struct cc_coverage_run r2 = cc_coverage_add(&cov, m2);
	cr_assert_gt(r1.new_edges, 0);
	cr_assert_gt(r2.new_edges + r2.new_buckets, 0,
		     "override found nothing");
	cc_coverage_clear(&c.vm->mem);
	bitmap(c.vm, m2);
	for (size_t i = 0; i < sizeof(m2); i++)
		cr_assert_eq(m2[i], 0, "bitmap not cleared at %zu", i);
	cc_vm_destroy(a.vm);
	cc_vm_destroy(b.vm);
	cc_vm_destroy(c.vm);
}

/* Every host-to-guest input passes cc_vm_input: the recorder sees each
 * one, in order, before it applies; each is one traced event, so it is
 * in the hash; a refused one (IRQ 2, the cascade) is neither. */
struct seen {
	enum cc_inject kind[16];
	uint64_t value[16];
	unsigned n;
};

static void record(void *ctx, const struct cc_vm *vm,
		   const struct cc_vm_input *in)
{
	(void)vm;
	struct seen *s = ctx;
	if (s->n < 16) {
		s->kind[s->n] = in->kind;
		s->value[s->n++] = in->value;
	}
}

Test(micro, every_input_passes_one_traced_entry_point)
{
	char path[512];
	snprintf(path, sizeof(path), CC_BUILD_DIR "/guest/micro/hello.elf");
	struct seen s = {0};
	struct cc_vm_config cfg = {
		.kernel_path = path,
		.mem_size = 16 << 20,
		.serial_fd = -1,
		.on_input = record,
		.input_ctx = &s,
	};
	struct cc_vm *vm;
	struct cc_err e;
	cr_assert_eq(cc_vm_create(&vm, &cfg, &e), 0, "%s", e.msg);
	uint64_t events = vm->trace.st.count, h0 = cc_vm_trace_hash(vm);
	cr_assert_eq(cc_vm_inject_irq(vm, 4, &e), 0, "%s", e.msg);
	cr_assert_neq(cc_vm_inject_irq(vm, 2, &e), 0);
	cr_assert(strstr(e.msg, "not 2"), "%s", e.msg);
	cc_vm_set_memory_limit(vm, 1 << 20);
	cc_vm_set_disk_faults(vm, (struct cc_disk_faults){.full = true});
	cc_vm_reseed(vm, 77);
	static const uint8_t frame[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	cc_vm_deliver_frame(vm, frame, sizeof(frame)); /* queued or dropped */
	static const enum cc_inject want[] = {
		CC_INJECT_IRQ, CC_INJECT_MEMLIMIT, CC_INJECT_DISK_FAULTS,
		CC_INJECT_RESEED, CC_INJECT_FRAME};
	cr_assert_eq(s.n, 5);
	for (unsigned i = 0; i < 5; i++)
		cr_assert_eq(s.kind[i], want[i], "input %u", i);
	cr_assert_eq(s.value[0], 4);
	cr_assert_eq(s.value[1], 1 << 20);
	cr_assert_eq(s.value[3], 77);
	cr_assert_eq(vm->cfg.seed, 77);
	cr_assert_eq(vm->trace.st.count, events + 5);
	cr_assert_neq(cc_vm_trace_hash(vm), h0);
	/* Destroying a VM without a data disk leaves other fds alone (its
	 * zeroed disk once closed fd 0: somebody else's KVM fd, later). */
	int null = open("/dev/null", O_RDONLY);
	cr_assert_geq(null, 0);
	cr_assert_eq(dup2(null, 0), 0);
	cc_vm_destroy(vm);
	cr_assert_neq(fcntl(0, F_GETFD), -1, "fd 0 was closed");
	close(null);
}

/* Init's orders (protocol.h): three sections of words, an empty word
 * ending each; an empty argument, or one starting with the escape byte,
 * goes out with the escape in front. */
Test(micro, orders_escape_empty_arguments)
{
	char path[512];
	snprintf(path, sizeof(path), CC_BUILD_DIR "/guest/micro/hello.elf");
	static const char *const argv[] = {"/bin/p", "", "\x01x", "a", NULL};
	static const char *const env[] = {"K=v", NULL};
	struct cc_vm_config cfg = {
		.kernel_path = path,
		.mem_size = 16 << 20,
		.serial_fd = -1,
		.exec_argv = argv,
		.exec_env = env,
		.exec_cwd = "/d",
	};
	struct cc_vm *vm;
	struct cc_err e;
	cr_assert_eq(cc_vm_create(&vm, &cfg, &e), 0, "%s", e.msg);
	static const char want[] = "/bin/p\0\x01\0\x01\x01x\0a\0\0K=v\0\0/d";
	cr_assert_eq(vm->orders_len, sizeof(want));
	cr_assert_eq(memcmp(vm->orders, want, sizeof(want)), 0);
	cc_vm_destroy(vm);
	/* No directory: an empty last word, not an escaped one. */
	cfg.exec_cwd = NULL;
	cr_assert_eq(cc_vm_create(&vm, &cfg, &e), 0, "%s", e.msg);
	static const char bare[] = "/bin/p\0\x01\0\x01\x01x\0a\0\0K=v\0\0";
	cr_assert_eq(vm->orders_len, sizeof(bare));
	cr_assert_eq(memcmp(vm->orders, bare, sizeof(bare)), 0);
	cc_vm_destroy(vm);
	static const char *const no_path[] = {"", NULL};
	cfg.exec_argv = no_path;
	cr_assert_neq(cc_vm_create(&vm, &cfg, &e), 0);
	cr_assert(strstr(e.msg, "path is empty"), "%s", e.msg);
}
