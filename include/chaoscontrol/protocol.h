/*
 * ChaosControl wire protocol and platform constants.
 *
 * Freestanding C: included by the VMM, the guest SDK and the micro-guest
 * runtime alike, so it uses no libc and defines nothing but constants and
 * plain-data layouts.  It is the single source of every address, port and
 * IRQ number in the glossary; nothing else in the tree may repeat them.
 */
#ifndef CHAOSCONTROL_PROTOCOL_H
#define CHAOSCONTROL_PROTOCOL_H

/* --- Guest physical memory layout (E820 reserved areas) --------------- */
#define CC_COVERAGE_GPA	  0x000E0000ull /* AFL-style edge counters */
#define CC_COVERAGE_SIZE  0x00010000ull /* 64 KiB */
#define CC_HYPERCALL_GPA  0x000FE000ull /* SDK <-> VMM shared page */
#define CC_HYPERCALL_SIZE 0x00001000ull
#define CC_CLOCK_GPA	  0x000FD000ull /* virtual clock page, below */
#define CC_CLOCK_SIZE	  0x00001000ull

/* --- Port I/O ----------------------------------------------------------- */
#define CC_PORT_HYPERCALL 0x0510 /* outb runs the hypercall */
#define CC_PORT_COVERAGE  0x0511 /* outb: coverage bitmap is live */
#define CC_PORT_COM1	  0x03F8
#define CC_IRQ_COM1	  4
#define CC_PORT_PIT_BASE  0x0040 /* channels 0-2: 0x40-0x42, mode: 0x43 */
#define CC_PORT_PIT_MODE  0x0043
#define CC_PORT_SPEAKER	  0x0061 /* PIT channel 2 gate / output */
#define CC_IRQ_PIT	  0
#define CC_PORT_PIC1	  0x0020 /* master 8259A: 0x20-0x21 */
#define CC_PORT_PIC2	  0x00A0 /* slave 8259A: 0xA0-0xA1 */
#define CC_PORT_RTC	  0x0070 /* CMOS RTC: index 0x70, data 0x71 */

/* --- virtio-mmio devices ------------------------------------------------ */
#define CC_VIRTIO_BLK_GPA   0xD0000000ull
#define CC_VIRTIO_NET_GPA   0xD0001000ull
#define CC_VIRTIO_RNG_GPA   0xD0002000ull
#define CC_VIRTIO_MMIO_SIZE 0x1000ull
#define CC_IRQ_VIRTIO_BLK   5
#define CC_IRQ_VIRTIO_NET   6
#define CC_IRQ_VIRTIO_RNG   7
/* The image disk: a read-only virtio-blk device every Linux VM has, in
 * the next slot.  Its line is IRQ 3 (COM2's, free: there is one UART;
 * IRQ 8 would need the slave PIC).  It is blank, of a fixed size, until
 * the guest reads the node word after the ready point; then it holds
 * the node's image (an ext4 file system, `image build --disk`) and the
 * word says so (CC_NODE_IMAGE).  The boot never sees the image, so one
 * cached boot serves every image.  Its virtio-blk serial names it. */
#define CC_VIRTIO_IMG_GPA   0xD0003000ull
#define CC_IRQ_VIRTIO_IMG   3
#define CC_IMAGE_DISK_BYTES (4ull << 30)
#define CC_IMAGE_SERIAL	    "cc-image"
#define CC_IMAGE_MOUNT	    "/cc/image"

/* --- MMIO doorbell -------------------------------------------------------
 * One page no RAM backs, so every access exits to the VMM: the way guest
 * user space reaches the VMM on PVM hosts, where port I/O from CPL3
 * faults.  A 32-bit write of CC_DOORBELL_READY says "booted, ready for
 * work": the boot cache snapshots the VM there. */
#define CC_DOORBELL_GPA	  0xD0010000ull
#define CC_DOORBELL_SIZE  0x1000ull
#define CC_DOORBELL_READY 0x59444552u /* "REDY" */
/* A read (1 to 8 bytes) at this offset returns the next bytes of the
 * VM's deterministic entropy stream: the simulation seed reaches guest
 * programs, and branches forked with new seeds diverge. */
#define CC_DOORBELL_RANDOM 0x8
/* Reads (1 to 8 bytes each) at this offset return, in order, the orders
 * the VMM has for init after the ready point, three sections of
 * NUL-terminated words: the program and its arguments, ended by an empty
 * word; environment entries ("NAME=VALUE"), ended by an empty word; and
 * one word, the working directory (empty: "/").  Zero bytes past the
 * end, so a VMM that sends only the first section reads as empty
 * environment and no directory.  A first byte of 0 means "no orders".
 * A word that is empty, or starts with CC_ORDERS_ESCAPE, is sent with
 * CC_ORDERS_ESCAPE in front (so `--save ""` reaches the program), and
 * init drops that first byte. */
#define CC_DOORBELL_ORDERS 0x10
#define CC_ORDERS_ESCAPE   0x01
/* An 8-byte read at this offset returns the memory limit a simulation's
 * MemoryPressure fault set for this VM, in bytes: 0 when the VMM does not
 * manage the guest's memory (init then starts no memory agent),
 * UINT64_MAX while there is no limit.  Init's agent polls it and makes
 * the guest kernel keep everything above the limit free
 * (vm.min_free_kbytes), so allocations meet real pressure. */
#define CC_DOORBELL_MEMLIMIT 0x28
#define CC_MEMLIMIT_NONE     0xFFFFFFFFFFFFFFFFull
#define CC_MEMLIMIT_POLL_MS  100u
/* An 8-byte read at this offset returns this VM's place in its
 * simulation: the node's index in bits 0-31, the node count in bits
 * 32-47 (0 for a VM on its own) and flags above.  It comes from the
 * VM's configuration, not its memory, so a VM restored from another
 * node's boot still reads its own.  Init gives node i the host name
 * node<i>, MAC 52:54:00:12:34:<i> and 10.0.0.<i+1>/24 on eth0 from it,
 * and mounts the disk (/dev/vda, ext4) at /data when CC_NODE_DATA_DISK
 * is set; without it the disk stays the program's raw device.  The
 * first read after the ready point attaches the node's image to the
 * image disk (CC_VIRTIO_IMG_GPA) and sets CC_NODE_IMAGE; init then lays
 * it over the root before it starts the program. */
#define CC_DOORBELL_NODE    0x30
#define CC_NODE_COUNT_SHIFT 32
#define CC_NODE_COUNT_MASK  0xFFFFu
#define CC_NODE_DATA_DISK   (1ull << 63)
#define CC_NODE_IMAGE	    (1ull << 62) /* the image disk holds an image */
/* An 8-byte read at this offset returns the machine's wall clock now,
 * in ns since 1970 (UTC): the RTC's date to the nanosecond, carried
 * across restarts (a restored boot state would otherwise go back to its
 * boot time).  Init sets CLOCK_REALTIME from it after the ready point. */
#define CC_DOORBELL_WALLCLOCK 0x38

/* --- Time ---------------------------------------------------------------- */
#define CC_NS_PER_TICK 1000000ull /* one tick = 1 ms of virtual time */
#define CC_PPM_ONE     1000000u	  /* probabilities in parts per million */

/* --- The virtual clock page -------------------------------------------------
 * One reserved RAM page at CC_CLOCK_GPA, laid out as struct
 * cc_clock_page: the VMM writes magic, version and the nominal TSC
 * frequency at creation and the virtual time before every guest entry
 * (between entries the guest runs and virtual time stands still, so the
 * value is exact).  The patched guest kernel, given "cc_clock=<GPA>",
 * reads it to emulate user-mode rdtsc/rdtscp under CR4.TSD: the value is
 * ns * tsc_khz / 10^6 (guest/kernel/patches/0005, docs/DETERMINISM.md).
 * It is the one place the guest reads virtual time finer than a tick. */
#define CC_CLOCK_MAGIC	 0x4B4C4343u /* "CCLK" */
#define CC_CLOCK_VERSION 1u
#define CC_TSC_KHZ	 1000000u /* nominal 1 GHz: one TSC tick per ns */

struct cc_clock_page {
	unsigned int magic;    /* VMM: CC_CLOCK_MAGIC */
	unsigned int version;  /* VMM: CC_CLOCK_VERSION */
	unsigned long long ns; /* VMM: virtual time at the last entry */
	unsigned int tsc_khz;  /* VMM: nominal TSC frequency */
	unsigned int reserved;
};

/* --- Test/exit port for micro-guests and init ---------------------------
 * A write of a 32-bit value to CC_PORT_EXIT ends the VM with that status.
 * It lives beside the SDK ports so all ChaosControl ports sit together. */
#define CC_PORT_EXIT 0x0512

/* --- Progress port -------------------------------------------------------
 * Hosts without a PMU cannot count guest instructions, so a busy guest
 * makes no exits and virtual time would stall.  The guest reports
 * deterministic work instead: a 32-bit write of N to CC_PORT_PROGRESS
 * says "N units happened" (the patched guest kernel: N system calls or
 * user page faults; the SDK's edge hook: N batches of edges), and the VMM
 * advances virtual time by N * its per-unit cost.  N above
 * CC_PROGRESS_MAX_UNITS is charged as CC_PROGRESS_MAX_UNITS. */
#define CC_PORT_PROGRESS      0x0513
#define CC_PROGRESS_MAX_UNITS 1000000u

/* --- The hypercall protocol (SDK <-> VMM) ---------------------------------
 *
 * One shared page at CC_HYPERCALL_GPA, laid out as struct cc_hc_page.
 * Before boot the VMM writes magic, version and the transport the guest
 * must use; guest programs map the page (and, for the MMIO transport,
 * the doorbell page) through /dev/mem.  A call:
 *
 *   1. take the page's lock (an atomic exchange on `lock`; yield while
 *      another process holds it - one vCPU, so it is never contended
 *      for long),
 *   2. write cmd, len and payload,
 *   3. trigger: CC_HC_TRANSPORT_PIO: outb to CC_PORT_HYPERCALL (guest
 *      kernel, or user space after iopl(3) on hardware KVM);
 *      CC_HC_TRANSPORT_MMIO: a 32-bit write of CC_HC_TRIGGER to
 *      CC_DOORBELL_GPA + CC_DOORBELL_HYPERCALL (user space on PVM, where
 *      port I/O from CPL3 faults even with iopl(3)),
 *   4. read status and result (the VMM answered during the exit), unlock.
 *
 * (No vmcall transport: KVM runs guest hypercalls in the host kernel and
 * refuses them from CPL3, and KVM_CAP_EXIT_HYPERCALL forwards only
 * KVM_HC_MAP_GPA_RANGE - docs/SDK.md.)
 *
 * Payloads: CC_HC_JSON carries one record of the Antithesis SDK schema
 * ("antithesis_assert", "antithesis_setup", "antithesis_sdk", or an
 * event {"name": {details}}) as UTF-8 JSON text of `len` bytes; the
 * numeric commands carry struct cc_hc_choice.  The VMM never trusts a
 * field: a bad magic, version, command, length or JSON text gets an error
 * status and nothing else.
 */
#define CC_HC_MAGIC	      0x43484343u /* "CCHC" */
#define CC_HC_VERSION	      1u
#define CC_HC_TRANSPORT_PIO   1u
#define CC_HC_TRANSPORT_MMIO  2u
#define CC_DOORBELL_HYPERCALL 0x18
#define CC_DOORBELL_COVERAGE  0x20	  /* MMIO twin of CC_PORT_COVERAGE */
#define CC_HC_TRIGGER	      0x48435452u /* "RTCH" */

enum cc_hc_cmd {
	CC_HC_NOP = 0,	    /* answers CC_HC_OK: a transport check */
	CC_HC_JSON = 1,	    /* one Antithesis-schema record */
	CC_HC_RANDOM = 2,   /* result = 64 random bits */
	CC_HC_CHOICE = 3,   /* result = a choice in [0, n) */
	CC_HC_COVERAGE = 4, /* the bitmap is live (as CC_PORT_COVERAGE) */
};

enum cc_hc_status {
	CC_HC_OK = 0,
	CC_HC_EBADMAGIC = 1,	     /* page not initialised by this protocol */
	CC_HC_EVERSION = 2,	     /* the guest speaks another version */
	CC_HC_ECMD = 3,		     /* unknown command */
	CC_HC_ELEN = 4,		     /* payload length out of range */
	CC_HC_EPAYLOAD = 5,	     /* payload malformed (bad JSON, n = 0) */
	CC_HC_PENDING = 0xffffffffu, /* written by the guest before a call */
};

#define CC_HC_HEADER_SIZE 64u
#define CC_HC_PAYLOAD_MAX (4096u - CC_HC_HEADER_SIZE)

struct cc_hc_page {
	unsigned int magic;	/* VMM: CC_HC_MAGIC */
	unsigned int version;	/* VMM: CC_HC_VERSION */
	unsigned int transport; /* VMM: CC_HC_TRANSPORT_* */
	unsigned int lock;	/* guests: 0 free, 1 held */
	unsigned int cmd;	/* guest: enum cc_hc_cmd */
	unsigned int len;	/* guest: payload bytes */
	unsigned int status;	/* VMM: enum cc_hc_status */
	unsigned int pad;
	unsigned long long result; /* VMM: the answer of numeric commands */
	unsigned long long calls;  /* VMM: hypercalls served so far */
	unsigned char reserved[CC_HC_HEADER_SIZE - 48];
	unsigned char payload[CC_HC_PAYLOAD_MAX];
};

/* CC_HC_CHOICE's payload: choose in [0, n).  CC_HC_RANDOM has none. */
struct cc_hc_choice {
	unsigned long long n;
};

/* --- Coverage: AFL-style edges in the bitmap at CC_COVERAGE_GPA ------------
 * Edge = (prev ^ cur) mod CC_COVERAGE_SIZE with prev = cur >> 1 after each
 * edge; counters are 8-bit and saturate at 255.  Location ids come from
 * FNV-1a (below) of the guard's module and index, so they are the same
 * in every run. */
#define CC_COVERAGE_EDGES CC_COVERAGE_SIZE

/* --- Assertion ids: FNV-1a (64-bit) of the source location string ------- */
#define CC_FNV1A_OFFSET 0xcbf29ce484222325ull
#define CC_FNV1A_PRIME	0x100000001b3ull

static inline unsigned long long cc_fnv1a(const char *s)
{
	unsigned long long h = CC_FNV1A_OFFSET;
	while (*s) {
		h ^= (unsigned char)*s++;
		h *= CC_FNV1A_PRIME;
	}
	return h;
}

#endif /* CHAOSCONTROL_PROTOCOL_H */
