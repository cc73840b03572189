#define _GNU_SOURCE
#include "platform.h"

#include <cpuid.h>
#include <elf.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chaoscontrol/protocol.h"
#include "vm.h"

#define PROBE_LOAD  0x100000ull
#define PROBE_PORT  0x514
#define PROBE_LOOPS 20000u
#define PROBE_EXITS 200u
#define MAX_MARKS   (PROBE_EXITS + 4)
/* Native CPL0 runs a dec/jnz iteration in ~0.3-1 ns (5 ns nested under
 * QEMU TCG); PVM's emulator takes ~1-2 us.  Only doctor's report uses
 * this line: the kind is decided by CPUID's behaviour (decide()). */
#define EMULATED_NS_PER_ITER 20.0

static const char signature[12] = "CCprobeCCprb";

const char *cc_platform_name(enum cc_platform_kind k)
{
	return k == CC_PLATFORM_PVM ? "PVM (software KVM, guest kernel "
				      "emulated)"
				    : "hardware KVM";
}

static const char *const pvm_limits[] = {
	"user-space rdtsc/rdtscp read the host TSC",
	"user-space rdrand/rdseed/cpuid reach the host CPU",
	"CPUID leaf 7 (RDSEED, AVX2, AVX-512) and RDRAND pass through from "
	"the host even for the emulated kernel; the kernel command line "
	"hides them",
	"user-space port I/O faults (#GP); the SDK uses an MMIO doorbell",
	"syscall needs the guest kernel's PVM route (cc_pvm_syscall)",
	NULL,
};
static const char *const no_limits[] = {NULL};

bool cc_platform_host_is_tcg(void)
{
	unsigned a, sig[3];
	/* Leaf 1 ECX bit 31: running under a hypervisor at all. */
	if (!__get_cpuid(1, &a, &sig[0], &sig[1], &sig[2]) ||
	    !(sig[1] >> 31 & 1))
		return false;
	__cpuid(0x40000000, a, sig[0], sig[1], sig[2]);
	return memcmp(sig, "TCGTCGTCGTCG", 12) == 0;
}

uint8_t cc_platform_tr_type(uint8_t type)
{
	static int tcg = -1; /* a host fact: asked once */
	if (tcg < 0)
		tcg = cc_platform_host_is_tcg();
	return tcg && type == 11 ? 9 : type;
}

const char *const *cc_platform_limits(enum cc_platform_kind k)
{
	return k == CC_PLATFORM_PVM ? pvm_limits : no_limits;
}

/* Wraps raw 64-bit code in a one-segment ELF loaded at 1 MiB. */
static size_t make_elf(uint8_t *buf, size_t cap, const uint8_t *code,
		       size_t len)
{
	Elf64_Ehdr eh = {0};
	Elf64_Phdr ph = {0};
	size_t off = sizeof(eh) + sizeof(ph);
	if (off + len > cap)
		return 0;
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = PROBE_LOAD;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(ph);
	eh.e_phnum = 1;
	ph.p_type = PT_LOAD;
	ph.p_flags = PF_R | PF_X;
	ph.p_offset = off;
	ph.p_vaddr = ph.p_paddr = PROBE_LOAD;
	ph.p_filesz = ph.p_memsz = len;
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), &ph, sizeof(ph));
	memcpy(buf + off, code, len);
	return off + len;
}

struct marks {
	uint64_t t[MAX_MARKS];
	uint32_t v[MAX_MARKS];
	unsigned n;
};

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void mark(void *ctx, uint16_t port, uint32_t val)
{
	struct marks *m = ctx;
	if (port == PROBE_PORT && m->n < MAX_MARKS) {
		m->v[m->n] = val;
		m->t[m->n++] = wall_ns();
	}
}

static int run_probe(const uint8_t *code, size_t len, struct marks *m,
		     struct cc_vm_result *res, struct cc_err *err)
{
	uint8_t elf[512];
	size_t n = make_elf(elf, sizeof(elf), code, len);
	struct cc_vm_config cfg = {
		.kernel_image = elf,
		.kernel_image_len = n,
		.mem_size = CC_MEM_MIN,
		.serial_fd = -1,
		.max_exits = 10000,
		.cpuid_signature = signature,
		.pio_hook = mark,
		.hook_ctx = m,
	};
	struct cc_vm *vm;
	if (cc_vm_create(&vm, &cfg, err))
		return -1;
	int rc = cc_vm_run(vm, res);
	cc_vm_destroy(vm);
	if (rc || res->stop != CC_STOP_EXIT_PORT)
		return cc_err_set(err, "platform probe guest failed: %s",
				  res->msg);
	return 0;
}

#define L1_ECX_RDRAND (1u << 30)
#define L7_EBX_RDSEED (1u << 18)

/* The host's RDRAND and RDSEED bits: what a CPUID that ignores our table
 * shows the guest. */
static uint32_t host_random_bits(uint32_t *l1_ecx, uint32_t *l7_ebx)
{
	unsigned a, b, c, d;
	*l1_ecx = *l7_ebx = 0;
	if (__get_cpuid_count(1, 0, &a, &b, &c, &d))
		*l1_ecx = c & L1_ECX_RDRAND;
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d))
		*l7_ebx = b & L7_EBX_RDSEED;
	return *l1_ecx | *l7_ebx;
}

/*
 * Does KVM_SET_CPUID2 take effect?  The guest reads back our signature
 * leaf and the RDRAND and RDSEED bits our table clears (cpu.c).  PVM's
 * CPUID emulation answers the signature from our table but passes RDRAND
 * and leaf 7 through from the host (measured): a bit we cleared that
 * comes back is the function that tells PVM from hardware KVM.
 */
static int probe_cpuid(struct cc_platform *p, struct cc_err *err)
{
#define CPUID_TO_PROBE(leaf, mov_reg)                                          \
	0xb8, (leaf)&0xff, ((leaf) >> 8) & 0xff, ((leaf) >> 16) & 0xff,        \
		((leaf) >> 24) & 0xff,	/* mov eax, leaf */                    \
		0x31, 0xc9,		/* xor ecx, ecx */                     \
		0x0f, 0xa2,		/* cpuid */                            \
		0x89, (mov_reg),	/* mov eax, ebx|ecx */                 \
		0x66, 0xba, 0x14, 0x05, /* mov dx, PROBE_PORT */               \
		0xef			/* out dx, eax */
	static const uint8_t code[] = {
		CPUID_TO_PROBE(0x40000000u, 0xd8), /* signature (EBX) */
		CPUID_TO_PROBE(1u, 0xc8),	   /* leaf 1 ECX */
		CPUID_TO_PROBE(7u, 0xd8),	   /* leaf 7.0 EBX */
		0x66,
		0xba,
		0x12,
		0x05, /* mov dx, CC_PORT_EXIT */
		0x31,
		0xc0, /* xor eax, eax */
		0xef, /* out dx, eax */
		0xf4, /* hlt */
	};
#undef CPUID_TO_PROBE
	struct marks m = {0};
	struct cc_vm_result res;
	if (run_probe(code, sizeof(code), &m, &res, err))
		return -1;
	if (m.n != 3)
		return cc_err_set(err,
				  "platform probe: saw %u of 3 CPUID "
				  "answers",
				  m.n);
	uint32_t want, l1, l7;
	memcpy(&want, signature, 4);
	p->cpuid_telling = host_random_bits(&l1, &l7) != 0;
	p->cpuid_passthrough =
		(m.v[1] & L1_ECX_RDRAND) || (m.v[2] & L7_EBX_RDSEED);
	p->cpuid_signature = m.v[0] == want;
	p->cpuid_filtering = p->cpuid_signature && !p->cpuid_passthrough;
	return 0;
}

/* Marks, a CPL0 loop, a mark, then PROBE_EXITS back-to-back exits. */
static int probe_speed(struct cc_platform *p, struct cc_err *err)
{
	uint8_t code[] = {
		0x66, 0xba, 0x14, 0x05,	   /* mov dx, PROBE_PORT */
		0xef,			   /* out dx, eax       (mark 0) */
		0xb9, 0,    0,	  0,	0, /* mov ecx, LOOPS */
		0xff, 0xc9,		   /* 1: dec ecx */
		0x75, 0xfc,		   /* jnz 1b */
		0xef,			   /* out dx, eax       (mark 1) */
		0xb9, 0,    0,	  0,	0, /* mov ecx, EXITS */
		0xef,			   /* 2: out dx, eax */
		0xff, 0xc9,		   /* dec ecx */
		0x75, 0xfb,		   /* jnz 2b */
		0x66, 0xba, 0x12, 0x05,	   /* mov dx, CC_PORT_EXIT */
		0x31, 0xc0,		   /* xor eax, eax */
		0xef,			   /* out dx, eax */
		0xf4,			   /* hlt */
	};
	uint32_t loops = PROBE_LOOPS, exits = PROBE_EXITS;
	memcpy(code + 6, &loops, 4);
	memcpy(code + 16, &exits, 4);
	struct marks m = {0};
	struct cc_vm_result res;
	if (run_probe(code, sizeof(code), &m, &res, err))
		return -1;
	if (m.n != PROBE_EXITS + 2)
		return cc_err_set(err, "platform probe: saw %u of %u marks",
				  m.n, PROBE_EXITS + 2);
	p->cpl0_ns_per_iter = (double)(m.t[1] - m.t[0]) / PROBE_LOOPS;
	p->exit_us = (double)(m.t[m.n - 1] - m.t[1]) / PROBE_EXITS / 1000.0;
	p->cpl0_native = p->cpl0_ns_per_iter < EMULATED_NS_PER_ITER;
	return 0;
}

/*
 * The kind is decided by function, never by speed: a loaded or nested
 * hardware host can run the CPL0 loop slowly, and taking it for PVM gave
 * it PVM's command line and defaults.  CPUID that ignores our table is
 * PVM (or something that behaves like it); where the host has neither
 * RDRAND nor RDSEED the experiment cannot tell, and the kvm_pvm module
 * decides.  The timing figures are only reported.
 */
static enum cc_platform_kind decide(const struct cc_platform *p)
{
	if (!p->cpuid_filtering)
		return CC_PLATFORM_PVM;
	if (!p->cpuid_telling && p->pvm_module)
		return CC_PLATFORM_PVM;
	return CC_PLATFORM_HARDWARE;
}

int cc_platform_probe(struct cc_platform *p, struct cc_err *err)
{
	memset(p, 0, sizeof(*p));
	p->pvm_module = access("/sys/module/kvm_pvm", F_OK) == 0;
	if (probe_cpuid(p, err) || probe_speed(p, err))
		return -1;
	p->kind = decide(p);
	return 0;
}
