/*
 * The VM's device table (devtab.c): every device, and every other part
 * of the VM's saved state, is one row.  A row says where its state lives
 * in struct cc_vm (a plain struct with no pointers, saved whole under a
 * name and a version), how restored bytes are checked, and what the
 * device does: its set-up, its ports, its virtio-mmio page, its reseed
 * and teardown.  Set-up, the exit handlers, device polling, snapshots,
 * reseeding and teardown all walk the table, so a new device is one row
 * (and a save/load round-trip test) and cannot be half wired.
 *
 * Internal to vmm/: callers outside use vm.h.
 */
#ifndef CC_DEVTAB_H
#define CC_DEVTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/err.h"
#include "../devices/virtio_mmio.h"

struct cc_vm;
struct cc_vm_config;

/* A saved blob is one section per row: this header (name, version,
 * length), then the state, zero padded to a multiple of 8. */
#define CC_VM_SECTION_HEADER 24

struct cc_port_range {
	uint16_t base, n; /* ports [base, base + n) */
};

struct cc_vm_device {
	const char *name; /* its snapshot section; at most 11 characters */
	uint16_t version; /* of its state's layout: another is refused */
	size_t off, len;  /* the state inside struct cc_vm */
	/* NULL when `state` (len bytes, suitably aligned) is one the row
	 * could have reached in vm, else why not. */
	const char *(*check)(const struct cc_vm *vm, const void *state);
	/* Wiring; each hook optional.  Set-up runs in table order. */
	int (*init)(struct cc_vm *vm, const struct cc_vm_config *cfg,
		    struct cc_err *err);
	struct cc_port_range ports[2];
	uint8_t (*pio_read)(struct cc_vm *vm, uint16_t port);
	void (*pio_write)(struct cc_vm *vm, uint16_t port, uint8_t val);
	/* Its virtio-mmio transport, NULL when absent (no data disk);
	 * it answers the page at its base. */
	struct cc_virtio_mmio *(*virtio)(struct cc_vm *vm);
	void (*reseed)(struct cc_vm *vm, uint64_t vm_seed);
	void (*free)(struct cc_vm *vm);
};

/* The table, in snapshot-section and set-up order. */
const struct cc_vm_device *cc_vm_devices(size_t *n);

/* Sets up every device for cfg (vm's memory is not mapped yet). */
int cc_vm_devices_init(struct cc_vm *vm, const struct cc_vm_config *cfg,
		       struct cc_err *err);
/* The device answering `port`, or NULL. */
const struct cc_vm_device *cc_vm_device_at_port(uint16_t port);
/* The virtio transport whose page holds `gpa`, or NULL. */
struct cc_virtio_mmio *cc_vm_virtio_at(struct cc_vm *vm, uint64_t gpa);
/* Runs the virtio services due at `now`, in table order. */
void cc_vm_devices_poll(struct cc_vm *vm, uint64_t now);
/* Every stream of the VM's devices from its new per-VM seed. */
void cc_vm_devices_reseed(struct cc_vm *vm, uint64_t vm_seed);
void cc_vm_devices_free(struct cc_vm *vm);

#endif
