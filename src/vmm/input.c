/*
 * Host-to-guest inputs (vm.h, cc_vm_input): the one place where the
 * host changes what a running guest sees.  Each is traced, shown to
 * the recorder, then applied, so a recording that replays these inputs
 * at these virtual times gives the same execution.
 */
#include "vm.h"
#include "devtab.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <xxhash.h>

#include "snapshot.h"

/* The trace's parameter for an input: enough to tell two apart. */
static uint64_t parameter(const struct cc_vm_input *in)
{
	const struct cc_disk_faults *f = &in->faults;
	switch (in->kind) {
	case CC_INJECT_FRAME:
		return (uint64_t)in->len << 32 |
		       (uint32_t)XXH3_64bits(in->data, in->len);
	case CC_INJECT_DISK_FAULTS:
		return (uint64_t)f->read_error | (uint64_t)f->write_error << 1 |
		       (uint64_t)f->torn_write << 2 |
		       (uint64_t)f->corruption << 3 | (uint64_t)f->full << 4;
	default:
		return in->value;
	}
}

static int apply(struct cc_vm *vm, const struct cc_vm_input *in,
		 struct cc_err *err)
{
	uint64_t vm_seed;
	switch (in->kind) {
	case CC_INJECT_IRQ:
		cc_pic_set_irq(&vm->pic, (unsigned)in->value, 1);
		cc_pic_set_irq(&vm->pic, (unsigned)in->value, 0);
		return 0;
	case CC_INJECT_NMI:
		if (ioctl(vm->vcpu_fd, KVM_NMI) < 0)
			return cc_err_set(err, "KVM_NMI: %s", strerror(errno));
		return 0;
	case CC_INJECT_MEMLIMIT:
		vm->memlimit.bytes = in->value;
		return 0;
	case CC_INJECT_FRAME:
		if (!cc_net_port_deliver(&vm->net, in->data, in->len,
					 vm->vclock.ns))
			return cc_err_set(err,
					  "frame of %u bytes dropped: no "
					  "receive buffer",
					  in->len);
		return 0;
	case CC_INJECT_DISK_FAULTS:
		if (vm->has_disk)
			vm->blk.disk.st.faults = in->faults;
		return 0;
	case CC_INJECT_RESEED:
		vm->cfg.seed = in->value;
		vm_seed = cc_seed_for_vm(in->value, vm->cfg.vm_index);
		cc_vm_devices_reseed(vm, vm_seed);
		return 0;
	case CC_INJECT_RESTART:
		return cc_vm_reboot(vm, in->boot, in->value != 0, err);
	case CC_INJECT_IMAGE:
		return cc_vm_image_attach(vm, err);
	}
	return cc_err_set(err, "unknown input kind %d", (int)in->kind);
}

int cc_vm_input(struct cc_vm *vm, const struct cc_vm_input *in,
		struct cc_err *err)
{
	if (in->kind == CC_INJECT_IRQ && (in->value >= 16 || in->value == 2))
		return cc_err_set(err,
				  "cannot inject IRQ %llu (want 0-15, not 2)",
				  (unsigned long long)in->value);
	if (vm->cfg.on_input)
		vm->cfg.on_input(vm->cfg.input_ctx, vm, in);
	int rc = apply(vm, in, err);
	/* After a restart the trace is the boot state's: the restart is its
	 * next event.  Everything else is traced where it happened. */
	cc_vm_trace_event(vm, CC_EV_INJECT, 0, in->kind, parameter(in));
	return rc;
}

int cc_vm_inject_irq(struct cc_vm *vm, unsigned irq, struct cc_err *err)
{
	return cc_vm_input(
		vm, &(struct cc_vm_input){.kind = CC_INJECT_IRQ, .value = irq},
		err);
}

int cc_vm_inject_nmi(struct cc_vm *vm, struct cc_err *err)
{
	return cc_vm_input(vm, &(struct cc_vm_input){.kind = CC_INJECT_NMI},
			   err);
}

void cc_vm_set_memory_limit(struct cc_vm *vm, uint64_t bytes)
{
	struct cc_err e;
	cc_vm_input(vm,
		    &(struct cc_vm_input){.kind = CC_INJECT_MEMLIMIT,
					  .value = bytes},
		    &e);
}

bool cc_vm_deliver_frame(struct cc_vm *vm, const void *frame, uint32_t len)
{
	struct cc_err e;
	return cc_vm_input(vm,
			   &(struct cc_vm_input){.kind = CC_INJECT_FRAME,
						 .data = frame,
						 .len = len},
			   &e) == 0;
}

void cc_vm_set_disk_faults(struct cc_vm *vm, struct cc_disk_faults f)
{
	struct cc_err e;
	cc_vm_input(vm,
		    &(struct cc_vm_input){.kind = CC_INJECT_DISK_FAULTS,
					  .faults = f},
		    &e);
}

void cc_vm_reseed(struct cc_vm *vm, uint64_t seed)
{
	struct cc_err e;
	cc_vm_input(
		vm,
		&(struct cc_vm_input){.kind = CC_INJECT_RESEED, .value = seed},
		&e);
}
