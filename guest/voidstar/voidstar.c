/*
 * libvoidstar.so for ChaosControl guests: the ABI the official Antithesis
 * SDKs load at run time (dlopen("/usr/lib/libvoidstar.so")), implemented
 * on libchaoscontrol, so a program built for Antithesis runs under
 * ChaosControl unchanged:
 *
 *   fuzz_json_data(data, size)   one JSON record (assertion, setup, sdk
 *                                info, event) -> a CC_HC_JSON hypercall
 *   fuzz_flush()                 pending coverage out
 *   fuzz_get_random()            64 bits of the VM's seeded stream
 *   __sanitizer_cov_trace_pc_guard_init(start, stop)
 *   __sanitizer_cov_trace_pc_guard_internal(guard)
 *                                coverage of the instrumented program,
 *                                forwarded by its SDK's SanCov shims
 *   init_coverage_module(edges, symbols) / notify_coverage(edge)
 *                                the same through Antithesis' own
 *                                instrumentation entry points
 *
 * Outside a ChaosControl VM it degrades like libchaoscontrol: local JSON
 * lines, or nothing.  Freestanding (built with CC_SDK_FREESTANDING, no
 * libc, no NEEDED entry): a glibc, musl or Go process can load it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chaoscontrol.h"
#include "chaoscontrol/protocol.h"
#include "sdk_internal.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT void fuzz_json_data(const char *data, size_t size)
{
	if (!data)
		return;
	/* Records arrive one at a time, maybe newline-terminated. */
	while (size && (data[size - 1] == '\n' || data[size - 1] == 0))
		size--;
	if (!size || size > CC_HC_PAYLOAD_MAX)
		return;
	cc_sdk_record(data, (uint32_t)size);
}

EXPORT void fuzz_flush(void)
{
	cc_sdk_flush();
}

EXPORT uint64_t fuzz_get_random(void)
{
	return cc_get_random();
}

void __sanitizer_cov_trace_pc_guard_init(uint32_t *start, uint32_t *stop);

EXPORT void __sanitizer_cov_trace_pc_guard_internal(uint32_t *guard)
{
	if (guard && *guard)
		cc_cov_edge(*guard);
}

static size_t module_base;

EXPORT size_t init_coverage_module(size_t edge_count, const char *symbols)
{
	(void)symbols;
	size_t base = module_base;
	module_base += edge_count;
	return base;
}

EXPORT bool notify_coverage(size_t edge_plus_module)
{
	uint64_t h = CC_FNV1A_OFFSET;
	for (unsigned i = 0; i < sizeof(edge_plus_module); i++) {
		h ^= (edge_plus_module >> (8 * i)) & 0xff;
		h *= CC_FNV1A_PRIME;
	}
	cc_cov_edge((uint32_t)h | 1);
	return true;
}
