#define _GNU_SOURCE
#include "snapshot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <xxhash.h>

#include "platform.h"
#include "vm.h"

static uint64_t bitmap_words(const struct cc_mem *m)
{
	return (cc_mem_pages(m) + 63) / 64;
}

/* ---- vCPU ---------------------------------------------------------------- */

/* MSRs worth carrying: those KVM lists that read back here and accept
 * their own value (the KVM paravirt MSRs do not: we hide that
 * interface).  Writing a value an MSR already holds changes nothing. */
static int msr_list(int kvm_fd, int vcpu_fd, struct cc_vcpu_state *v,
		    struct cc_err *err)
{
	struct {
		struct kvm_msr_list l;
		uint32_t idx[512];
	} list = {.l.nmsrs = 512};
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &list) < 0)
		return cc_err_errno(err, "KVM_GET_MSR_INDEX_LIST");
	v->nmsrs = 0;
	for (uint32_t i = 0; i < list.l.nmsrs && v->nmsrs < CC_SNAP_MAX_MSRS;
	     i++) {
		struct {
			struct kvm_msrs h;
			struct kvm_msr_entry e;
		} one = {.h.nmsrs = 1, .e.index = list.idx[i]};
		if (ioctl(vcpu_fd, KVM_GET_MSRS, &one) == 1 &&
		    ioctl(vcpu_fd, KVM_SET_MSRS, &one) == 1)
			v->msrs[v->nmsrs++] = one.e;
	}
	return 0;
}

static int get_vcpu(struct cc_vm *vm, struct cc_vcpu_state *v,
		    struct cc_err *err)
{
	int fd = vm->vcpu_fd;
	if (ioctl(fd, KVM_GET_MP_STATE, &v->mp) < 0 ||
	    ioctl(fd, KVM_GET_REGS, &v->regs) < 0 ||
	    ioctl(fd, KVM_GET_SREGS, &v->sregs) < 0 ||
	    ioctl(fd, KVM_GET_XSAVE, (struct kvm_xsave *)v->xsave) < 0 ||
	    ioctl(fd, KVM_GET_XCRS, &v->xcrs) < 0 ||
	    ioctl(fd, KVM_GET_DEBUGREGS, &v->dregs) < 0 ||
	    ioctl(fd, KVM_GET_VCPU_EVENTS, &v->events) < 0)
		return cc_err_errno(err, "snapshot: reading vCPU state");
	return msr_list(vm->kvm_fd, fd, v, err);
}

/* DESIGN.md section 6's order: MP state before registers, events last. */
static int set_vcpu(struct cc_vm *vm, const struct cc_vcpu_state *v,
		    struct cc_err *err)
{
	int fd = vm->vcpu_fd;
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[CC_SNAP_MAX_MSRS];
	} msrs;
	msrs.h.nmsrs = v->nmsrs;
	msrs.h.pad = 0;
	memcpy(msrs.e, v->msrs, v->nmsrs * sizeof(v->msrs[0]));
	struct kvm_sregs sregs = v->sregs;
	sregs.tr.type = cc_platform_tr_type(sregs.tr.type);
	struct kvm_vcpu_events ev = v->events;
	ev.flags |=
		KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_NMI_PENDING;
	if (ioctl(fd, KVM_SET_MP_STATE, &v->mp) < 0 ||
	    ioctl(fd, KVM_SET_REGS, &v->regs) < 0 ||
	    ioctl(fd, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(fd, KVM_SET_XSAVE, (const struct kvm_xsave *)v->xsave) < 0 ||
	    ioctl(fd, KVM_SET_XCRS, &v->xcrs) < 0 ||
	    ioctl(fd, KVM_SET_DEBUGREGS, &v->dregs) < 0)
		return cc_err_errno(err, "restore: writing vCPU state");
	int n = ioctl(fd, KVM_SET_MSRS, &msrs);
	if (n != (int)v->nmsrs)
		return cc_err_set(err,
				  "restore: KVM_SET_MSRS wrote %d of %u "
				  "MSRs",
				  n, v->nmsrs);
	if (ioctl(fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		return cc_err_errno(err, "restore: KVM_SET_VCPU_EVENTS");
	vm->run->if_flag = v->if_flag;
	vm->run->ready_for_interrupt_injection = v->ready_for_injection;
	return 0;
}

/*
 * After a port or MMIO exit KVM finishes the instruction on the next
 * KVM_RUN.  Do that now, without running guest code (immediate_exit), so
 * the registers we save are final.  The kvm_run fields the run loop
 * reads (IF, injection window) are put back as they were, so taking a
 * snapshot does not change what the guest does next.
 */
static int complete_io(struct cc_vm *vm, struct cc_vcpu_state *v,
		       struct cc_err *err)
{
	v->if_flag = vm->run->if_flag;
	v->ready_for_injection = vm->run->ready_for_interrupt_injection;
	vm->run->immediate_exit = 1;
	int r = ioctl(vm->vcpu_fd, KVM_RUN, 0);
	int e = errno;
	vm->run->immediate_exit = 0;
	vm->run->if_flag = v->if_flag;
	vm->run->ready_for_interrupt_injection = v->ready_for_injection;
	if (r == 0 || e != EINTR)
		return cc_err_set(err,
				  "snapshot: completing the last exit "
				  "failed (KVM_RUN returned %d, errno %d)",
				  r, e);
	return 0;
}

/*
 * Before a restore, the same for the state being thrown away: the last
 * exit of the run that came before (another branch, or a slice that
 * stopped at a port or MMIO exit) is still pending in KVM, and the next
 * KVM_RUN would finish *that* instruction on the restored registers - a
 * port read whose RIP matches loads the stale value into RAX and skips
 * the restored instruction, an MMIO read runs the stale decode's
 * writeback and sets RIP past the old instruction.  So a restore's
 * future depended on what ran before it: on nested TCG, branches of one
 * snapshot gave other hashes after other branches, and the cluster
 * crashed with triple faults no path from the root ever showed.  KVM has
 * no call that cancels the completion; an immediate-exit KVM_RUN runs it
 * (on the old state, which is overwritten next) and returns.  A
 * completion may ask for another exit (an MMIO access in pieces, the
 * next page of a `rep ins`), hence the loop.
 */
static int drop_pending_io(struct cc_vm *vm, struct cc_err *err)
{
	for (int k = 0; k < 1024; k++) {
		vm->run->immediate_exit = 1;
		int r = ioctl(vm->vcpu_fd, KVM_RUN, 0);
		int e = errno;
		vm->run->immediate_exit = 0;
		if (r < 0 && e == EINTR)
			return 0;
		if (r < 0)
			return cc_err_errno(err, "restore: finishing the last "
						 "exit");
	}
	return cc_err_set(err, "restore: the last exit did not finish");
}

/* ---- memory ----------------------------------------------------------------
 */

static int set_slot(struct cc_vm *vm, uint64_t size, struct cc_err *err)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.flags = KVM_MEM_LOG_DIRTY_PAGES,
		.guest_phys_addr = 0,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)vm->mem.host,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return cc_err_errno(err,
				    "snapshot: KVM_SET_USER_MEMORY_REGION");
	return 0;
}

static uint64_t leaves_for(uint64_t npages)
{
	return (npages + CC_SNAP_LEAF_PAGES - 1) / CC_SNAP_LEAF_PAGES;
}

static int enable_dirty_log(struct cc_vm *vm, struct cc_err *err)
{
	if (vm->dirty_logging)
		return 0;
	uint64_t npages = cc_mem_pages(&vm->mem);
	vm->kvm_dirty = calloc(bitmap_words(&vm->mem), 8);
	vm->stamp = calloc(npages ? npages : 1, 8);
	vm->leaf_stamp = calloc(leaves_for(npages) + 1, 8);
	vm->gen = 1; /* stamps start at 0: older than any snapshot */
	if (!vm->kvm_dirty || !vm->stamp || !vm->leaf_stamp)
		return cc_err_set(err, "snapshot: out of memory");
	if (set_slot(vm, vm->mem.size, err))
		return -1;
	vm->dirty_logging = true;
	return 0;
}

/*
 * After we rewrote guest memory behind KVM's back, drop every mapping KVM
 * built from the old contents.  With shadow paging (PVM here) KVM caches
 * translations of guest page tables and trusts them until the guest
 * writes a table - and our copy is not a guest write: a restored page
 * table would be ignored (measured: the hostile guest's process
 * segfaulted right after a restore).  Deleting and re-adding the slot
 * zaps them all; with EPT/NPT it only costs re-faulting what the guest
 * touches next.  The dirty log restarts empty, which is right: every
 * live snapshot's bitmap was updated by the harvest before the copy.
 */
static int remap_memory(struct cc_vm *vm, struct cc_err *err)
{
	if (set_slot(vm, 0, err) || set_slot(vm, vm->mem.size, err))
		return -1;
	return 0;
}

/* Dirty ring: mark every harvested entry, then let KVM reuse them. */
static int collect_ring(struct cc_vm *vm, struct cc_err *err)
{
	uint32_t n = vm->cfg.dirty_ring_entries;
	uint64_t npages = cc_mem_pages(&vm->mem);
	memset(vm->kvm_dirty, 0, bitmap_words(&vm->mem) * 8);
	for (;;) {
		struct kvm_dirty_gfn *g = &vm->ring[vm->ring_next % n];
		if (!(__atomic_load_n(&g->flags, __ATOMIC_ACQUIRE) &
		      KVM_DIRTY_GFN_F_DIRTY))
			break;
		if (g->slot == 0 && g->offset < npages)
			vm->kvm_dirty[g->offset / 64] |= 1ull
							 << (g->offset % 64);
		__atomic_store_n(&g->flags, KVM_DIRTY_GFN_F_RESET,
				 __ATOMIC_RELEASE);
		vm->ring_next++;
	}
	if (ioctl(vm->vm_fd, KVM_RESET_DIRTY_RINGS, 0) < 0)
		return cc_err_errno(err, "snapshot: KVM_RESET_DIRTY_RINGS");
	return 0;
}

static void stamp(struct cc_vm *vm, uint64_t pg)
{
	vm->stamp[pg] = vm->gen;
	vm->leaf_stamp[pg / CC_SNAP_LEAF_PAGES] = vm->gen;
}

/* Has page pg been written since memory last equalled s. */
static bool changed(const struct cc_vm *vm, const struct cc_snapshot *s,
		    uint64_t pg)
{
	return vm->stamp[pg] > s->gen;
}

static bool leaf_changed(const struct cc_vm *vm, const struct cc_snapshot *s,
			 uint64_t leaf)
{
	return vm->leaf_stamp[leaf] > s->gen;
}

/* Memory equals s now: this generation ends, so every write collected
 * from here on is newer than s. */
static void sync_to(struct cc_vm *vm, struct cc_snapshot *s)
{
	s->gen = vm->gen++;
	vm->last_sync = s;
}

/* Stamps the pages written since the last harvest (guest and VMM): one
 * pass over the bitmaps, whatever the number of live snapshots. */
int cc_vm_dirty_harvest(struct cc_vm *vm, struct cc_err *err)
{
	if (!vm->dirty_logging)
		return 0;
	uint64_t words = bitmap_words(&vm->mem);
	if (vm->ring) {
		if (collect_ring(vm, err))
			return -1;
	} else {
		struct kvm_dirty_log log = {.slot = 0,
					    .dirty_bitmap = vm->kvm_dirty};
		if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
			return cc_err_errno(err, "snapshot: KVM_GET_DIRTY_LOG");
	}
	for (uint64_t w = 0; w < words; w++) {
		uint64_t d = vm->kvm_dirty[w] | vm->mem.vmm_dirty[w];
		vm->mem.vmm_dirty[w] = 0;
		while (d) {
			stamp(vm, w * 64 + (uint64_t)__builtin_ctzll(d));
			d &= d - 1;
		}
	}
	return 0;
}

static void attach(struct cc_vm *vm, struct cc_snapshot *s)
{
	s->vm = vm;
	s->next = vm->snaps;
	vm->snaps = s;
}

/* The live snapshot memory equalled most recently: the best base for the
 * next one when the last synced is gone (a walk, but only on a free). */
static struct cc_snapshot *latest(const struct cc_vm *vm)
{
	struct cc_snapshot *best = NULL;
	for (struct cc_snapshot *o = vm->snaps; o; o = o->next)
		if (!best || o->gen > best->gen)
			best = o;
	return best;
}

static void detach(struct cc_snapshot *s)
{
	if (!s->vm)
		return;
	for (struct cc_snapshot **p = &s->vm->snaps; *p; p = &(*p)->next) {
		if (*p == s) {
			*p = s->next;
			break;
		}
	}
	if (s->vm->last_sync == s)
		s->vm->last_sync = latest(s->vm);
	s->vm = NULL;
	s->next = NULL;
}

static void copy_in(struct cc_vm *vm, const struct cc_snapshot *s, uint64_t pg)
{
	memcpy(vm->mem.host + pg * CC_PAGE_SIZE, cc_snapshot_page(s, pg),
	       CC_PAGE_SIZE);
	/* It may differ from every other snapshot's page now. */
	stamp(vm, pg);
}

/* Copies back the pages written since memory last equalled s (leaf by
 * leaf: a leaf with no newer write is skipped); returns how many. */
static uint64_t restore_dirty(struct cc_vm *vm, struct cc_snapshot *s)
{
	uint64_t npages = cc_mem_pages(&vm->mem), n = 0;
	for (uint64_t l = 0; l < leaves_for(npages); l++) {
		if (!leaf_changed(vm, s, l))
			continue;
		uint64_t end = (l + 1) * CC_SNAP_LEAF_PAGES;
		for (uint64_t pg = l * CC_SNAP_LEAF_PAGES;
		     pg < end && pg < npages; pg++)
			if (changed(vm, s, pg)) {
				copy_in(vm, s, pg);
				n++;
			}
	}
	return n;
}

/* ---- public ----------------------------------------------------------------
 */

static void unref(struct cc_snapshot *s)
{
	while (s && --s->refs == 0) {
		struct cc_snapshot *base = s->base;
		cc_disk_snap_free(&s->disk);
		free(s->devices);
		free(s->leaf);
		free(s->own_leaf);
		free(s->own);
		free(s);
		s = base;
	}
}

void cc_snapshot_free(struct cc_snapshot *s)
{
	if (!s)
		return;
	detach(s);
	unref(s);
}

/* A snapshot with room for `own_leaves` leaves and `own_pages` pages of
 * its own. */
static struct cc_snapshot *
alloc_snapshot(uint64_t ram_size, uint64_t own_leaves, uint64_t own_pages)
{
	struct cc_snapshot *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->refs = 1;
	s->ram_size = ram_size;
	s->nleaves = leaves_for(ram_size / CC_PAGE_SIZE);
	s->devices_len = cc_vm_state_size();
	s->devices = malloc(s->devices_len);
	s->leaf = calloc(s->nleaves ? s->nleaves : 1, sizeof(*s->leaf));
	s->own_leaf = calloc(own_leaves ? own_leaves : 1, sizeof(*s->own_leaf));
	s->own = malloc(own_pages ? own_pages * CC_PAGE_SIZE : 1);
	if (!s->devices || !s->leaf || !s->own_leaf || !s->own) {
		unref(s);
		return NULL;
	}
	return s;
}

struct cc_snapshot *cc_snapshot_alloc(uint64_t ram_size)
{
	uint64_t npages = ram_size / CC_PAGE_SIZE;
	uint64_t nleaves = leaves_for(npages);
	struct cc_snapshot *s = alloc_snapshot(ram_size, nleaves, npages);
	if (!s)
		return NULL;
	for (uint64_t l = 0; l < nleaves; l++)
		s->leaf[l] = &s->own_leaf[l];
	for (uint64_t i = 0; i < npages; i++)
		s->own_leaf[i / CC_SNAP_LEAF_PAGES]
			.page[i % CC_SNAP_LEAF_PAGES] =
			s->own + i * CC_PAGE_SIZE;
	s->own_leaves = nleaves;
	s->own_pages = npages;
	return s;
}

uint64_t cc_snapshot_bytes(const struct cc_snapshot *s)
{
	return sizeof(*s) + s->devices_len + s->nleaves * sizeof(*s->leaf) +
	       s->own_leaves * sizeof(*s->own_leaf) +
	       s->own_pages * CC_PAGE_SIZE;
}

/* What a new snapshot of vm must hold of its own against base (NULL:
 * everything): the leaves with a page written since, and those written
 * pages whose bytes differ from the base's (marked in `copy`). */
static void plan_capture(const struct cc_vm *vm, const struct cc_snapshot *base,
			 uint64_t *copy, uint64_t *leaves, uint64_t *pages)
{
	uint64_t npages = cc_mem_pages(&vm->mem);
	*leaves = *pages = 0;
	for (uint64_t pg = 0; pg < npages; pg++) {
		uint64_t l = pg / CC_SNAP_LEAF_PAGES;
		if (pg % CC_SNAP_LEAF_PAGES == 0)
			*leaves += !base || leaf_changed(vm, base, l);
		if (base && !changed(vm, base, pg))
			continue;
		if (base && !memcmp(vm->mem.host + pg * CC_PAGE_SIZE,
				    cc_snapshot_page(base, pg), CC_PAGE_SIZE))
			continue;
		copy[pg / 64] |= 1ull << (pg % 64);
		(*pages)++;
	}
}

/*
 * The memory of a new snapshot of vm.  Its base is the snapshot memory
 * last equalled: a page not written since is shared, so is a leaf none
 * of whose pages was, and so is a written page with the base's bytes.
 */
static struct cc_snapshot *capture_memory(struct cc_vm *vm)
{
	uint64_t npages = cc_mem_pages(&vm->mem), nleaves, ncopy;
	struct cc_snapshot *base = vm->last_sync;
	uint64_t *copy = calloc(bitmap_words(&vm->mem) + 1, 8);
	if (!copy)
		return NULL;
	plan_capture(vm, base, copy, &nleaves, &ncopy);
	struct cc_snapshot *s = alloc_snapshot(vm->mem.size, nleaves, ncopy);
	if (!s) {
		free(copy);
		return NULL;
	}
	uint8_t *dst = s->own;
	struct cc_snap_leaf *leaf = s->own_leaf;
	for (uint64_t l = 0; l < s->nleaves; l++) {
		if (base && !leaf_changed(vm, base, l)) {
			s->leaf[l] = base->leaf[l];
			continue;
		}
		s->leaf[l] = leaf++;
		uint64_t end = (l + 1) * CC_SNAP_LEAF_PAGES;
		for (uint64_t pg = l * CC_SNAP_LEAF_PAGES;
		     pg < end && pg < npages; pg++) {
			const uint8_t **slot =
				&s->leaf[l]->page[pg % CC_SNAP_LEAF_PAGES];
			if (!(copy[pg / 64] >> (pg % 64) & 1)) {
				*slot = cc_snapshot_page(base, pg);
				s->same_pages += changed(vm, base, pg);
				continue;
			}
			memcpy(dst, vm->mem.host + pg * CC_PAGE_SIZE,
			       CC_PAGE_SIZE);
			*slot = dst;
			dst += CC_PAGE_SIZE;
		}
	}
	free(copy);
	s->own_leaves = nleaves;
	s->own_pages = ncopy;
	if (base) {
		s->base = base;
		base->refs++;
	}
	return s;
}

int cc_vm_snapshot(struct cc_vm *vm, struct cc_snapshot **out,
		   struct cc_err *err)
{
	*out = NULL;
	struct cc_vcpu_state v;
	if (complete_io(vm, &v, err) || get_vcpu(vm, &v, err) ||
	    enable_dirty_log(vm, err) || cc_vm_dirty_harvest(vm, err))
		return -1;
	struct cc_snapshot *s = capture_memory(vm);
	if (!s)
		return cc_err_set(err, "snapshot: out of memory for %llu MiB",
				  (unsigned long long)(vm->mem.size >> 20));
	s->vcpu = v;
	s->has_disk = vm->has_disk;
	if (vm->has_disk && cc_disk_snap_take(&vm->blk.disk, &s->disk)) {
		cc_snapshot_free(s);
		return cc_err_set(err, "snapshot: out of memory (disk)");
	}
	cc_vm_state_save(vm, s->devices);
	s->trace = vm->trace.st;
	attach(vm, s);
	sync_to(vm, s);
	*out = s;
	return 0;
}

int cc_vm_restore(struct cc_vm *vm, struct cc_snapshot *s, struct cc_err *err)
{
	if (s->ram_size != vm->mem.size)
		return cc_err_set(err,
				  "restore: the snapshot has %llu MiB of "
				  "RAM, this VM %llu MiB",
				  (unsigned long long)(s->ram_size >> 20),
				  (unsigned long long)(vm->mem.size >> 20));
	if (s->devices_len != cc_vm_state_size())
		return cc_err_set(err,
				  "restore: device state of %llu bytes, "
				  "this build has %llu",
				  (unsigned long long)s->devices_len,
				  (unsigned long long)cc_vm_state_size());
	if (s->has_disk != vm->has_disk)
		return cc_err_set(err,
				  "restore: the snapshot was taken %s a "
				  "disk, this VM has %s",
				  s->has_disk ? "with" : "without",
				  vm->has_disk ? "one" : "none");
	for (uint64_t i = 0; i < s->disk.n; i++)
		if (s->disk.slot[i].index >=
		    (vm->blk.disk.size + CC_DISK_PAGE - 1) / CC_DISK_PAGE)
			return cc_err_set(err, "restore: the snapshot's disk "
					       "overlay is larger than this "
					       "VM's disk");
	/* Before anything changes: a refused snapshot leaves the VM as
	 * it was. */
	const char *why = cc_vm_state_check(vm, s->devices);
	if (why)
		return cc_err_set(err, "restore: invalid device state: %s",
				  why);
	/* First: the stale completion may write guest memory, which the
	 * restore below then puts back. */
	if (drop_pending_io(vm, err) || enable_dirty_log(vm, err) ||
	    cc_vm_dirty_harvest(vm, err))
		return -1;
	if (s->vm == vm) {
		s->last_restored = restore_dirty(vm, s);
	} else {
		/* First restore here: everything may differ. */
		detach(s);
		for (uint64_t i = 0; i < cc_mem_pages(&vm->mem); i++)
			copy_in(vm, s, i);
		s->last_restored = cc_mem_pages(&vm->mem);
		attach(vm, s);
	}
	sync_to(vm, s);
	if (remap_memory(vm, err) || set_vcpu(vm, &s->vcpu, err))
		return -1;
	cc_vm_state_load(vm, s->devices);
	if (cc_vm_image_sync(vm, err))
		return -1;
	if (vm->has_disk && cc_disk_snap_restore(&vm->blk.disk, &s->disk))
		return cc_err_set(err, "restore: out of memory (disk)");
	cc_hypercall_log_truncate(&vm->hc_log, &vm->hc);
	vm->trace.st = s->trace;
	vm->stopped = false;
	memset(&vm->result, 0, sizeof(vm->result));
	return 0;
}

int cc_vm_reboot(struct cc_vm *vm, struct cc_snapshot *s, bool crash,
		 struct cc_err *err)
{
	struct cc_disk_snap keep = {0};
	struct cc_disk *d = &vm->blk.disk;
	if (vm->has_disk &&
	    ((crash ? cc_disk_crash(d) : cc_disk_power_loss(d)) ||
	     cc_disk_snap_take(d, &keep)))
		return cc_err_set(err, "restart: out of memory (disk)");
	/* What the crash did stays on the disk's record across the boot. */
	uint64_t landed = d->st.crash_landed, lost = d->st.crash_lost,
		 torn = d->st.crash_torn;
	uint64_t wall = cc_rtc_wall_ns(&vm->rtc, vm->vclock.ns);
	int rc = cc_vm_restore(vm, s, err);
	if (!rc) /* the machine's wall clock goes on (init sets it) */
		cc_rtc_carry(&vm->rtc, wall, vm->vclock.ns);
	if (!rc && vm->has_disk) {
		if (cc_disk_snap_restore(d, &keep))
			rc = cc_err_set(err, "restart: out of memory (disk)");
		d->st.crash_landed = landed;
		d->st.crash_lost = lost;
		d->st.crash_torn = torn;
	}
	cc_disk_snap_free(&keep);
	return rc;
}

int cc_vm_digest(struct cc_vm *vm, struct cc_vm_digest *d, struct cc_err *err)
{
	struct cc_vcpu_state v;
	if (complete_io(vm, &v, err))
		return -1;
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &v.regs) < 0 ||
	    ioctl(vm->vcpu_fd, KVM_GET_SREGS, &v.sregs) < 0)
		return cc_err_errno(err, "digest: reading vCPU registers");
	d->rip = v.regs.rip;
	d->regs = XXH3_64bits(&v.regs, sizeof(v.regs));
	d->sregs = XXH3_64bits(&v.sregs, sizeof(v.sregs));
	d->ram = XXH3_64bits(vm->mem.host, vm->mem.size);
	d->clock_ns = vm->vclock.ns;
	return 0;
}
