#define _GNU_SOURCE
#include "vm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../base/array.h"
#include "chaoscontrol/protocol.h"
#include "cpu.h"
#include "console.h"
#include "devtab.h"
#include "exit.h"
#include "snapshot.h"
#include "../base/file.h"
#include <stddef.h>

#define KVM_API_VERSION_EXPECTED 12
#define TSS_ADDR		 0xfffbd000ull

static const char *const stop_names[] = {
	[CC_STOP_NONE] = "running",	 [CC_STOP_EXIT_PORT] = "exit",
	[CC_STOP_POWEROFF] = "poweroff", [CC_STOP_SHUTDOWN] = "shutdown",
	[CC_STOP_IDLE] = "idle",	 [CC_STOP_LIMIT] = "limit",
	[CC_STOP_ERROR] = "error",	 [CC_STOP_READY] = "ready",
	[CC_STOP_SETUP] = "setup",
};

const char *cc_stop_name(enum cc_stop s)
{
	return s < sizeof(stop_names) / sizeof(stop_names[0]) && stop_names[s]
		       ? stop_names[s]
		       : "?";
}

int cc_kvm_open(struct cc_err *err)
{
	/* Tests point this elsewhere to check the missing-KVM message. */
	const char *dev = getenv("CHAOSCONTROL_KVM_DEVICE");
	if (!dev || !*dev)
		dev = "/dev/kvm";
	int fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return cc_err_set(err,
					  "%s does not exist: this host "
					  "has no KVM (enable "
					  "virtualization, load kvm)",
					  dev);
		if (errno == EACCES || errno == EPERM)
			return cc_err_set(err,
					  "%s: permission denied (add "
					  "your user to the 'kvm' group)",
					  dev);
		return cc_err_errno(err, "cannot open %s", dev);
	}
	int v = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION_EXPECTED) {
		close(fd);
		return cc_err_set(err,
				  "%s speaks KVM API version %d, we "
				  "need %d",
				  dev, v, KVM_API_VERSION_EXPECTED);
	}
	return fd;
}

/* ---- set-up ------------------------------------------------------------ */

static int load_kernel(struct cc_vm *vm, const struct cc_vm_config *cfg,
		       struct cc_err *err)
{
	if (cfg->kernel_image) {
		if (cc_kernel_parse(&vm->kernel, cfg->kernel_image,
				    cfg->kernel_image_len, err))
			return -1;
	} else if (cc_kernel_load(&vm->kernel, cfg->kernel_path, err)) {
		return -1;
	}
	if (vm->kernel.kind == CC_KERNEL_ELF)
		cc_symtab_load(&vm->syms, vm->kernel.data, vm->kernel.len);
	return 0;
}

static int setup_guest(struct cc_vm *vm, const struct cc_vm_config *cfg,
		       struct cc_err *err)
{
	uint8_t *initrd = NULL;
	size_t initrd_len = 0;
	if (cfg->initrd_path &&
	    cc_read_file(cfg->initrd_path, "initrd", &initrd, &initrd_len, err))
		return -1;
	struct cc_boot_info info;
	uint8_t seed[CC_BOOT_RNG_SEED_LEN];
	cc_entropy_fill(&vm->entropy, seed, sizeof(seed));
	int rc = cc_boot_setup(&vm->mem, &vm->kernel, initrd, initrd_len,
			       cfg->cmdline ? cfg->cmdline : "", seed, &info,
			       err);
	free(initrd);
	if (rc)
		return -1;
	cc_hypercall_page_init(&vm->mem, cfg->hc_transport
						 ? cfg->hc_transport
						 : CC_HC_TRANSPORT_MMIO);
	cc_vclock_page_init(&vm->mem);
	struct cc_cpuid_opts co = {cfg->cpuid_signature, cfg->cpuid_hide_avx,
				   cfg->cpuid_fixed_model};
	if (cc_cpu_set_cpuid(vm->kvm_fd, vm->vcpu_fd, &co, err))
		return -1;
	return cc_cpu_set_boot_state(vm->vcpu_fd, info.entry, CC_BOOT_ZERO_PAGE,
				     err);
}

/* The dirty ring must be enabled before the vCPU exists. */
static int enable_ring(struct cc_vm *vm, struct cc_err *err)
{
	uint32_t n = vm->cfg.dirty_ring_entries;
	if (n & (n - 1))
		return cc_err_set(err,
				  "dirty ring size %u is not a power of "
				  "two",
				  n);
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_DIRTY_LOG_RING,
		.args = {n * sizeof(struct kvm_dirty_gfn)},
	};
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0)
		return cc_err_errno(err, "enabling the KVM dirty ring");
	return 0;
}

static int setup_kvm(struct cc_vm *vm, struct cc_err *err)
{
	vm->kvm_fd = cc_kvm_open(err);
	if (vm->kvm_fd < 0)
		return -1;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return cc_err_errno(err, "KVM_CREATE_VM");
	/* Intel needs a TSS region for real-mode emulation; elsewhere the
	 * call is harmless, and failing it changes nothing we rely on. */
	(void)ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, TSS_ADDR);
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = vm->mem.size,
		.userspace_addr = (uint64_t)(uintptr_t)vm->mem.host,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return cc_err_errno(err, "KVM_SET_USER_MEMORY_REGION");
	if (vm->cfg.dirty_ring_entries && enable_ring(vm, err))
		return -1;
	vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0)
		return cc_err_errno(err, "KVM_CREATE_VCPU");
	int sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run))
		return cc_err_errno(err, "KVM_GET_VCPU_MMAP_SIZE");
	vm->run_size = (size_t)sz;
	vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->vcpu_fd, 0);
	if (vm->run == MAP_FAILED) {
		vm->run = NULL;
		return cc_err_errno(err, "mmap of the vCPU run area");
	}
	if (vm->cfg.dirty_ring_entries) {
		size_t len = vm->cfg.dirty_ring_entries * sizeof(*vm->ring);
		void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
			       vm->vcpu_fd,
			       KVM_DIRTY_LOG_PAGE_OFFSET * getpagesize());
		if (p == MAP_FAILED)
			return cc_err_errno(err, "mmap of the dirty ring");
		vm->ring = p;
	}
	return 0;
}

/* An empty word ends a section, so an empty argument (or one that
 * starts with the escape byte) goes out escaped (protocol.h). */
static bool needs_escape(const char *w)
{
	return !w[0] || w[0] == CC_ORDERS_ESCAPE;
}

/* Appends word (and its NUL) at *at, escaped if asked; the caller
 * sized the buffer. */
static void put_word(char *buf, size_t *at, const char *w, bool escape)
{
	size_t n = strlen(w);
	if (escape && needs_escape(w))
		buf[(*at)++] = CC_ORDERS_ESCAPE;
	memcpy(buf + *at, w, n);
	*at += n + 1;
}

/* exec_argv, exec_env and exec_cwd as the words init reads from the
 * doorbell (CC_DOORBELL_ORDERS). */
static int setup_orders(struct cc_vm *vm, const struct cc_vm_config *cfg,
			struct cc_err *err)
{
	const char *const *argv = cfg->exec_argv, *const *env = cfg->exec_env;
	const char *cwd = cfg->exec_cwd;
	if (!argv || !argv[0])
		return 0; /* no orders: init keeps its command line's */
	size_t len = 3 + (cwd ? strlen(cwd) : 0);
	if (!argv[0][0])
		return cc_err_set(err, "the guest program's path is empty");
	for (const char *const *a = argv; *a; a++)
		len += strlen(*a) + 1 + needs_escape(*a);
	for (const char *const *e = env; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq || eq == *e)
			return cc_err_set(err,
					  "environment entry \"%s\" is not "
					  "NAME=VALUE",
					  *e);
		len += strlen(*e) + 1;
	}
	if (cwd && cwd[0] != '/')
		return cc_err_set(err,
				  "working directory \"%s\" is not an "
				  "absolute path",
				  cwd);
	if (len > CC_ORDERS_MAX)
		return cc_err_set(err,
				  "guest program, arguments and environment "
				  "exceed %u bytes",
				  CC_ORDERS_MAX);
	vm->orders = calloc(1, len);
	if (!vm->orders)
		return cc_err_set(err, "out of memory");
	size_t at = 0;
	for (const char *const *a = argv; *a; a++)
		put_word(vm->orders, &at, *a, true);
	at++; /* end of the arguments */
	for (const char *const *e = env; e && *e; e++)
		put_word(vm->orders, &at, *e,
			 false); /* NAME=...: never empty */
	at++;			 /* end of the environment */
	/* One word, empty for "/": not escaped. */
	put_word(vm->orders, &at, cwd ? cwd : "", false);
	vm->orders_len = len;
	return 0;
}

/* The image must exist and fit now, not at the ready point; its hash
 * names it in snapshots. */
static int image_check(struct cc_vm *vm, const char *path, struct cc_err *err)
{
	uint64_t h, n;
	if (cc_file_hash64(path, "image disk", &h, &n, err))
		return -1;
	if (n == 0 || n > CC_IMAGE_DISK_BYTES)
		return cc_err_set(
			err,
			"image disk %s: %llu bytes, not 1 byte to "
			"%llu MiB",
			path, (unsigned long long)n,
			(unsigned long long)(CC_IMAGE_DISK_BYTES >> 20));
	vm->image_hash = h | 1; /* never 0 */
	return 0;
}

int cc_vm_image_sync(struct cc_vm *vm, struct cc_err *err)
{
	if (!vm->image.on) {
		cc_disk_detach(&vm->img.disk);
		return 0;
	}
	if (vm->image.hash != vm->image_hash)
		return cc_err_set(err,
				  "the snapshot's image disk holds image "
				  "%016llx; this VM's is %s",
				  (unsigned long long)vm->image.hash,
				  vm->cfg.image_path ? vm->cfg.image_path
						     : "none");
	if (vm->img.disk.image)
		return 0;
	return cc_disk_attach(&vm->img.disk, vm->cfg.image_path, err);
}

int cc_vm_image_attach(struct cc_vm *vm, struct cc_err *err)
{
	vm->image.on = 1;
	vm->image.hash = vm->image_hash;
	if (cc_vm_image_sync(vm, err)) {
		vm->image.on = 0;
		return -1;
	}
	return 0;
}

/* A VM of cfg with nothing set up yet (destroyable as it is). */
static struct cc_vm *vm_alloc(const struct cc_vm_config *cfg)
{
	struct cc_vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return NULL;
	vm->kvm_fd = vm->vm_fd = vm->vcpu_fd = -1;
	vm->cfg = *cfg;
	vm->progress_ns =
		cfg->progress_ns ? cfg->progress_ns : CC_PROGRESS_DEFAULT_NS;
	cc_hypercall_log_limit(&vm->hc_log, cfg->sdk_log_entries,
			       cfg->sdk_log_bytes);
	return vm;
}

int cc_vm_create(struct cc_vm **out, const struct cc_vm_config *cfg,
		 struct cc_err *err)
{
	struct cc_vm *vm = *out = NULL;
	if (!(vm = vm_alloc(cfg)))
		return cc_err_set(err, "out of memory");
	uint64_t mem = cfg->mem_size ? cfg->mem_size : CC_DEFAULT_MEM;
	if (cc_vm_devices_init(vm, cfg, err) ||
	    (cfg->image_path && image_check(vm, cfg->image_path, err)) ||
	    cc_trace_init(&vm->trace, cfg->trace_path, err) ||
	    setup_orders(vm, cfg, err) || load_kernel(vm, cfg, err) ||
	    cc_mem_init(&vm->mem, mem, err) || setup_kvm(vm, err) ||
	    setup_guest(vm, cfg, err)) {
		cc_vm_destroy(vm);
		return -1;
	}
	*out = vm;
	return 0;
}

void cc_vm_destroy(struct cc_vm *vm)
{
	if (!vm)
		return;
	/* Live snapshots outlive the VM, detached (restorable elsewhere). */
	for (struct cc_snapshot *s = vm->snaps, *n; s; s = n) {
		n = s->next;
		s->vm = NULL;
		s->next = NULL;
	}
	free(vm->kvm_dirty);
	free(vm->stamp);
	free(vm->leaf_stamp);
	cc_watchdog_stop(&vm->wd);
	if (vm->run)
		munmap(vm->run, vm->run_size);
	if (vm->ring)
		munmap(vm->ring,
		       vm->cfg.dirty_ring_entries * sizeof(*vm->ring));
	if (vm->vcpu_fd >= 0)
		close(vm->vcpu_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	cc_vm_devices_free(vm);
	cc_hypercall_log_free(&vm->hc_log);
	free(vm->orders);
	cc_mem_free(&vm->mem);
	cc_kernel_free(&vm->kernel);
	cc_symtab_free(&vm->syms);
	cc_trace_close(&vm->trace, NULL);
	free(vm->serial);
	free(vm->samples);
	free(vm);
}

/* The run structure's size KVM gives (its I/O data page included). */
#define BARE_RUN_SIZE (3 * 4096ul)

int cc_vm_create_bare(struct cc_vm **out, const struct cc_vm_config *cfg,
		      struct cc_err *err)
{
	struct cc_vm *vm = *out = NULL;
	if (!(vm = vm_alloc(cfg)))
		return cc_err_set(err, "out of memory");
	void *run = mmap(NULL, BARE_RUN_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (run != MAP_FAILED) {
		vm->run = run;
		vm->run_size = BARE_RUN_SIZE;
	}
	if (!vm->run || cc_vm_devices_init(vm, cfg, err) ||
	    cc_trace_init(&vm->trace, cfg->trace_path, err) ||
	    setup_orders(vm, cfg, err) ||
	    cc_mem_init(&vm->mem, cfg->mem_size ? cfg->mem_size : CC_MEM_MIN,
			err)) {
		if (!vm->run)
			cc_err_errno(err, "cannot map a run structure");
		cc_vm_destroy(vm);
		return -1;
	}
	cc_hypercall_page_init(&vm->mem, cfg->hc_transport
						 ? cfg->hc_transport
						 : CC_HC_TRANSPORT_MMIO);
	cc_vclock_page_init(&vm->mem);
	*out = vm;
	return 0;
}

/* ---- the run loop ---------------------------------------------------- */

void cc_vm_stop(struct cc_vm *vm, enum cc_stop why, const char *fmt, ...)
{
	if (vm->stopped)
		return;
	vm->stopped = true;
	vm->result.stop = why;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(vm->result.msg, sizeof(vm->result.msg), fmt, ap);
	va_end(ap);
}

uint64_t cc_vm_trace_hash(const struct cc_vm *vm)
{
	return cc_trace_hash(&vm->trace);
}

/* Records one guest-visible event at the current virtual time.  The RIP
 * is fetched only when a trace file wants it (an ioctl per event). */
void cc_vm_trace_event(struct cc_vm *vm, uint32_t kind, uint32_t size,
		       uint64_t a, uint64_t b)
{
	struct cc_event ev = {vm->vclock.ns, kind, size, a, b};
	uint64_t rip = 0;
	if (vm->trace.want_rip) {
		struct kvm_regs r;
		if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &r) == 0)
			rip = r.rip;
	}
	cc_trace_add(&vm->trace, &ev, rip);
}

int cc_vm_virtio_cmdline(bool disk, char *buf, size_t len)
{
	static const struct {
		uint64_t gpa;
		unsigned irq;
	} dev[] = {{CC_VIRTIO_BLK_GPA, CC_IRQ_VIRTIO_BLK},
		   {CC_VIRTIO_NET_GPA, CC_IRQ_VIRTIO_NET},
		   {CC_VIRTIO_RNG_GPA, CC_IRQ_VIRTIO_RNG},
		   {CC_VIRTIO_IMG_GPA, CC_IRQ_VIRTIO_IMG}};
	size_t at = 0;
	buf[0] = 0;
	/* The image disk last: /dev/vda stays the data disk. */
	for (unsigned i = disk ? 0 : 1; i < 4; i++) {
		if (at && at < len)
			buf[at++] = ' ';
		if (at >= len)
			return -1;
		int n = cc_virtio_mmio_cmdline(buf + at, len - at, dev[i].gpa,
					       dev[i].irq);
		if (n < 0 || (size_t)n >= len - at)
			return -1;
		at += (size_t)n;
	}
	return 0;
}

static void record_sample(struct cc_vm *vm)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return;
	if (cc_array_grow(&vm->samples, &vm->samples_cap, vm->nsamples,
			  sizeof(*vm->samples), 4096))
		return;
	vm->samples[vm->nsamples++] =
		(struct cc_rip_sample){r.rip, s.cs.selector & 3u};
}

/* Notes where the guest is as the watchdog fires (for the report). */
static void note_spin(struct cc_vm *vm)
{
	struct cc_spin_site s = {0};
	s.ncode = (unsigned)cc_fixup_fetch(vm->vcpu_fd, &vm->mem, s.code,
					   sizeof(s.code), &s.rip, &s.cpl);
	for (size_t i = 0; i < vm->nspins; i++)
		if (vm->spins[i].rip == s.rip && vm->spins[i].cpl == s.cpl) {
			vm->spins[i].count++;
			return;
		}
	if (vm->nspins == CC_SPIN_SITES) {
		vm->spins_elsewhere++;
		return;
	}
	s.count = 1;
	vm->spins[vm->nspins++] = s;
}

/* Is the guest, stalled past cfg.spin_ms, spinning in user mode? */
static bool user_spin(struct cc_vm *vm)
{
	struct kvm_sregs s;
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return false;
	return cc_watchdog_probe(&vm->wd, s.cs.selector & 3u);
}

/* A return from KVM_RUN the guest did not cause: a signal.  Only a
 * watchdog firing changes guest-visible state, and it is counted. */
/* A host-caused KVM_RUN return; true when the watchdog fired on it. */
static bool handle_host_exit(struct cc_vm *vm)
{
	vm->stats.exits[CC_EXIT_HOST]++;
	vm->run->immediate_exit = 0;
	int kick = cc_watchdog_take(&vm->wd);
	if (kick & CC_KICK_SAMPLE)
		record_sample(vm);
	if ((kick & CC_KICK_WATCHDOG) ||
	    ((kick & CC_KICK_PROBE) && user_spin(vm))) {
		vm->stats.watchdog_fires++;
		note_spin(vm);
		uint64_t next = cc_pit_deadline(&vm->pit);
		cc_vclock_advance_to(&vm->vclock,
				     next == CC_PIT_NEVER
					     ? vm->vclock.ns + CC_NS_PER_TICK
					     : next);
		cc_vm_trace_event(vm, CC_EV_WATCHDOG, 0, vm->vclock.ns, 0);
		return true;
	}
	return false;
}

static int prepare_entry(struct cc_vm *vm)
{
	int vector = cc_vm_settle(vm);
	if (vector < 0)
		return 0;
	struct kvm_interrupt irq = {.irq = (uint32_t)vector};
	if (ioctl(vm->vcpu_fd, KVM_INTERRUPT, &irq) < 0)
		return -1;
	vm->stats.irqs_injected++;
	cc_vm_trace_event(vm, CC_EV_IRQ, 0, irq.irq, 0);
	return 0;
}

static bool limits_reached(struct cc_vm *vm)
{
	uint64_t exits = 0;
	for (int i = 0; i < CC_EXIT_HOST; i++)
		exits += vm->stats.exits[i];
	if (vm->cfg.max_exits && exits >= vm->cfg.max_exits) {
		cc_vm_stop(vm, CC_STOP_LIMIT, "exit limit (%llu) reached",
			   (unsigned long long)vm->cfg.max_exits);
		return true;
	}
	if (vm->cfg.max_ns && vm->vclock.ns >= vm->cfg.max_ns) {
		cc_vm_stop(vm, CC_STOP_LIMIT, "virtual time limit reached");
		return true;
	}
	return false;
}

int cc_vm_run(struct cc_vm *vm, struct cc_vm_result *res)
{
	struct cc_err e;
	int rc = 0;
	if (vm->stopped && (vm->result.stop == CC_STOP_LIMIT ||
			    vm->result.stop == CC_STOP_READY ||
			    vm->result.stop == CC_STOP_SETUP)) {
		/* Resume after a host-chosen stop (a limit the caller has
		 * raised, or the ready point the boot cache saved). */
		vm->stopped = false;
		memset(&vm->result, 0, sizeof(vm->result));
	}
	if (cc_watchdog_start(&vm->wd, vm->run, vm->cfg.watchdog_ms,
			      vm->cfg.spin_ms, vm->cfg.sample_ms, &e)) {
		cc_vm_stop(vm, CC_STOP_ERROR, "%s", e.msg);
		rc = -1;
	}
	while (!vm->stopped && !limits_reached(vm)) {
		if (vm->halt.pending) {
			cc_vm_resume_idle(vm);
			if (vm->halt.pending || vm->stopped)
				continue;
		}
		if (prepare_entry(vm) < 0) {
			cc_vm_stop(vm, CC_STOP_ERROR, "KVM_INTERRUPT: %s",
				   strerror(errno));
			rc = -1;
			break;
		}
		atomic_store(&vm->wd.in_run, true);
		int r = ioctl(vm->vcpu_fd, KVM_RUN, 0);
		atomic_store(&vm->wd.in_run, false);
		if ((r < 0 && (errno == EINTR || errno == EAGAIN)) ||
		    (r == 0 && vm->run->exit_reason == KVM_EXIT_INTR)) {
			/* KVM has just reported IF where the *host* stopped
			 * the guest: a pending interrupt injected now would
			 * land at a host-chosen instruction (the trace would
			 * not show it: same events, other RIP; on PVM a
			 * recording's RAM digest did), and one still queued
			 * in KVM would be overwritten.  So nothing is injected
			 * until the guest's own next exit - unless the
			 * watchdog fired, itself counted as not reproducible,
			 * where a spin with no exits must still get its
			 * timer. */
			if (!handle_host_exit(vm))
				vm->run->ready_for_interrupt_injection = 0;
			continue;
		}
		if (r < 0) {
			cc_vm_stop(vm, CC_STOP_ERROR, "KVM_RUN failed: %s",
				   strerror(errno));
			rc = -1;
			break;
		}
		/* Guest-caused exits are what the watchdog calls progress. */
		atomic_fetch_add(&vm->wd.exits, 1);
		cc_vm_dispatch(vm);
	}
	cc_vm_console_flush(vm);
	/* A limit is the host's choice, not the guest's: running to T, then
	 * on to T+N must hash like running to T+N at once. */
	if (vm->result.stop != CC_STOP_LIMIT &&
	    vm->result.stop != CC_STOP_READY &&
	    vm->result.stop != CC_STOP_SETUP)
		cc_vm_trace_event(vm, CC_EV_STOP, 0, vm->result.stop,
				  vm->result.exit_status);
	vm->result.vclock_ns = vm->vclock.ns;
	*res = vm->result;
	return rc;
}
