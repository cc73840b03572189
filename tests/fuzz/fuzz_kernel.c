/*
 * Fuzz target: kernel images.  A user's --kernel file is arbitrary bytes;
 * parsing and placing it must never read or write out of bounds.
 */
#include <stddef.h>
#include <stdint.h>

#include "vmm/kernel.h"
#include "base/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct cc_mem mem;
	struct cc_err err;
	if (!mem.host && cc_mem_init(&mem, CC_MEM_MIN, &err))
		return 0;
	struct cc_kernel k;
	if (cc_kernel_parse(&k, data, len, &err) == 0)
		cc_kernel_place(&k, &mem, &err);
	return 0;
}
