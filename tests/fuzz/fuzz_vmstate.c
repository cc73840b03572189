/*
 * Fuzz target: a VM's device state as a snapshot file brings it, then
 * the guest.  A VM's devices are set up from the device table (no KVM),
 * its state blob is saved and patched with the input's bytes (headers
 * and states alike), and cc_vm_state_check judges it.  A blob it
 * accepts is loaded, and the guest then drives every device port and
 * virtio page the table names, at moving virtual times.  Nothing may
 * crash or touch memory outside guest RAM, and the state the guest
 * reaches from an accepted state must be accepted too (a snapshot taken
 * there must load).
 *
 * Each input runs on a fresh VM: a crash reproduces from its input.
 *
 * Input: P (patches, at most 64), P x {row, offset lo, offset hi,
 * byte}, a 2-byte length L and L bytes of guest memory (rings,
 * descriptors, buffers; copied to the last 60 KiB of RAM), then 8-byte
 * commands {op, a, b, value[4], time step}.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "chaoscontrol/protocol.h"
#include "seed.h"
#include "vmm/devtab.h"
#include "vmm/vm.h"

#define RAM	 CC_MEM_MIN
#define AREA	 (60u << 10)
#define AREA_GPA (RAM - AREA)

static struct cc_mem mem;

static void quiet(void *ctx, const char *dev, const char *msg)
{
	(void)ctx, (void)dev, (void)msg;
}

/* A VM holding only its devices, over the shared guest RAM: the same
 * memory every time (large allocations would cost more than the run),
 * cleared whole, so nothing of the last input is left. */
static struct cc_vm *vm_new(void)
{
	static struct cc_vm *vm;
	if (!vm && !(vm = malloc(sizeof(*vm))))
		abort();
	memset(vm, 0, sizeof(*vm));
	vm->cfg.seed = 11;
	vm->cfg.vm_index = 2;
	vm->cfg.serial_fd = -1;
	vm->cfg.console_cap = 4096;
	vm->mem = mem;
	struct cc_err e;
	if (cc_vm_devices_init(vm, &vm->cfg, &e)) {
		fprintf(stderr, "fuzz_vmstate: %s\n", e.msg);
		abort();
	}
	uint64_t pages[] = {CC_VIRTIO_NET_GPA, CC_VIRTIO_RNG_GPA,
			    CC_VIRTIO_IMG_GPA};
	for (unsigned i = 0; i < 3; i++)
		cc_vm_virtio_at(vm, pages[i])->log = quiet;
	return vm;
}

static void vm_drop(struct cc_vm *vm)
{
	cc_vm_devices_free(vm);
	free(vm->serial);
}

/* Every port the table gives the guest, in table order. */
static uint16_t ports[64];
static unsigned nports;

static void list_ports(void)
{
	size_t n;
	const struct cc_vm_device *d = cc_vm_devices(&n);
	for (size_t i = 0; i < n; i++)
		for (unsigned k = 0; k < 2; k++)
			for (unsigned p = 0; p < d[i].ports[k].n; p++)
				if (nports < 64)
					ports[nports++] =
						(uint16_t)(d[i].ports[k].base +
							   p);
}

/* Patches byte `off` of row `row`'s section (header included). */
static void patch(uint8_t *blob, const uint8_t *p)
{
	size_t n, at = 0;
	const struct cc_vm_device *d = cc_vm_devices(&n);
	unsigned row = p[0] % n;
	for (unsigned i = 0; i < row; i++)
		at += CC_VM_SECTION_HEADER + ((d[i].len + 7) & ~(size_t)7);
	size_t off = (size_t)(p[1] | p[2] << 8) %
		     (CC_VM_SECTION_HEADER + ((d[row].len + 7) & ~(size_t)7));
	blob[at + off] = p[3];
}

static void command(struct cc_vm *vm, const uint8_t *c)
{
	static const uint64_t pages[] = {CC_VIRTIO_NET_GPA, CC_VIRTIO_RNG_GPA,
					 CC_VIRTIO_IMG_GPA};
	uint64_t now = vm->vclock.ns;
	uint8_t val[4];
	memcpy(val, c + 3, 4);
	switch (c[0] % 6) {
	case 0:	  /* port write */
	case 1: { /* port read */
		uint16_t port = ports[c[1] % nports];
		const struct cc_vm_device *d = cc_vm_device_at_port(port);
		if (c[0] % 6 == 0)
			d->pio_write(vm, port, val[0]);
		else
			d->pio_read(vm, port);
		break;
	}
	case 2:	  /* MMIO write */
	case 3: { /* MMIO read */
		uint64_t gpa = pages[c[1] % 3] + ((uint64_t)c[2] << 2 & 0x1fc);
		struct cc_virtio_mmio *t = cc_vm_virtio_at(vm, gpa);
		if (c[0] % 6 == 2)
			cc_virtio_mmio_write(t, gpa - t->base, val, 4, now);
		else
			cc_virtio_mmio_read(t, gpa - t->base, val, 4, now);
		break;
	}
	case 4: { /* a frame from the network: its length, a byte pattern */
		static uint8_t frame[4 + 255];
		memset(frame, c[2], sizeof(frame));
		memcpy(frame, val, 4);
		cc_net_port_deliver(&vm->net, frame, 4u + c[1], now);
		break;
	}
	default: /* the exit's end: devices due, the timer, the CPU */
		cc_vm_devices_poll(vm, now);
		cc_pit_update(&vm->pit, now);
		if (cc_pic_pending(&vm->pic))
			cc_pic_ack(&vm->pic);
	}
	vm->vclock.ns += (uint64_t)c[7] << 12;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (!mem.host) {
		struct cc_err e;
		if (cc_mem_init(&mem, RAM, &e))
			abort();
		list_ports();
	}
	/* RAM zero again: the last input's devices wrote wherever its
	 * descriptors pointed. */
	if (madvise(mem.host, mem.size, MADV_DONTNEED))
		abort();
	struct cc_vm *vm = vm_new();
	static uint8_t *blob;
	if (!blob && !(blob = malloc(cc_vm_state_size())))
		abort();
	cc_vm_state_save(vm, blob);
	size_t i = 0;
	unsigned np = len ? data[0] % 65 : 0;
	for (i = 1; np && i + 4 <= len; i += 4, np--)
		patch(blob, data + i);
	if (cc_vm_state_check(vm, blob))
		goto out; /* refused: nothing was loaded */
	cc_vm_state_load(vm, blob);
	size_t l = 0;
	if (i + 2 <= len) {
		l = (size_t)(data[i] | data[i + 1] << 8);
		i += 2;
	}
	l = l < len - i ? l : len - i;
	l = l < AREA ? l : AREA;
	memcpy(mem.host + AREA_GPA, data + i, l);
	for (i += l; i + 8 <= len; i += 8)
		command(vm, data + i);
	cc_vm_state_save(vm, blob);
	const char *why = cc_vm_state_check(vm, blob);
	if (why) {
		fprintf(stderr, "reached a state a restore refuses: %s\n", why);
		abort();
	}
out:
	vm_drop(vm);
	return 0;
}

/* ---- the seed: a guest that sets up virtio-rng's queue and asks ----- */

static uint8_t *put(uint8_t *p, uint8_t op, uint8_t a, uint8_t b, uint32_t v)
{
	p[0] = op, p[1] = a, p[2] = b;
	memcpy(p + 3, &v, 4);
	p[7] = 1;
	return p + 8;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static uint8_t seed[1 + 2 + 0x500 + 8 * 32];
	uint8_t *p = seed;
	*p++ = 0;		  /* no patches */
	*p++ = 0x00, *p++ = 0x05; /* 0x500 bytes of guest memory */
	/* Descriptor 0: 16 bytes for the device to write, at +0x100. */
	uint64_t addr = AREA_GPA + 0x100;
	memcpy(p, &addr, 8);
	uint32_t dlen = 16;
	memcpy(p + 8, &dlen, 4);
	p[12] = 2;	  /* VIRTQ_DESC_F_WRITE */
	p[0x200 + 2] = 1; /* avail: idx 1, ring[0] = 0 */
	p += 0x500;
	uint8_t rng = 1; /* pages[1] */
	uint32_t gpa = (uint32_t)AREA_GPA;
	p = put(p, 2, rng, 0x70 >> 2, 1);	    /* status: ACK */
	p = put(p, 2, rng, 0x70 >> 2, 3);	    /* + DRIVER */
	p = put(p, 2, rng, 0x24 >> 2, 1);	    /* features 32-63 */
	p = put(p, 2, rng, 0x20 >> 2, 1);	    /* VERSION_1 */
	p = put(p, 2, rng, 0x70 >> 2, 0xb);	    /* + FEATURES_OK */
	p = put(p, 2, rng, 0x30 >> 2, 0);	    /* queue 0 */
	p = put(p, 2, rng, 0x38 >> 2, 8);	    /* 8 entries */
	p = put(p, 2, rng, 0x80 >> 2, gpa);	    /* descriptors */
	p = put(p, 2, rng, 0x90 >> 2, gpa + 0x200); /* avail */
	p = put(p, 2, rng, 0xa0 >> 2, gpa + 0x400); /* used */
	p = put(p, 2, rng, 0x44 >> 2, 1);	    /* ready */
	p = put(p, 2, rng, 0x70 >> 2, 0xf);	    /* + DRIVER_OK */
	p = put(p, 2, rng, 0x50 >> 2, 0);	    /* notify */
	for (unsigned k = 0; k < 4; k++)
		p = put(p, 5, 0, 0, 0);	  /* let it serve */
	p = put(p, 3, rng, 0x60 >> 2, 0); /* interrupt status */
	p = put(p, 0, 0, 0, 0x11);	  /* PIC ICW1 */
	cc_fuzz_write_seed_n(*argc, *argv, seed, (size_t)(p - seed));
	return 0;
}
