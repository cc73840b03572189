/*
 * Fuzz target: the VM's exit dispatch, as a hostile guest (and a
 * confused kernel) can fill struct kvm_run.  A VM without KVM
 * (cc_vm_create_bare) takes port I/O of every size and count, MMIO on
 * the virtio pages, the doorbell and elsewhere, HLT, and other exit
 * reasons, with the entry work (timer, device services, the interrupt
 * to inject) between them as the run loop does it.  Guest RAM holds the
 * input's SDK page and ring area.
 *
 * Properties: nothing crashes or reads out of bounds; the device state
 * the guest reaches passes the snapshot check; the same input on a
 * second fresh VM gives the same trace hash and the same device state
 * (exit handling is a function of the exits).
 *
 * Input: a 2-byte length H and H bytes for the SDK page (at most 4 KiB),
 * a 2-byte length L and L bytes for the ring area (the last 60 KiB of
 * RAM), then 12-byte exits {kind, a, b, c, value[4], len, flags, x, y}.
 */
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaoscontrol/protocol.h"
#include "seed.h"
#include "vmm/exit.h"

#define AREA	 (60u << 10)
#define AREA_GPA (CC_MEM_MIN - AREA)
#define DATA	 4096u

static const uint16_t ports[] = {
	CC_PORT_COM1,
	CC_PORT_COM1 + 1,
	CC_PORT_COM1 + 2,
	CC_PORT_COM1 + 3,
	CC_PORT_COM1 + 4,
	CC_PORT_COM1 + 5,
	CC_PORT_COM1 + 7,
	CC_PORT_PIC1,
	CC_PORT_PIC1 + 1,
	CC_PORT_PIC2,
	CC_PORT_PIC2 + 1,
	CC_PORT_PIT_BASE,
	CC_PORT_PIT_MODE,
	CC_PORT_SPEAKER,
	CC_PORT_RTC,
	CC_PORT_RTC + 1,
	CC_PORT_HYPERCALL,
	CC_PORT_COVERAGE,
	CC_PORT_PROGRESS,
	0x80,
	0x4d0,
	0x4d1,
};
#define NPORTS (sizeof(ports) / sizeof(ports[0]))

static const uint64_t pages[] = {CC_VIRTIO_NET_GPA, CC_VIRTIO_RNG_GPA,
				 CC_VIRTIO_IMG_GPA, CC_VIRTIO_BLK_GPA,
				 CC_DOORBELL_GPA,   0xe0000000ull};

static void port_exit(struct kvm_run *r, const uint8_t *e)
{
	static const uint8_t sizes[] = {1, 2, 4, 1, 2, 4, 3, 8};
	r->exit_reason = KVM_EXIT_IO;
	r->io.direction = e[1] & 1 ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	r->io.size = sizes[e[1] >> 1 & 7];
	r->io.port =
		e[9] & 1 ? (uint16_t)(e[2] | e[3] << 8) : ports[e[2] % NPORTS];
	r->io.count = e[9] & 2 ? e[10] | (uint32_t)e[11] << 24 : 1 + (e[3] & 3);
	r->io.data_offset = e[9] & 4 ? (uint64_t)e[10] << 8 : DATA;
	uint8_t *data = (uint8_t *)r + DATA;
	for (unsigned i = 0; i < 4; i++)
		memcpy(data + 4 * i, e + 4, 4);
}

static void mmio_exit(struct kvm_run *r, const uint8_t *e)
{
	r->exit_reason = KVM_EXIT_MMIO;
	r->mmio.phys_addr = pages[e[2] % 6] + ((uint64_t)e[3] << 2) +
			    (e[9] & 1 ? e[10] & 3 : 0);
	r->mmio.len = e[8] & 15;
	r->mmio.is_write = e[1] & 1;
	memset(r->mmio.data, e[11], 8);
	memcpy(r->mmio.data, e + 4, 4);
}

static void other_exit(struct kvm_run *r, const uint8_t *e)
{
	/* Not KVM_EXIT_DIRTY_RING_FULL: the host's own bookkeeping, which
	 * KVM gives only with the ring enabled (there is none here). */
	static const uint32_t reasons[] = {
		KVM_EXIT_SHUTDOWN,	  KVM_EXIT_FAIL_ENTRY,
		KVM_EXIT_INTERNAL_ERROR,  KVM_EXIT_SYSTEM_EVENT,
		KVM_EXIT_IRQ_WINDOW_OPEN, 77};
	r->exit_reason = reasons[e[2] % 6];
	memcpy(&r->internal.suberror, e + 4, 4);
}

/* Runs the input's exits on a fresh VM: its trace hash, its state in
 * blob, and whether the state passed its check. */
static uint64_t run(const uint8_t *data, size_t len, uint8_t *blob)
{
	struct cc_vm_config cfg = {.seed = 3,
				   .serial_fd = -1,
				   .console_cap = 4096,
				   .node_count = 3,
				   .vm_index = 1};
	struct cc_vm *vm;
	struct cc_err err;
	if (cc_vm_create_bare(&vm, &cfg, &err)) {
		fprintf(stderr, "fuzz_exits: %s\n", err.msg);
		abort();
	}
	size_t i = 0;
	for (unsigned part = 0; part < 2 && i + 2 <= len; part++) {
		size_t l = (size_t)(data[i] | data[i + 1] << 8);
		size_t cap = part ? AREA : 4096;
		i += 2;
		l = l < len - i ? l : len - i;
		l = l < cap ? l : cap;
		memcpy(vm->mem.host + (part ? AREA_GPA : CC_HYPERCALL_GPA),
		       data + i, l);
		i += l;
	}
	struct kvm_run *r = vm->run;
	for (; i + 12 <= len && !vm->stopped; i += 12) {
		const uint8_t *e = data + i;
		r->if_flag = e[9] >> 4 & 1;
		r->ready_for_interrupt_injection = e[9] >> 5 & 1;
		switch (e[0] % 4) {
		case 0:
			port_exit(r, e);
			break;
		case 1:
			mmio_exit(r, e);
			break;
		case 2:
			r->exit_reason = KVM_EXIT_HLT;
			break;
		default:
			other_exit(r, e);
		}
		cc_vm_dispatch(vm);
		cc_vm_settle(vm);
	}
	cc_vm_state_save(vm, blob);
	const char *why = cc_vm_state_check(vm, blob);
	if (why) {
		fprintf(stderr, "reached a state a restore refuses: %s\n", why);
		abort();
	}
	uint64_t h = cc_vm_trace_hash(vm);
	cc_vm_destroy(vm);
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static uint8_t *a, *b;
	size_t n = cc_vm_state_size();
	if (!a && (!(a = malloc(n)) || !(b = malloc(n))))
		abort();
	uint64_t ha = run(data, len, a), hb = run(data, len, b);
	if (ha != hb || memcmp(a, b, n)) {
		fprintf(stderr, "the same exits gave two executions\n");
		abort();
	}
	return 0;
}

/* The seed: a guest that programs the PIC and PIT, prints, reads the
 * clock and entropy, reports progress and waits in HLT for the tick. */
static uint8_t *put(uint8_t *p, uint8_t kind, uint8_t a, uint8_t b, uint32_t v,
		    uint8_t len, uint8_t flags)
{
	memset(p, 0, 12);
	p[0] = kind, p[1] = a, p[2] = b;
	memcpy(p + 4, &v, 4);
	p[8] = len, p[9] = flags;
	return p + 12;
}

static unsigned port_index(uint16_t port)
{
	for (unsigned i = 0; i < NPORTS; i++)
		if (ports[i] == port)
			return i;
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static uint8_t seed[4 + 12 * 32];
	uint8_t *p = seed + 4; /* no SDK page, no ring area */
	static const uint16_t init[][2] = {
		{CC_PORT_PIC1, 0x11},	  {CC_PORT_PIC1 + 1, 0x20},
		{CC_PORT_PIC1 + 1, 0x04}, {CC_PORT_PIC1 + 1, 0x01},
		{CC_PORT_PIC1 + 1, 0xfe}, {CC_PORT_PIT_MODE, 0x34},
		{CC_PORT_PIT_BASE, 0xa9}, {CC_PORT_PIT_BASE, 0x04},
		{CC_PORT_COM1, 'o'},	  {CC_PORT_COM1, 'k'}};
	for (unsigned i = 0; i < 10; i++)
		p = put(p, 0, 0, (uint8_t)port_index(init[i][0]), init[i][1], 0,
			0);
	p = put(p, 0, 1, (uint8_t)port_index(CC_PORT_RTC + 1), 0, 0, 0);
	p = put(p, 1, 0, 4, 0, 8, 0);	  /* doorbell + 0x10: orders */
	p = put(p, 1, 0, 4 + 0, 0, 8, 0); /* doorbell + 0: a read */
	p = put(p, 0, 4, (uint8_t)port_index(CC_PORT_PROGRESS), 5, 0, 0);
	p = put(p, 2, 0, 0, 0, 0, 0x30); /* HLT, IF on, injectable */
	p = put(p, 0, 1, (uint8_t)port_index(CC_PORT_PIC1), 0, 0, 0x30);
	cc_fuzz_write_seed_n(*argc, *argv, seed, (size_t)(p - seed));
	return 0;
}
