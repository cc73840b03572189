/*
 * DeterministicVm: one KVM VM with one vCPU, its RAM, its devices and its
 * virtual clock.  cc_vm_run() drives KVM_RUN and dispatches every exit;
 * interrupts are injected only here, only between exits, only from
 * device state on the virtual clock.
 */
#ifndef CC_VM_H
#define CC_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/entropy.h"
#include "../devices/pic.h"
#include "../devices/pit.h"
#include "../devices/rtc.h"
#include "../devices/uart.h"
#include "../devices/virtio_blk.h"
#include "../devices/virtio_net.h"
#include "../devices/virtio_rng.h"
#include "boot.h"
#include "../base/err.h"
#include "fixup.h"
#include "hypercall.h"
#include "kernel.h"
#include "../base/mem.h"
#include "symtab.h"
#include "trace.h"
#include "vclock.h"
#include "watchdog.h"

#define CC_DEFAULT_MEM (256ull << 20)
#define CC_ORDERS_MAX  4096u /* bytes of the orders, NULs included */
/* Virtual time per unit of reported progress (one system call, one user
 * page fault, one batch of edges): a slow but fixed virtual CPU. */
#define CC_PROGRESS_DEFAULT_NS 10000ull

struct cc_vm;
struct cc_vm_input;

/* The console a VM keeps by default, and at most: a snapshot file holds
 * up to CC_CONSOLE_MAX of it. */
#define CC_CONSOLE_DEFAULT (16ull << 20)
#define CC_CONSOLE_MAX	   (64ull << 20)

struct cc_vm_config {
	const char *kernel_path;     /* or kernel_image below */
	const uint8_t *kernel_image; /* in-memory image (probe guests) */
	size_t kernel_image_len;
	const char *initrd_path; /* NULL: no initrd */
	const char *disk_path;	 /* raw disk image for virtio-blk; NULL: none */
	/* The image disk's contents (an ext4 file system, `image build
	 * --disk`), attached after the ready point (protocol.h): not part
	 * of the boot, so not of its cache key.  NULL: it stays blank. */
	const char *image_path;
	/* The guest program and its arguments, handed to init after the
	 * ready point (so one boot cache entry serves every program);
	 * NULL: init's default, or cc.exec= on the command line. */
	const char *const *exec_argv;
	/* With exec_argv: environment entries ("NAME=VALUE", added to
	 * init's own; NULL: none) and the working directory (NULL: "/"). */
	const char *const *exec_env;
	const char *exec_cwd;
	/* How guest programs trigger hypercalls (CC_HC_TRANSPORT_*);
	 * 0 = MMIO, which works on every platform. */
	uint32_t hc_transport;
	/* random_choice/get_random answers to force, by sequence number. */
	const struct cc_hc_override *choice_overrides;
	size_t n_choice_overrides;
	const char *cmdline; /* full command line */
	uint64_t mem_size;   /* bytes; 0 = CC_DEFAULT_MEM */
	int serial_fd;	     /* also stream serial output here; -1 = no */
	/* Console bytes kept (cc_vm.serial); 0 = CC_CONSOLE_DEFAULT, at
	 * most CC_CONSOLE_MAX.  Past it output is streamed, not kept. */
	uint64_t console_cap;
	/* SDK records and choice records kept, each, and record bytes;
	 * 0 = the defaults of hypercall.h.  Past them calls are answered
	 * as before and not kept (the report counts them). */
	uint64_t sdk_log_entries, sdk_log_bytes;
	uint64_t max_ns;      /* stop at this virtual time; 0 = never */
	uint64_t max_exits;   /* stop after this many exits; 0 = never */
	unsigned watchdog_ms; /* wall ms without an exit; 0 = off */
	/* Wall ms a guest in user mode may run without an exit before the
	 * watchdog fires (watchdog.h); 0 or >= watchdog_ms: watchdog_ms. */
	unsigned spin_ms;
	bool stop_at_ready; /* stop when the guest rings "ready" */
	bool stop_at_setup; /* stop at the SDK's setup_complete */
	/* A simulation manages this VM's memory: the doorbell offers the
	 * limit and init runs its memory agent (protocol.h). */
	bool memory_agent;
	/* Dirty-page tracking for snapshots: 0 = KVM's dirty log (bitmap),
	 * else KVM's dirty ring with this many entries (a power of two). */
	uint32_t dirty_ring_entries;
	unsigned sample_ms;   /* RIP sampler period; 0 = off */
	uint64_t seed;	      /* simulation seed; VM streams derive from it */
	uint64_t progress_ns; /* per progress unit; 0 = default */
	unsigned vm_index;    /* this VM's index in its simulation */
	/* VMs in that simulation (the doorbell's CC_DOORBELL_NODE); 0: a VM
	 * on its own, which init gives no network identity. */
	unsigned node_count;
	bool mount_data;	/* init mounts the disk at /data (protocol.h) */
	uint64_t rtc_epoch_s;	/* guest wall time at vclock 0; 0 = default */
	const char *trace_path; /* also write the event trace here; NULL = no */
	const char *cpuid_signature; /* platform probe only */
	bool cpuid_hide_avx;	     /* see struct cc_cpuid_opts */
	bool cpuid_fixed_model;
	/* Writes to ports no device claims (probe guests use this). */
	void (*pio_hook)(void *ctx, uint16_t port, uint32_t val);
	void *hook_ctx;
	/* Sees every host-to-guest input before it is applied (a
	 * recorder); NULL: none.  See cc_vm_input(). */
	void (*on_input)(void *ctx, const struct cc_vm *vm,
			 const struct cc_vm_input *in);
	void *input_ctx;
};

enum cc_stop {
	CC_STOP_NONE,
	CC_STOP_EXIT_PORT, /* guest wrote its status to CC_PORT_EXIT */
	CC_STOP_POWEROFF,  /* HLT with interrupts disabled */
	CC_STOP_SHUTDOWN,  /* triple fault */
	CC_STOP_IDLE,	   /* HLT with no interrupt source armed */
	CC_STOP_LIMIT,	   /* max_ns or max_exits reached */
	CC_STOP_READY,	   /* the guest rang "ready" (cfg.stop_at_ready) */
	CC_STOP_SETUP,	   /* SDK setup_complete (cfg.stop_at_setup) */
	CC_STOP_ERROR,	   /* KVM or emulation failure */
};

const char *cc_stop_name(enum cc_stop s);

/* The VM's own saved parts (halt, image, memlimit, stats: devtab.c);
 * bump when one of their structs changes. */
#define CC_VM_PARTS_VERSION 1

struct cc_vm_stats {
	uint64_t exits[CC_EXIT__COUNT];
	uint64_t fixups[CC_FIXUP__COUNT];
	uint64_t irqs_injected;
	uint64_t watchdog_fires; /* non-deterministic events: must be 0 */
	uint64_t unknown_pio, unknown_mmio;
	uint64_t serial_bytes;
	uint64_t progress_units;
	uint64_t ready_rings;
	uint64_t orders_bytes; /* bytes of exec_argv init has read */
};

struct cc_vm_result {
	enum cc_stop stop;
	uint32_t exit_status; /* CC_STOP_EXIT_PORT */
	uint64_t vclock_ns;
	char msg[512];
};

struct cc_rip_sample {
	uint64_t rip;
	unsigned cpl;
};

/* Where the guest was when the watchdog fired, to name for the user:
 * the first CC_SPIN_SITES distinct RIPs, with the code bytes there (a
 * user RIP is named by finding those bytes in the image's programs). */
#define CC_SPIN_SITES 8
#define CC_SPIN_CODE  32
struct cc_spin_site {
	uint64_t rip, count;
	unsigned cpl, ncode;
	uint8_t code[CC_SPIN_CODE];
};

struct cc_vm {
	int kvm_fd, vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	struct cc_mem mem;
	struct cc_kernel kernel;
	struct cc_symtab syms;
	struct cc_vclock vclock;
	/* The vCPU executed HLT and its idle fast-forward was cut short by
	 * cfg.max_ns: the next run goes on waiting instead of entering the
	 * guest, so stopping there changes nothing (a snapshot row). */
	struct cc_vm_halt {
		uint32_t pending, pad;
	} halt;
	struct cc_pic pic;
	struct cc_pit pit;
	struct cc_uart uart;
	struct cc_rtc rtc;
	struct cc_entropy entropy; /* this VM's stream: seed + vm_index */
	struct cc_virtio_blk blk;  /* present when has_disk */
	struct cc_virtio_net net;
	struct cc_virtio_rng rng;
	struct cc_virtio_blk img; /* the image disk: every VM has one */
	/* Whether the image is attached (a state row, so snapshots carry
	 * it), and which: its hash, checked against the VM's on restore. */
	struct cc_vm_image {
		uint64_t on, hash;
	} image;
	uint64_t image_hash; /* cfg.image_path's XXH3-64; 0: none */
	bool has_disk;
	struct cc_vm_memlimit {
		uint64_t bytes; /* MemoryPressure limit; 0 = none */
	} memlimit;
	struct cc_hc_state hc;	 /* the SDK's counters and lifecycle */
	struct cc_hc_log hc_log; /* what the guest's SDK sent this run */
	char *orders; /* argv, env and cwd as init reads them (protocol.h) */
	size_t orders_len;
	struct cc_watchdog wd;
	struct cc_trace trace;
	struct cc_vm_stats stats;
	struct cc_vm_config cfg;
	uint64_t progress_ns;
	/* Captured serial output, up to cfg.console_cap bytes; what came
	 * after is counted and streamed through `over`. */
	char *serial;
	size_t serial_len, serial_cap;
	size_t serial_flushed; /* bytes already streamed to cfg.serial_fd */
	uint64_t serial_dropped;
	char over[512];
	size_t nover;
	/* RIP sampler. */
	struct cc_rip_sample *samples;
	size_t nsamples, samples_cap;
	struct cc_spin_site spins[CC_SPIN_SITES];
	size_t nspins;
	uint64_t spins_elsewhere; /* firings past the CC_SPIN_SITES sites */
	bool stopped;
	struct cc_vm_result result;
	/* Snapshots (snapshot.c): the live ones attached here, and the page
	 * stamps that say what changed since each (snapshot.h). */
	struct cc_snapshot *snaps;
	struct cc_snapshot *last_sync; /* the one memory last equalled */
	uint64_t gen;		       /* the current generation */
	uint64_t *stamp;	       /* per page: generation last written */
	uint64_t *leaf_stamp;	       /* per leaf: its pages' latest */
	bool dirty_logging;
	uint64_t *kvm_dirty;	    /* scratch for KVM_GET_DIRTY_LOG */
	struct kvm_dirty_gfn *ring; /* dirty ring mode: the vCPU's ring */
	uint32_t ring_next;	    /* next entry to collect */
	uint64_t ring_fulls;	    /* KVM_EXIT_DIRTY_RING_FULL exits */
};

/*
 * The device-snapshot interface: the guest-visible state of every device
 * and of the VMM's own clock and counters, as one blob of versioned
 * sections, one per row of the device table (devtab.c).  A device joins
 * by adding a row there; nothing else saves device state.
 */
uint64_t cc_vm_state_size(void);
void cc_vm_state_save(const struct cc_vm *vm, uint8_t *blob);
/* Loads a blob cc_vm_state_check accepted. */
void cc_vm_state_load(struct cc_vm *vm, const uint8_t *blob);
/* NULL if blob (cc_vm_state_size() bytes) holds, section by section,
 * the names and versions this build has and state the devices could
 * have reached (indices in range, flags 0 or 1, sizes within bounds),
 * else "device: what is wrong".  vm is not changed.  A snapshot file's
 * blob passes its checksum but is still input. */
const char *cc_vm_state_check(const struct cc_vm *vm, const uint8_t *blob);
/* "vclock.1:8,pic.1:26,..." - names, versions and sizes, to validate a
 * saved blob before reading it (and to key the boot cache). */
const char *cc_vm_state_layout(void);

/* Appends console output saved with a snapshot (and streams it), so a
 * run that starts from a snapshot still shows and keeps all its output. */
void cc_vm_console_replay(struct cc_vm *vm, const char *buf, size_t len);

/*
 * Every host-to-guest input passes cc_vm_input(), one entry point: it is
 * traced as CC_EV_INJECT (a = kind, b = its parameter) at the VM's
 * virtual time, shown to cfg.on_input (a recorder sees every input, in
 * order, in one place), then applied.  The helpers below are its prose
 * form.  What the guest reads on its own (orders, node word, choice
 * overrides answered by the hypercall page) is configuration, traced
 * where the guest reads it.
 */
enum cc_inject {
	CC_INJECT_IRQ = 1,     /* an edge on ISA IRQ `value` */
	CC_INJECT_NMI,	       /* */
	CC_INJECT_MEMLIMIT,    /* value = bytes, 0 = none */
	CC_INJECT_FRAME,       /* data, len: a frame for eth0 */
	CC_INJECT_DISK_FAULTS, /* faults: the disk's fault switches */
	CC_INJECT_RESEED,      /* value = the simulation seed */
	CC_INJECT_RESTART,     /* boot: the state to restart from;
				  value = 1 for a crash (cc_vm_reboot) */
	CC_INJECT_IMAGE,       /* the image disk gets cfg.image_path */
};
struct cc_snapshot;
struct cc_vm_input {
	enum cc_inject kind;
	uint64_t value;
	const void *data;
	uint32_t len;
	struct cc_disk_faults faults;
	struct cc_snapshot *boot;
};
/* 0, or -1 with err: a bad IRQ number, KVM refused the NMI, no receive
 * buffer for the frame (dropped), a failed restart or image. */
int cc_vm_input(struct cc_vm *vm, const struct cc_vm_input *in,
		struct cc_err *err);

int cc_vm_inject_irq(struct cc_vm *vm, unsigned irq, struct cc_err *err);
int cc_vm_inject_nmi(struct cc_vm *vm, struct cc_err *err);
void cc_vm_set_memory_limit(struct cc_vm *vm, uint64_t bytes);
/* false: eth0 had no receive buffer, the frame is dropped. */
bool cc_vm_deliver_frame(struct cc_vm *vm, const void *frame, uint32_t len);
void cc_vm_set_disk_faults(struct cc_vm *vm, struct cc_disk_faults f);
/* Restarts the VM's entropy streams from a new simulation seed: how the
 * branches of a fork, restored from one snapshot, are made to differ. */
void cc_vm_reseed(struct cc_vm *vm, uint64_t seed);

/* Records one event in the VM's trace at its virtual time (vm.c). */
void cc_vm_trace_event(struct cc_vm *vm, uint32_t kind, uint32_t size,
		       uint64_t a, uint64_t b);

/* The trace hash so far (final once cc_vm_run has returned). */
uint64_t cc_vm_trace_hash(const struct cc_vm *vm);

/* Opens /dev/kvm, builds the VM and loads the guest; ready to run. */
int cc_vm_create(struct cc_vm **out, const struct cc_vm_config *cfg,
		 struct cc_err *err);
/* Runs until the guest stops; fills *res.  0 unless KVM itself failed. */
int cc_vm_run(struct cc_vm *vm, struct cc_vm_result *res);
void cc_vm_destroy(struct cc_vm *vm);

/* After a restore: the image disk holds the image iff the restored
 * state says so, and then only the one the snapshot was taken with. */
int cc_vm_image_sync(struct cc_vm *vm, struct cc_err *err);
/* Attaches cfg.image_path to the image disk (CC_INJECT_IMAGE). */
int cc_vm_image_attach(struct cc_vm *vm, struct cc_err *err);

/* The kernel command-line words that declare this VM's virtio devices. */
int cc_vm_virtio_cmdline(bool disk, char *buf, size_t len);

/* Earliest virtual time a device has work scheduled, or UINT64_MAX. */
uint64_t cc_vm_device_deadline(const struct cc_vm *vm);

/* Opens /dev/kvm with a clear message when it is missing. */
int cc_kvm_open(struct cc_err *err);

#endif
