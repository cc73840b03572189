/*
 * Guest exits (exit.h): port I/O to the device table's rows and the
 * VMM's own ports, MMIO to the virtio pages and the doorbell, HLT and
 * its fast-forward in virtual time, and the rest of KVM's exit reasons.
 * Every field of the exit is the guest's (or KVM's): checked here.
 */
#define _GNU_SOURCE
#include "exit.h"

#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "chaoscontrol/protocol.h"
#include "devtab.h"
#include "fixup.h"
#include "snapshot.h"

#define PORT_POST  0x80 /* io_delay writes; harmless */
#define PORT_ELCR1 0x4d0
#define PORT_ELCR2 0x4d1

/* The guest reads its node word after the ready point: the image goes
 * in now, so the boot (and its cache entry) never saw it. */
static void image_on(struct cc_vm *vm)
{
	if (vm->image.on || !vm->cfg.image_path || !vm->stats.ready_rings)
		return;
	struct cc_err e;
	if (cc_vm_input(vm, &(struct cc_vm_input){.kind = CC_INJECT_IMAGE}, &e))
		cc_vm_stop(vm, CC_STOP_ERROR, "%s", e.msg);
}

static uint32_t pio_read(struct cc_vm *vm, uint16_t port, unsigned size)
{
	const struct cc_vm_device *d = cc_vm_device_at_port(port);
	if (d)
		return d->pio_read(vm, port);
	if (port == PORT_ELCR1 || port == PORT_ELCR2)
		return 0; /* every ISA IRQ is edge-triggered */
	vm->stats.unknown_pio++;
	return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

/* One SDK call (hypercall.c), traced with its command, status and
 * result: what the guest was told is part of the execution. */
static void hypercall(struct cc_vm *vm)
{
	uint32_t was_setup = vm->hc.setup_complete;
	struct cc_hc_answer a =
		cc_hypercall_serve(&vm->hc, &vm->hc_log, &vm->mem, &vm->entropy,
				   vm->cfg.choice_overrides,
				   vm->cfg.n_choice_overrides, vm->vclock.ns);
	cc_vm_trace_event(vm, CC_EV_HYPERCALL, 0,
			  a.cmd | (uint64_t)a.status << 32, a.result);
	/* A host-chosen stop, like "ready": faults gated on setup start. */
	if (!was_setup && vm->hc.setup_complete && vm->cfg.stop_at_setup)
		cc_vm_stop(vm, CC_STOP_SETUP, "guest completed its set-up");
}

/* The guest reports deterministic work (protocol.h, CC_PORT_PROGRESS):
 * virtual time moves by a fixed cost per unit, so busy guests see time
 * pass without any host clock. */
static void report_progress(struct cc_vm *vm, uint32_t units)
{
	if (units > CC_PROGRESS_MAX_UNITS)
		units = CC_PROGRESS_MAX_UNITS;
	vm->stats.progress_units += units;
	vm->vclock.ns += (uint64_t)units * vm->progress_ns;
}

static void pio_write(struct cc_vm *vm, uint16_t port, unsigned size,
		      uint32_t val)
{
	const struct cc_vm_device *d = cc_vm_device_at_port(port);
	if (d) {
		d->pio_write(vm, port, (uint8_t)val);
		return;
	}
	switch (port) {
	case CC_PORT_PROGRESS:
		report_progress(vm, val);
		return;
	case CC_PORT_HYPERCALL:
		hypercall(vm);
		return;
	case CC_PORT_COVERAGE:
		vm->hc.coverage_live = 1;
		return;
	case CC_PORT_EXIT:
		vm->result.exit_status = val;
		cc_vm_stop(vm, CC_STOP_EXIT_PORT, "guest exited with status %u",
			   val);
		return;
	case PORT_POST:
	case PORT_ELCR1:
	case PORT_ELCR2:
		return;
	default:
		vm->stats.unknown_pio++;
		if (vm->cfg.pio_hook)
			vm->cfg.pio_hook(vm->cfg.hook_ctx, port, val);
		(void)size;
	}
}

static void handle_pio(struct cc_vm *vm)
{
	struct kvm_run *r = vm->run;
	unsigned size = r->io.size;
	uint64_t bytes = (uint64_t)size * r->io.count;
	/* KVM fills these, but a bad value must not walk us off the page. */
	if ((size != 1 && size != 2 && size != 4) ||
	    r->io.data_offset > vm->run_size ||
	    bytes > vm->run_size - r->io.data_offset) {
		cc_vm_stop(vm, CC_STOP_ERROR,
			   "malformed port I/O exit (size %u, "
			   "count %u)",
			   size, r->io.count);
		return;
	}
	uint8_t *data = (uint8_t *)r + r->io.data_offset;
	bool in = r->io.direction == KVM_EXIT_IO_IN;
	vm->stats.exits[in ? CC_EXIT_PIO_IN : CC_EXIT_PIO_OUT]++;
	cc_vclock_exit(&vm->vclock, in ? CC_EXIT_PIO_IN : CC_EXIT_PIO_OUT);
	for (uint32_t i = 0; i < r->io.count; i++, data += size) {
		uint32_t v = 0;
		if (in) {
			v = pio_read(vm, r->io.port, size);
			memcpy(data, &v, size);
			cc_vm_trace_event(vm, CC_EV_PIO_IN, size, r->io.port,
					  v);
		} else {
			memcpy(&v, data, size);
			cc_vm_trace_event(vm, CC_EV_PIO_OUT, size, r->io.port,
					  v);
			pio_write(vm, r->io.port, size, v);
		}
	}
}

/* The doorbell page: "ready", the entropy port, init's orders and the
 * node's identity. */
static void doorbell(struct cc_vm *vm, uint64_t off, bool write, uint8_t *data,
		     uint32_t len)
{
	if (write) {
		uint64_t v = 0;
		memcpy(&v, data, len);
		if (off == 0 && len == 4 && v == CC_DOORBELL_READY) {
			vm->stats.ready_rings++;
			if (vm->cfg.stop_at_ready)
				cc_vm_stop(vm, CC_STOP_READY, "guest is ready");
		} else if (off == CC_DOORBELL_HYPERCALL && len == 4 &&
			   v == CC_HC_TRIGGER) {
			hypercall(vm);
		} else if (off == CC_DOORBELL_COVERAGE) {
			vm->hc.coverage_live = 1;
		}
		return;
	}
	memset(data, 0, len);
	if (off == CC_DOORBELL_RANDOM) {
		cc_entropy_fill(&vm->entropy, data, len);
	} else if (off == CC_DOORBELL_MEMLIMIT && len == 8) {
		uint64_t v = !vm->cfg.memory_agent ? 0
			     : vm->memlimit.bytes  ? vm->memlimit.bytes
						   : CC_MEMLIMIT_NONE;
		memcpy(data, &v, 8);
	} else if (off == CC_DOORBELL_NODE && len == 8) {
		uint64_t v = vm->cfg.node_count
				     ? (uint64_t)vm->cfg.node_count
						       << CC_NODE_COUNT_SHIFT |
					       vm->cfg.vm_index
				     : 0;
		if (vm->cfg.mount_data && vm->has_disk)
			v |= CC_NODE_DATA_DISK;
		image_on(vm);
		if (vm->image.on)
			v |= CC_NODE_IMAGE;
		memcpy(data, &v, 8);
	} else if (off == CC_DOORBELL_WALLCLOCK && len == 8) {
		uint64_t v = cc_rtc_wall_ns(&vm->rtc, vm->vclock.ns);
		memcpy(data, &v, 8);
	} else if (off == CC_DOORBELL_ORDERS) {
		for (uint32_t i = 0; i < len; i++) {
			uint64_t at = vm->stats.orders_bytes++;
			data[i] = at < vm->orders_len ? (uint8_t)vm->orders[at]
						      : 0;
		}
	} else {
		memset(data, 0xff, len);
	}
}

static void handle_mmio(struct cc_vm *vm)
{
	struct kvm_run *r = vm->run;
	bool write = r->mmio.is_write;
	enum cc_exit_class c = write ? CC_EXIT_MMIO_WRITE : CC_EXIT_MMIO_READ;
	vm->stats.exits[c]++;
	cc_vclock_exit(&vm->vclock, c);
	uint64_t addr = r->mmio.phys_addr, now = vm->vclock.ns;
	uint32_t len = r->mmio.len <= 8 ? r->mmio.len : 8;
	struct cc_virtio_mmio *dev = cc_vm_virtio_at(vm, addr);
	uint64_t v = 0;
	if (write) {
		memcpy(&v, r->mmio.data, len);
		cc_vm_trace_event(vm, CC_EV_MMIO_WRITE, len, addr, v);
	}
	if (dev && write)
		cc_virtio_mmio_write(dev, addr - dev->base, r->mmio.data, len,
				     now);
	else if (dev)
		cc_virtio_mmio_read(dev, addr - dev->base, r->mmio.data, len,
				    now);
	else if (addr >= CC_DOORBELL_GPA &&
		 addr < CC_DOORBELL_GPA + CC_DOORBELL_SIZE)
		doorbell(vm, addr - CC_DOORBELL_GPA, write, r->mmio.data, len);
	else {
		/* Nothing here: reads float high, writes are dropped. */
		vm->stats.unknown_mmio++;
		if (!write)
			memset(r->mmio.data, 0xff, len);
	}
	if (!write) {
		memcpy(&v, r->mmio.data, len);
		cc_vm_trace_event(vm, CC_EV_MMIO_READ, len, addr, v);
	}
}

/*
 * Idle: the guest waits in HLT with interrupts on.  Nothing can happen
 * before the next timer or device deadline, so virtual time jumps there.
 * A jump past cfg.max_ns stops at max_ns instead, with the wait still
 * pending (vm->halt), and the next run resumes the wait: the host can
 * act at exact virtual times (deliver a frame at a tick boundary) while
 * a run cut into pieces still traces exactly like an uninterrupted one.
 */
static void idle(struct cc_vm *vm)
{
	uint64_t next = cc_pit_deadline(&vm->pit);
	uint64_t dev = cc_vm_device_deadline(vm);
	if (next == CC_PIT_NEVER || dev < next)
		next = dev; /* both "never" values are UINT64_MAX */
	if (next == CC_PIT_NEVER) {
		cc_vm_stop(vm, CC_STOP_IDLE,
			   "guest halted with no timer armed: it "
			   "would sleep forever");
		return;
	}
	if (vm->cfg.max_ns && next > vm->cfg.max_ns) {
		cc_vclock_advance_to(&vm->vclock, vm->cfg.max_ns);
		vm->halt.pending = 1;
		return;
	}
	vm->halt.pending = 0;
	cc_vclock_advance_to(&vm->vclock, next);
	cc_vm_trace_event(vm, CC_EV_HLT, 0, vm->vclock.ns, 0);
}

static void handle_hlt(struct cc_vm *vm)
{
	vm->stats.exits[CC_EXIT_HLT]++;
	if (!vm->run->if_flag) {
		cc_vm_stop(vm, CC_STOP_POWEROFF,
			   "guest halted with interrupts "
			   "disabled (powered off)");
		return;
	}
	if (cc_pic_pending(&vm->pic))
		return;
	idle(vm);
}

/* A wait cut short by a limit goes on, unless the host gave the guest
 * something to wake for while it was stopped. */
void cc_vm_resume_idle(struct cc_vm *vm)
{
	cc_pit_update(&vm->pit, vm->vclock.ns);
	cc_vm_devices_poll(vm, vm->vclock.ns);
	if (cc_pic_pending(&vm->pic))
		vm->halt.pending = 0;
	else
		idle(vm);
}

static void handle_internal_error(struct cc_vm *vm)
{
	vm->stats.exits[CC_EXIT_INTERNAL_ERROR]++;
	struct cc_err e;
	int k = cc_fixup_apply(vm->vcpu_fd, &vm->mem, &vm->syms,
			       vm->run->internal.suberror, &e);
	if (k >= 0) {
		vm->stats.fixups[k]++;
		cc_vm_trace_event(vm, CC_EV_FIXUP, 0, (uint64_t)k, 0);
	} else
		cc_vm_stop(vm, CC_STOP_ERROR, "%s", e.msg);
}

void cc_vm_dispatch(struct cc_vm *vm)
{
	struct kvm_run *r = vm->run;
	switch (r->exit_reason) {
	case KVM_EXIT_IO:
		handle_pio(vm);
		break;
	case KVM_EXIT_MMIO:
		handle_mmio(vm);
		break;
	case KVM_EXIT_HLT:
		handle_hlt(vm);
		break;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		vm->stats.exits[CC_EXIT_IRQ_WINDOW]++;
		break;
	case KVM_EXIT_SHUTDOWN:
		vm->stats.exits[CC_EXIT_SHUTDOWN]++;
		cc_vm_stop(vm, CC_STOP_SHUTDOWN,
			   "guest triple-faulted (shutdown)");
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		handle_internal_error(vm);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		vm->stats.exits[CC_EXIT_FAIL_ENTRY]++;
		cc_vm_stop(vm, CC_STOP_ERROR,
			   "KVM could not enter the guest "
			   "(hardware entry failure reason 0x%llx)",
			   (unsigned long long)
				   r->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_DIRTY_RING_FULL: {
		/* Host bookkeeping, invisible to the guest: collect and go on.
		 */
		struct cc_err e;
		vm->ring_fulls++;
		if (cc_vm_dirty_harvest(vm, &e))
			cc_vm_stop(vm, CC_STOP_ERROR, "%s", e.msg);
		break;
	}
	case KVM_EXIT_SYSTEM_EVENT:
		vm->stats.exits[CC_EXIT_SYSTEM_EVENT]++;
		cc_vm_stop(vm, CC_STOP_SHUTDOWN,
			   "guest system event %u (reset or "
			   "shutdown)",
			   r->system_event.type);
		break;
	default:
		vm->stats.exits[CC_EXIT_OTHER]++;
		cc_vm_stop(vm, CC_STOP_ERROR, "unexpected KVM exit reason %u",
			   r->exit_reason);
	}
}

/*
 * Before each entry: raise due timer IRQs, then inject one interrupt if
 * the guest can take it right now.  If it cannot (IF=0, interrupt
 * shadow), the interrupt waits for a later exit where it can.  We never
 * ask KVM for an interrupt-window exit: on PVM that exit comes at an
 * instruction chosen by host timing, not by the guest (measured: two
 * boots took the same UART IRQ at different instructions), so injecting
 * only at the guest's own exits is what keeps delivery deterministic.
 */
int cc_vm_settle(struct cc_vm *vm)
{
	struct kvm_run *r = vm->run;
	cc_pit_update(&vm->pit, vm->vclock.ns);
	cc_vm_devices_poll(vm, vm->vclock.ns);
	cc_vclock_publish(&vm->vclock, &vm->mem);
	r->request_interrupt_window = 0;
	if (!cc_pic_pending(&vm->pic) || !r->ready_for_interrupt_injection ||
	    !r->if_flag)
		return -1;
	return cc_pic_ack(&vm->pic);
}
