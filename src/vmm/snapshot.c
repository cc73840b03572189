#define _GNU_SOURCE
#include "snapshot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

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
	    ioctl(fd, KVM_GET_XSAVE, &v->xsave) < 0 ||
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
	struct kvm_vcpu_events ev = v->events;
	ev.flags |= KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_NMI_PENDING;
	if (ioctl(fd, KVM_SET_MP_STATE, &v->mp) < 0 ||
	    ioctl(fd, KVM_SET_REGS, &v->regs) < 0 ||
	    ioctl(fd, KVM_SET_SREGS, &v->sregs) < 0 ||
	    ioctl(fd, KVM_SET_XSAVE, &v->xsave) < 0 ||
	    ioctl(fd, KVM_SET_XCRS, &v->xcrs) < 0 ||
	    ioctl(fd, KVM_SET_DEBUGREGS, &v->dregs) < 0)
		return cc_err_errno(err, "restore: writing vCPU state");
	int n = ioctl(fd, KVM_SET_MSRS, &msrs);
	if (n != (int)v->nmsrs)
		return cc_err_set(err, "restore: KVM_SET_MSRS wrote %d of %u "
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
		return cc_err_set(err, "snapshot: completing the last exit "
				       "failed (KVM_RUN returned %d, errno %d)",
				  r, e);
	return 0;
}

/* ---- memory ---------------------------------------------------------------- */

static int enable_dirty_log(struct cc_vm *vm, struct cc_err *err)
{
	if (vm->dirty_logging)
		return 0;
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.flags = KVM_MEM_LOG_DIRTY_PAGES,
		.guest_phys_addr = 0,
		.memory_size = vm->mem.size,
		.userspace_addr = (uint64_t)(uintptr_t)vm->mem.host,
	};
	vm->kvm_dirty = calloc(bitmap_words(&vm->mem), 8);
	if (!vm->kvm_dirty)
		return cc_err_set(err, "snapshot: out of memory");
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return cc_err_errno(err, "snapshot: enabling the dirty log");
	vm->dirty_logging = true;
	return 0;
}

/* Collects pages written since the last harvest (guest and VMM) into
 * every live snapshot's dirty set. */
static int harvest(struct cc_vm *vm, struct cc_err *err)
{
	uint64_t words = bitmap_words(&vm->mem);
	struct kvm_dirty_log log = {.slot = 0, .dirty_bitmap = vm->kvm_dirty};
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
		return cc_err_errno(err, "snapshot: KVM_GET_DIRTY_LOG");
	for (uint64_t w = 0; w < words; w++) {
		uint64_t d = vm->kvm_dirty[w] | vm->mem.vmm_dirty[w];
		vm->mem.vmm_dirty[w] = 0;
		if (!d)
			continue;
		for (struct cc_snapshot *s = vm->snaps; s; s = s->next)
			s->dirty[w] |= d;
	}
	return 0;
}

static void attach(struct cc_vm *vm, struct cc_snapshot *s)
{
	s->vm = vm;
	s->next = vm->snaps;
	vm->snaps = s;
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
	s->vm = NULL;
	s->next = NULL;
}

/* Copies back the pages s saw written; returns how many. */
static uint64_t restore_dirty(struct cc_vm *vm, struct cc_snapshot *s)
{
	uint64_t words = bitmap_words(&vm->mem), n = 0;
	for (uint64_t w = 0; w < words; w++) {
		uint64_t d = s->dirty[w];
		if (!d)
			continue;
		/* The pages we write back now differ from other snapshots
		 * exactly where they differed before: mark them there. */
		for (struct cc_snapshot *o = vm->snaps; o; o = o->next)
			if (o != s)
				o->dirty[w] |= d;
		s->dirty[w] = 0;
		while (d) {
			uint64_t pg = w * 64 + (uint64_t)__builtin_ctzll(d);
			d &= d - 1;
			memcpy(vm->mem.host + pg * CC_PAGE_SIZE,
			       s->ram + pg * CC_PAGE_SIZE, CC_PAGE_SIZE);
			n++;
		}
	}
	return n;
}

/* ---- public ---------------------------------------------------------------- */

void cc_snapshot_free(struct cc_snapshot *s)
{
	if (!s)
		return;
	detach(s);
	free(s->devices);
	free(s->ram);
	free(s->dirty);
	free(s);
}

struct cc_snapshot *cc_snapshot_alloc(uint64_t ram_size)
{
	struct cc_snapshot *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->ram_size = ram_size;
	s->devices_len = cc_vm_state_size();
	s->devices = malloc(s->devices_len);
	s->ram = malloc(ram_size);
	s->dirty = calloc((ram_size / CC_PAGE_SIZE + 63) / 64, 8);
	if (!s->devices || !s->ram || !s->dirty) {
		cc_snapshot_free(s);
		return NULL;
	}
	return s;
}

int cc_vm_snapshot(struct cc_vm *vm, struct cc_snapshot **out,
		   struct cc_err *err)
{
	*out = NULL;
	struct cc_snapshot *s = cc_snapshot_alloc(vm->mem.size);
	if (!s)
		return cc_err_set(err, "snapshot: out of memory for %llu MiB",
				  (unsigned long long)(vm->mem.size >> 20));
	if (complete_io(vm, &s->vcpu, err) || get_vcpu(vm, &s->vcpu, err) ||
	    enable_dirty_log(vm, err) || harvest(vm, err)) {
		cc_snapshot_free(s);
		return -1;
	}
	cc_vm_state_save(vm, s->devices);
	s->trace = vm->trace.st;
	memcpy(s->ram, vm->mem.host, vm->mem.size);
	attach(vm, s);
	*out = s;
	return 0;
}

int cc_vm_restore(struct cc_vm *vm, struct cc_snapshot *s, struct cc_err *err)
{
	if (s->ram_size != vm->mem.size)
		return cc_err_set(err, "restore: the snapshot has %llu MiB of "
				       "RAM, this VM %llu MiB",
				  (unsigned long long)(s->ram_size >> 20),
				  (unsigned long long)(vm->mem.size >> 20));
	if (s->devices_len != cc_vm_state_size())
		return cc_err_set(err, "restore: device state of %llu bytes, "
				       "this build has %llu",
				  (unsigned long long)s->devices_len,
				  (unsigned long long)cc_vm_state_size());
	if (enable_dirty_log(vm, err) || harvest(vm, err))
		return -1;
	if (s->vm == vm) {
		s->last_restored = restore_dirty(vm, s);
	} else {
		/* First restore here: everything may differ. */
		detach(s);
		memcpy(vm->mem.host, s->ram, s->ram_size);
		for (struct cc_snapshot *o = vm->snaps; o; o = o->next)
			memset(o->dirty, 0xff, bitmap_words(&vm->mem) * 8);
		memset(s->dirty, 0, bitmap_words(&vm->mem) * 8);
		s->last_restored = cc_mem_pages(&vm->mem);
		attach(vm, s);
	}
	if (set_vcpu(vm, &s->vcpu, err))
		return -1;
	cc_vm_state_load(vm, s->devices);
	vm->trace.st = s->trace;
	vm->stopped = false;
	memset(&vm->result, 0, sizeof(vm->result));
	return 0;
}
