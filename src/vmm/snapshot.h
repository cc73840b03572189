/*
 * Snapshots of one VM: everything the guest can observe and everything
 * that decides its future (DESIGN.md section 6) - vCPU state, every
 * device, the virtual clock, counters, the entropy stream position, the
 * running trace hash, and guest RAM.
 *
 * Memory is restored incrementally.  The VM tracks the pages written
 * since each live snapshot was taken (KVM's dirty log for the guest's
 * writes, the VMM's own bitmap for its writes), so restoring copies back
 * only those pages: O(dirty pages), not O(RAM).
 *
 * Taking a snapshot first lets KVM finish an in-flight port/MMIO
 * instruction (one KVM_RUN with immediate_exit), so the saved registers
 * are those after the instruction, as the next entry would have made them.
 */
#ifndef CC_SNAPSHOT_H
#define CC_SNAPSHOT_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "../devices/disk.h"
#include "../base/err.h"
#include "trace.h"

#define CC_SNAP_MAX_MSRS 96

/* The vCPU, in the order it is restored (MP state before registers). */
struct cc_vcpu_state {
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	/* struct kvm_xsave's 4 KiB region (its flexible tail stays empty:
	 * we do not ask for KVM_GET_XSAVE2's larger state). */
	uint32_t xsave[1024];
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dregs;
	uint32_t nmsrs;
	uint32_t pad;
	struct kvm_msr_entry msrs[CC_SNAP_MAX_MSRS];
	struct kvm_vcpu_events events;
	/* What the last KVM_RUN told us, which decides the next injection. */
	uint8_t if_flag, ready_for_injection;
	uint8_t pad2[6];
};

struct cc_vm;

struct cc_snapshot {
	struct cc_vm *vm; /* the VM whose dirty pages it tracks, or NULL */
	struct cc_snapshot *next; /* the VM's list of live snapshots */
	struct cc_vcpu_state vcpu;
	uint8_t *devices; /* the device-snapshot blob (see vm.c) */
	uint64_t devices_len;
	struct cc_trace_state trace;
	/* Guest RAM, page by page.  A page unchanged since the VM's previous
	 * live snapshot (the base) points into the base's pages, which are
	 * immutable; only the others are copied into `own`.  A snapshot
	 * holds a reference on its base, so the chain lives as long as any
	 * snapshot that shares from it. */
	const uint8_t **page;
	uint8_t *own;
	uint64_t own_pages; /* pages this snapshot copied */
	struct cc_snapshot *base;
	unsigned refs; /* the owner's, plus one per snapshot based on it */
	uint64_t ram_size;
	uint64_t *dirty; /* pages written since, while attached */
	/* The disk overlay (virtio-blk), when the VM has a disk: its pages
	 * are shared by reference with the live overlay (disk.h). */
	bool has_disk;
	struct cc_disk_snap disk;
	uint64_t last_restored; /* pages the last restore copied */
};

/* Snapshot the VM now.  The VM must be stopped between runs (after
 * cc_vm_run returned, e.g. at a limit). */
int cc_vm_snapshot(struct cc_vm *vm, struct cc_snapshot **out,
		   struct cc_err *err);

/* Put the VM back exactly as it was at the snapshot.  A snapshot taken
 * of another VM (or loaded from a file) is accepted if RAM sizes match:
 * the first restore then copies all of RAM and attaches it. */
int cc_vm_restore(struct cc_vm *vm, struct cc_snapshot *s, struct cc_err *err);
/* A node restart: the VM becomes s (its ready point) except for its
 * disk, which keeps what the guest had flushed when the power went
 * (crash: each page written after the last flush lands, is lost or
 * tears, from the disk's seeded stream; disk.h), and its wall clock,
 * which goes on from where it was (CC_DOORBELL_WALLCLOCK). */
int cc_vm_reboot(struct cc_vm *vm, struct cc_snapshot *s, bool crash,
		 struct cc_err *err);

/* An empty, detached snapshot for ram_size bytes of RAM whose pages all
 * live in `own` (for loaders); NULL when out of memory. */
struct cc_snapshot *cc_snapshot_alloc(uint64_t ram_size);

/* Collects the pages written since the last collection (guest: KVM's
 * dirty log or ring; VMM: its own bitmap) into every live snapshot.
 * Snapshots and restores call it; the run loop does when the ring fills. */
int cc_vm_dirty_harvest(struct cc_vm *vm, struct cc_err *err);

/* Detaches from its VM and drops the owner's reference: the memory goes
 * when no snapshot based on it remains. */
void cc_snapshot_free(struct cc_snapshot *s);

#endif
