/* Prints what CPL0 code sees of the CPU model and AVX2, for the
 * --cpuid-fixed-model and --cpuid-hide-avx tests. */
#include "micro.h"

static long leaf(long which)
{
	uint32_t a, b, c, d;
	__asm__ volatile("cpuid"
			 : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
			 : "a"((uint32_t)which), "c"(0));
	return which == 1 ? (long)a : (long)(b >> 5 & 1);
}

void micro_main(void)
{
	rt_puts("signature: ");
	rt_put_hex((uint64_t)rt_kernel(leaf, 1));
	rt_puts("\navx2: ");
	rt_put_u64((uint64_t)rt_kernel(leaf, 7));
	rt_puts("\n");
}
