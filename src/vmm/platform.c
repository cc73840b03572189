#define _GNU_SOURCE
#include "platform.h"

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
/* Native CPL0 runs a dec/jnz iteration in ~0.3-1 ns; PVM's emulator
 * takes ~2 us.  Anything above 20 ns is emulation. */
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
	(void)val;
	if (port == PROBE_PORT && m->n < MAX_MARKS)
		m->t[m->n++] = wall_ns();
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

/* cpuid(0x40000000) and report EBX as the exit status. */
static int probe_cpuid(struct cc_platform *p, struct cc_err *err)
{
	static const uint8_t code[] = {
		0xb8, 0x00, 0x00, 0x00, 0x40, /* mov eax, 0x40000000 */
		0x31, 0xc9,		      /* xor ecx, ecx */
		0x0f, 0xa2,		      /* cpuid */
		0x89, 0xd8,		      /* mov eax, ebx */
		0x66, 0xba, 0x12, 0x05,	      /* mov dx, CC_PORT_EXIT */
		0xef,			      /* out dx, eax */
		0xf4,			      /* hlt */
	};
	struct marks m = {0};
	struct cc_vm_result res;
	if (run_probe(code, sizeof(code), &m, &res, err))
		return -1;
	uint32_t want;
	memcpy(&want, signature, 4);
	p->cpuid_filtering = res.exit_status == want;
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

int cc_platform_probe(struct cc_platform *p, struct cc_err *err)
{
	memset(p, 0, sizeof(*p));
	p->pvm_module = access("/sys/module/kvm_pvm", F_OK) == 0;
	if (probe_cpuid(p, err) || probe_speed(p, err))
		return -1;
	p->kind = (p->cpuid_filtering && p->cpl0_native) ? CC_PLATFORM_HARDWARE
							 : CC_PLATFORM_PVM;
	return 0;
}
