/*
 * Guest exits (exit.c): the run loop's halves that need no KVM, so exit
 * handling is tested and fuzzed on a synthetic struct kvm_run
 * (Firecracker tests its exit handling the same way).  cc_vm_run (vm.c)
 * is, per guest exit: KVM_RUN, then cc_vm_dispatch; before each entry,
 * cc_vm_settle and the injection of the vector it returns.
 *
 * Internal to vmm/ and its tests: callers outside use vm.h.
 */
#ifndef CC_EXIT_H
#define CC_EXIT_H

#include "vm.h"

/* A VM with its RAM (cfg->mem_size, or the minimum), devices, SDK and
 * clock pages, console and trace, but no KVM and no kernel: vm->run is
 * a zeroed buffer of KVM's run size for the caller to fill as KVM
 * would.  cc_vm_destroy frees it; cc_vm_run must not be called. */
int cc_vm_create_bare(struct cc_vm **out, const struct cc_vm_config *cfg,
		      struct cc_err *err);

/* Handles the exit vm->run describes (every field of it is checked as
 * the guest's: a malformed exit stops the VM with its reason). */
void cc_vm_dispatch(struct cc_vm *vm);

/* Device work due before the next entry (timer IRQs, virtio services,
 * the clock page); the vector to inject now, or -1 when none can go in
 * (none pending, or the guest cannot take one: vm->run's flags). */
int cc_vm_settle(struct cc_vm *vm);

/* A wait in HLT cut short by a limit goes on (the run loop, vm->halt). */
void cc_vm_resume_idle(struct cc_vm *vm);

/* Stops the VM with why and a message; the first stop wins. */
void cc_vm_stop(struct cc_vm *vm, enum cc_stop why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
