/*
 * Exit handling without KVM: a VM with no vCPU (cc_vm_create_bare) is
 * handed exits as KVM would fill struct kvm_run, and each is checked for
 * what the guest sees and what the VM does - ports, MMIO, the doorbell,
 * HLT, malformed exits and unknown reasons.
 */
#include <criterion/criterion.h>
#include <linux/kvm.h>
#include <string.h>

#include "chaoscontrol/protocol.h"
#include "vmm/exit.h"

#define DATA 4096 /* where KVM puts port I/O data in the run page */

static struct cc_vm *bare(uint64_t seed)
{
	struct cc_vm_config cfg = {.seed = seed, .serial_fd = -1};
	struct cc_vm *vm;
	struct cc_err err;
	cr_assert_eq(cc_vm_create_bare(&vm, &cfg, &err), 0, "%s", err.msg);
	return vm;
}

/* One port exit of `size` bytes; what an IN read. */
static uint32_t io(struct cc_vm *vm, bool in, uint16_t port, unsigned size,
		   uint32_t val)
{
	struct kvm_run *r = vm->run;
	r->exit_reason = KVM_EXIT_IO;
	r->io.direction = in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	r->io.size = (uint8_t)size;
	r->io.port = port;
	r->io.count = 1;
	r->io.data_offset = DATA;
	memcpy((uint8_t *)r + DATA, &val, 4);
	cc_vm_dispatch(vm);
	uint32_t v = 0;
	memcpy(&v, (uint8_t *)r + DATA, size <= 4 ? size : 4);
	return v;
}

static void out8(struct cc_vm *vm, uint16_t port, uint8_t v)
{
	io(vm, false, port, 1, v);
}

/* One MMIO exit; what a read read. */
static uint64_t mmio(struct cc_vm *vm, bool write, uint64_t gpa, uint32_t len,
		     uint64_t val)
{
	struct kvm_run *r = vm->run;
	r->exit_reason = KVM_EXIT_MMIO;
	r->mmio.phys_addr = gpa;
	r->mmio.len = len;
	r->mmio.is_write = write;
	memcpy(r->mmio.data, &val, 8);
	cc_vm_dispatch(vm);
	uint64_t v;
	memcpy(&v, r->mmio.data, 8);
	return v;
}

Test(exits, com1_bytes_reach_the_console)
{
	struct cc_vm *vm = bare(1);
	out8(vm, CC_PORT_COM1, 'h');
	out8(vm, CC_PORT_COM1, 'i');
	out8(vm, CC_PORT_COM1, '\n');
	cr_assert_eq(vm->serial_len, 3);
	cr_assert_eq(memcmp(vm->serial, "hi\n", 3), 0);
	cr_assert_eq(vm->stats.exits[CC_EXIT_PIO_OUT], 3);
	cr_assert(!vm->stopped);
	cc_vm_destroy(vm);
}

Test(exits, unclaimed_ports_float_high_and_are_counted)
{
	struct cc_vm *vm = bare(1);
	cr_assert_eq(io(vm, true, 0x1234, 1, 0), 0xff);
	cr_assert_eq(io(vm, true, 0x1234, 2, 0), 0xffff);
	cr_assert_eq(io(vm, true, 0x1234, 4, 0), 0xffffffffu);
	cr_assert_eq(io(vm, true, 0x4d0, 1, 0x55), 0, "ELCR: all edge");
	cr_assert_eq(vm->stats.unknown_pio, 3);
	cc_vm_destroy(vm);
}

/* KVM fills these fields, but a bad one must not walk us off the page. */
Test(exits, malformed_port_exits_stop_the_vm)
{
	struct {
		unsigned size, count;
		uint64_t off;
	} bad[] = {{3, 1, DATA}, {1, 1, 1 << 20}, {4, 1u << 30, DATA}};
	for (unsigned i = 0; i < 3; i++) {
		struct cc_vm *vm = bare(1);
		struct kvm_run *r = vm->run;
		r->exit_reason = KVM_EXIT_IO;
		r->io.direction = KVM_EXIT_IO_OUT;
		r->io.size = (uint8_t)bad[i].size;
		r->io.port = CC_PORT_COM1;
		r->io.count = bad[i].count;
		r->io.data_offset = bad[i].off;
		cc_vm_dispatch(vm);
		cr_assert(vm->stopped, "case %u", i);
		cr_assert_eq(vm->result.stop, CC_STOP_ERROR);
		cr_assert(strstr(vm->result.msg, "malformed port I/O exit"),
			  "%s", vm->result.msg);
		cr_assert_eq(vm->serial_len, 0, "nothing was written");
		cc_vm_destroy(vm);
	}
}

/* Reported work moves the clock by its fixed cost, capped per write. */
Test(exits, the_progress_port_moves_virtual_time)
{
	struct cc_vm *a = bare(1), *b = bare(1), *c = bare(1);
	io(a, false, CC_PORT_PROGRESS, 4, 0);
	io(b, false, CC_PORT_PROGRESS, 4, 10);
	io(c, false, CC_PORT_PROGRESS, 4, 0xffffffffu);
	cr_assert_eq(b->vclock.ns - a->vclock.ns, 10 * CC_PROGRESS_DEFAULT_NS);
	cr_assert_eq(c->vclock.ns - a->vclock.ns,
		     CC_PROGRESS_MAX_UNITS * CC_PROGRESS_DEFAULT_NS);
	cc_vm_destroy(a);
	cc_vm_destroy(b);
	cc_vm_destroy(c);
}

Test(exits, the_exit_port_stops_with_the_guests_status)
{
	struct cc_vm *vm = bare(1);
	io(vm, false, CC_PORT_EXIT, 4, 7);
	cr_assert_eq(vm->result.stop, CC_STOP_EXIT_PORT);
	cr_assert_eq(vm->result.exit_status, 7);
	cc_vm_destroy(vm);
}

/* The doorbell's entropy is the seed's stream, nothing else. */
Test(exits, doorbell_entropy_follows_the_seed)
{
	struct cc_vm *a = bare(5), *b = bare(5), *c = bare(6);
	uint64_t g = CC_DOORBELL_GPA + CC_DOORBELL_RANDOM;
	uint64_t x = mmio(a, false, g, 8, 0), y = mmio(b, false, g, 8, 0);
	cr_assert_eq(x, y);
	cr_assert_neq(x, mmio(c, false, g, 8, 0));
	cr_assert_neq(x, mmio(a, false, g, 8, 0), "a stream, not a value");
	cc_vm_destroy(a);
	cc_vm_destroy(b);
	cc_vm_destroy(c);
}

Test(exits, mmio_pages_answer_as_the_table_says)
{
	struct cc_vm *vm = bare(1);
	cr_assert_eq(mmio(vm, false, CC_VIRTIO_NET_GPA, 4, 0) & 0xffffffffu,
		     0x74726976u, "virtio magic");
	cr_assert_eq(mmio(vm, false, CC_VIRTIO_NET_GPA + 8, 4, 0) & 0xff, 1,
		     "net device id");
	cr_assert_eq(mmio(vm, false, CC_VIRTIO_RNG_GPA + 8, 4, 0) & 0xff, 4,
		     "rng device id");
	cr_assert_eq(vm->stats.unknown_mmio, 0);
	/* No data disk: its page is empty, like any other. */
	cr_assert_eq(mmio(vm, false, CC_VIRTIO_BLK_GPA, 4, 0) & 0xffffffffu,
		     0xffffffffu);
	/* A length KVM never gives is cut to the data array. */
	cr_assert_eq(mmio(vm, false, 0xe0000000ull, 200, 0), UINT64_MAX);
	mmio(vm, true, 0xe0000000ull, 4, 1);
	cr_assert_eq(vm->stats.unknown_mmio, 3);
	cr_assert(!vm->stopped);
	cc_vm_destroy(vm);
}

/* HLT: power-off with interrupts off, idle with nothing armed, else a
 * jump to the timer's deadline and its interrupt at the next entry. */
Test(exits, hlt_waits_for_the_timer_in_virtual_time)
{
	struct cc_vm *off = bare(1), *idle = bare(1), *vm = bare(1);
	off->run->exit_reason = KVM_EXIT_HLT;
	cc_vm_dispatch(off);
	cr_assert_eq(off->result.stop, CC_STOP_POWEROFF);
	idle->run->exit_reason = KVM_EXIT_HLT;
	idle->run->if_flag = 1;
	cc_vm_dispatch(idle);
	cr_assert_eq(idle->result.stop, CC_STOP_IDLE);

	static const uint8_t icw[][2] = {{0x20, 0x11},
					 {0x21, 0x20},
					 {0x21, 0x04},
					 {0x21, 0x01},
					 {0x21, 0xfe}};
	for (unsigned i = 0; i < 5; i++)
		out8(vm, icw[i][0], icw[i][1]);
	out8(vm, CC_PORT_PIT_MODE, 0x34); /* channel 0, rate generator */
	out8(vm, CC_PORT_PIT_BASE, 0xa9); /* 1193: ~1 ms */
	out8(vm, CC_PORT_PIT_BASE, 0x04);
	uint64_t before = vm->vclock.ns;
	vm->run->exit_reason = KVM_EXIT_HLT;
	vm->run->if_flag = 1;
	cc_vm_dispatch(vm);
	cr_assert(!vm->stopped, "%s", vm->result.msg);
	cr_assert_gt(vm->vclock.ns, before + 900000);
	cr_assert_lt(vm->vclock.ns, before + 1100000);
	vm->run->ready_for_interrupt_injection = 1;
	cr_assert_eq(cc_vm_settle(vm), 0x20, "IRQ 0 at its vector");
	vm->run->if_flag = 0;
	cr_assert_eq(cc_vm_settle(vm), -1, "none while IF is clear");
	cc_vm_destroy(off);
	cc_vm_destroy(idle);
	cc_vm_destroy(vm);
}

Test(exits, unknown_exit_reasons_stop_with_the_reason)
{
	struct cc_vm *vm = bare(1);
	vm->run->exit_reason = 9999;
	cc_vm_dispatch(vm);
	cr_assert_eq(vm->result.stop, CC_STOP_ERROR);
	cr_assert(strstr(vm->result.msg, "unexpected KVM exit reason 9999"),
		  "%s", vm->result.msg);
	cc_vm_destroy(vm);
}

/* The same exits give the same trace: nothing but them reaches it. */
Test(exits, the_same_exits_hash_alike)
{
	uint64_t h[2];
	for (unsigned k = 0; k < 2; k++) {
		struct cc_vm *vm = bare(3);
		out8(vm, CC_PORT_COM1, 'x');
		io(vm, true, CC_PORT_RTC + 1, 1, 0);
		mmio(vm, false, CC_DOORBELL_GPA + CC_DOORBELL_RANDOM, 8, 0);
		io(vm, false, CC_PORT_PROGRESS, 4, 3);
		h[k] = cc_vm_trace_hash(vm);
		cc_vm_destroy(vm);
	}
	cr_assert_eq(h[0], h[1]);
}

/* The console keeps at most its cap and streams every byte, in order,
 * the kept ones first. */
Test(exits, the_console_keeps_its_cap_and_streams_everything)
{
	FILE *f = tmpfile();
	cr_assert(f);
	struct cc_vm_config cfg = {
		.seed = 1, .serial_fd = fileno(f), .console_cap = 8};
	struct cc_vm *vm;
	struct cc_err err;
	cr_assert_eq(cc_vm_create_bare(&vm, &cfg, &err), 0, "%s", err.msg);
	const char *line = "0123456789abcdefghij\n";
	for (const char *p = line; *p; p++)
		out8(vm, CC_PORT_COM1, (uint8_t)*p);
	cr_assert_eq(vm->serial_len, 8);
	cr_assert_eq(memcmp(vm->serial, line, 8), 0);
	cr_assert_eq(vm->serial_dropped, strlen(line) - 8);
	cr_assert_eq(vm->stats.serial_bytes, strlen(line));
	char got[64] = {0};
	rewind(f);
	cr_assert_eq(fread(got, 1, sizeof(got) - 1, f), strlen(line));
	cr_assert_str_eq(got, line);
	cc_vm_destroy(vm);
	fclose(f);
}
