/*
 * libchaoscontrol, coverage: the hooks of instrumented guest programs.
 *
 * Clang's -fsanitize-coverage=trace-pc-guard calls the guard hooks at
 * every edge; GCC's -fsanitize-coverage=trace-pc calls
 * __sanitizer_cov_trace_pc at every basic block.  Either way an edge
 * becomes an AFL-style counter: map[(prev ^ cur) % 64 Ki]++, saturating
 * at 255, prev = cur >> 1 (per thread).  `cur` is a location id that is
 * the same in every run: for guards, FNV-1a of the module's guard count
 * and the guard's index; for trace-pc, a hash of the return address
 * (static binaries, no ASLR in our guests).  In a ChaosControl VM the map
 * is the VM's coverage bitmap (CC_COVERAGE_GPA), read by the VMM.
 *
 * Every CC_SDK_EDGES_PER_YIELD edges the hook makes one cheap system
 * call: the patched guest kernel counts system calls as deterministic
 * progress, so a pure spin still sees virtual time pass (docs/
 * DETERMINISM.md).  This file must not be instrumented itself.
 */
#include <stdint.h>

#include "chaoscontrol/protocol.h"
#include "sdk_internal.h"
#include "sys.h"

#define CC_SDK_EDGES_PER_YIELD 4096u

static uint8_t private_map[CC_COVERAGE_SIZE];
static uint8_t *map = private_map;
#ifdef CC_SDK_FREESTANDING
/* libvoidstar may be dlopen()ed, and a dlopen()ed library's thread-local
 * storage needs its loader's help (__tls_get_addr), which is libc.  One
 * predecessor per process then: threads' edges interleave, an
 * imprecision of the bitmap, never a crash. */
static uint32_t prev;
static unsigned long edges;
#else
static __thread uint32_t prev;
static __thread unsigned long edges;
#endif
static uint32_t modules;

void cc_cov_attach(uint8_t *m)
{
	map = m;
}

void cc_cov_edge(uint32_t cur)
{
	uint8_t *c = &map[(cur ^ prev) % CC_COVERAGE_SIZE];
	if (*c != 255)
		(*c)++;
	prev = cur >> 1;
	if (++edges % CC_SDK_EDGES_PER_YIELD == 0)
		cc_sys_getppid();
}

static uint32_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (uint32_t)x;
}

#define HOOK __attribute__((visibility("default")))

HOOK void __sanitizer_cov_trace_pc_guard_init(uint32_t *start, uint32_t *stop);
HOOK void __sanitizer_cov_trace_pc_guard_init(uint32_t *start, uint32_t *stop)
{
	if (start == stop || *start)
		return; /* empty, or this module is done */
	uint32_t module = ++modules;
	for (uint32_t *g = start; g < stop; g++) {
		uint64_t key[2] = {module, (uint64_t)(g - start)};
		uint64_t h = CC_FNV1A_OFFSET;
		for (unsigned i = 0; i < sizeof(key); i++) {
			h ^= ((const uint8_t *)key)[i];
			h *= CC_FNV1A_PRIME;
		}
		*g = (uint32_t)h | 1; /* 0 means "not initialised" */
	}
}

void __sanitizer_cov_trace_pc_guard(uint32_t *guard);
void __sanitizer_cov_trace_pc_guard(uint32_t *guard)
{
	cc_cov_edge(*guard);
}

void __sanitizer_cov_trace_pc(void);
void __sanitizer_cov_trace_pc(void)
{
	cc_cov_edge(mix((uint64_t)(uintptr_t)__builtin_return_address(0)));
}
