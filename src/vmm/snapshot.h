/*
 * Snapshots of one VM: everything the guest can observe and everything
 * that decides its future (DESIGN.md section 6) - vCPU state, every
 * device, the virtual clock, counters, the entropy stream position, the
 * running trace hash, and guest RAM.
 *
 * Memory is restored incrementally.  The VM stamps every page it sees
 * written (KVM's dirty log for the guest's writes, the VMM's own bitmap
 * for its writes) with its current generation, and a snapshot remembers
 * the generation at which memory last equalled it (taken or restored):
 * restoring copies back only the pages stamped later, O(dirty pages), and
 * collecting the writes costs O(pages written), whatever the number of
 * live snapshots.
 *
 * Guest RAM is kept in a two-level table: leaves of CC_SNAP_LEAF_PAGES
 * page pointers.  A new snapshot shares with the one memory last equalled
 * (its base) every page not written since and every leaf none of whose
 * pages was, and a written page whose bytes are still the base's: a
 * snapshot costs its root table (8 bytes per leaf: 8 KiB at 256 MiB),
 * the leaves it changed and the pages whose bytes changed.
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
/* Page pointers per leaf of a snapshot's page table: a 64-bit word of
 * the dirty bitmap, so a leaf's changes are one word's bits. */
#define CC_SNAP_LEAF_PAGES 64u

struct cc_snap_leaf {
	const uint8_t *page[CC_SNAP_LEAF_PAGES];
};

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
	/* Guest RAM: leaf[i] holds pages [64i, 64i + 64).  A leaf or page
	 * shared with the base points into the base's, which are immutable;
	 * the others are in own_leaf and own.  A snapshot holds a reference
	 * on its base, so the chain lives as long as any snapshot that shares
	 * from it. */
	struct cc_snap_leaf **leaf;
	struct cc_snap_leaf *own_leaf;
	uint64_t nleaves, own_leaves;
	uint8_t *own;
	uint64_t own_pages;  /* pages this snapshot copied */
	uint64_t same_pages; /* written since the base, shared: same bytes */
	struct cc_snapshot *base;
	unsigned refs; /* the owner's, plus one per snapshot based on it */
	uint64_t ram_size;
	uint64_t gen; /* the VM's generation memory last equalled it in */
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
 * live in `own`, in order (for loaders); NULL when out of memory. */
struct cc_snapshot *cc_snapshot_alloc(uint64_t ram_size);

/* Guest page pg (below ram_size / CC_PAGE_SIZE) of s. */
static inline const uint8_t *cc_snapshot_page(const struct cc_snapshot *s,
					      uint64_t pg)
{
	return s->leaf[pg / CC_SNAP_LEAF_PAGES]->page[pg % CC_SNAP_LEAF_PAGES];
}

/* The bytes s holds on its own (not shared with its base). */
uint64_t cc_snapshot_bytes(const struct cc_snapshot *s);

/* Stamps the pages written since the last collection (guest: KVM's
 * dirty log or ring; VMM: its own bitmap) with the VM's generation.
 * Snapshots and restores call it; the run loop does when the ring fills. */
int cc_vm_dirty_harvest(struct cc_vm *vm, struct cc_err *err);

/* Detaches from its VM and drops the owner's reference: the memory goes
 * when no snapshot based on it remains. */
void cc_snapshot_free(struct cc_snapshot *s);

/* A VM's state in a few numbers, for recordings' checkpoints and the
 * debugger: the vCPU's registers (general and segment/control, each
 * hashed; RIP as is), a hash of guest RAM and the virtual clock.  Like
 * a snapshot it first lets KVM finish an in-flight instruction, so it
 * changes nothing the guest sees, and the values after a restore are
 * the values the uninterrupted run had. */
struct cc_vm_digest {
	uint64_t rip, regs, sregs, ram, clock_ns;
};
int cc_vm_digest(struct cc_vm *vm, struct cc_vm_digest *d, struct cc_err *err);

#endif
