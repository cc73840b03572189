/* Boot set-up: E820 map, zero page, command line, initrd placement. */
#include <asm/bootparam.h>
#include <criterion/criterion.h>
#include <string.h>

#include "chaoscontrol/protocol.h"
#include "vmm/boot.h"
#include "vmm/e820.h"
#include "vmm/platform.h"

Test(e820, reserves_coverage_clock_and_hypercall_pages)
{
	struct cc_e820 m;
	cc_e820_build(&m, 256ull << 20);
	bool cov = false, hc = false, clk = false;
	uint64_t ram = 0;
	for (unsigned i = 0; i < m.n; i++) {
		if (m.e[i].addr == CC_COVERAGE_GPA &&
		    m.e[i].size == CC_COVERAGE_SIZE &&
		    m.e[i].type == CC_E820_RESERVED)
			cov = true;
		if (m.e[i].addr == CC_HYPERCALL_GPA &&
		    m.e[i].size == CC_HYPERCALL_SIZE &&
		    m.e[i].type == CC_E820_RESERVED)
			hc = true;
		if (m.e[i].addr == CC_CLOCK_GPA &&
		    m.e[i].size == CC_CLOCK_SIZE &&
		    m.e[i].type == CC_E820_RESERVED)
			clk = true;
		if (m.e[i].type == CC_E820_RAM)
			ram += m.e[i].size;
		/* No usable range may overlap a reserved one. */
		for (unsigned j = 0; j < i; j++)
			cr_assert(m.e[j].addr + m.e[j].size <= m.e[i].addr,
				  "entries %u and %u overlap", j, i);
	}
	cr_assert(cov && hc && clk);
	cr_assert_eq(m.e[m.n - 1].addr + m.e[m.n - 1].size, 256ull << 20);
	cr_assert(ram > (255ull << 20));
}

/* A minimal ELF kernel description, placed by hand. */
static struct cc_kernel tiny_kernel(void)
{
	static const uint8_t code[16] = {0xf4};
	struct cc_kernel k = {0};
	k.kind = CC_KERNEL_ELF;
	k.entry = 0x1000000;
	k.seg[0] = (struct cc_kernel_seg){0x1000000, 0, 16, 0x100000};
	k.nseg = 1;
	k.end = 0x1100000;
	k.initrd_max = 0x7fffffff;
	k.cmdline_max = 2047;
	k.data = code;
	k.len = sizeof(code);
	return k;
}

Test(boot, zero_page_cmdline_initrd)
{
	struct cc_mem m;
	struct cc_err e;
	struct cc_boot_info info;
	struct cc_kernel k = tiny_kernel();
	static uint8_t initrd[10000];
	uint8_t seed[CC_BOOT_RNG_SEED_LEN];
	memset(initrd, 0x5a, sizeof(initrd));
	memset(seed, 0xa5, sizeof(seed));
	cr_assert_eq(cc_mem_init(&m, 64 << 20, &e), 0);
	cr_assert_eq(cc_boot_setup(&m, &k, initrd, sizeof(initrd),
				   "console=ttyS0 quiet", seed, &info, &e),
		     0, "%s", e.msg);
	struct boot_params *bp = (void *)(m.host + CC_BOOT_ZERO_PAGE);
	cr_assert_eq(bp->hdr.boot_flag, 0xaa55);
	cr_assert_eq(bp->hdr.cmd_line_ptr, CC_BOOT_CMDLINE);
	cr_assert_str_eq((char *)m.host + CC_BOOT_CMDLINE,
			 "console=ttyS0 quiet");
	cr_assert_eq(bp->hdr.ramdisk_size, sizeof(initrd));
	cr_assert_eq(bp->hdr.ramdisk_image % 4096, 0);
	cr_assert(bp->hdr.ramdisk_image >= 0x1100000);
	cr_assert(bp->hdr.ramdisk_image + sizeof(initrd) <= (64u << 20));
	cr_assert_eq(
		memcmp(m.host + bp->hdr.ramdisk_image, initrd, sizeof(initrd)),
		0);
	cr_assert(bp->e820_entries >= 4);
	cr_assert_eq(info.entry, 0x1000000);
	/* The RNG seed travels as one SETUP_RNG_SEED setup_data entry. */
	cr_assert_eq(bp->hdr.setup_data, CC_BOOT_SETUP_DATA);
	struct setup_data *sd = (void *)(m.host + CC_BOOT_SETUP_DATA);
	cr_assert_eq(sd->type, SETUP_RNG_SEED);
	cr_assert_eq(sd->len, CC_BOOT_RNG_SEED_LEN);
	cr_assert_eq(sd->next, 0);
	cr_assert_eq(memcmp(sd->data, seed, sizeof(seed)), 0);
	cc_mem_free(&m);
}

Test(boot, initrd_does_not_fit)
{
	struct cc_mem m;
	struct cc_err e;
	struct cc_boot_info info;
	struct cc_kernel k = tiny_kernel();
	size_t len = 16 << 20;
	uint8_t *initrd = calloc(1, len);
	cr_assert_eq(cc_mem_init(&m, 24 << 20, &e), 0);
	cr_assert_eq(cc_boot_setup(&m, &k, initrd, len, "", NULL, &info, &e),
		     -1);
	cr_assert(strstr(e.msg, "initrd: 16384 KiB does not fit"), "%s", e.msg);
	cr_assert(strstr(e.msg, "raise --mem"), "%s", e.msg);
	free(initrd);
	cc_mem_free(&m);
}

Test(boot, cmdline_too_long)
{
	struct cc_mem m;
	struct cc_err e;
	struct cc_boot_info info;
	struct cc_kernel k = tiny_kernel();
	char line[3000];
	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = 0;
	cr_assert_eq(cc_mem_init(&m, 32 << 20, &e), 0);
	cr_assert_eq(cc_boot_setup(&m, &k, NULL, 0, line, NULL, &info, &e), -1);
	cr_assert(strstr(e.msg, "command line is 2999 bytes"), "%s", e.msg);
	cc_mem_free(&m);
}

Test(mem, size_limits)
{
	struct cc_mem m;
	struct cc_err e;
	cr_assert_eq(cc_mem_init(&m, 1 << 20, &e), -1);
	cr_assert(strstr(e.msg, "too small"), "%s", e.msg);
	cr_assert_eq(cc_mem_init(&m, (16 << 20) + 1, &e), -1);
	cr_assert(strstr(e.msg, "multiple of 4 KiB"), "%s", e.msg);
	cr_assert_null(cc_mem_ptr(&(struct cc_mem){.size = 4096}, 4000, 100));
}

/* The restored TR type: unchanged on every real CPU (KVM's busy TSS goes
 * back as it came), available only under QEMU's TCG, whose port-I/O check
 * wants type 9 (cc_platform_tr_type()).  The unit tier runs on both. */
Test(platform, tr_type_changes_only_under_tcg)
{
	bool tcg = cc_platform_host_is_tcg();
	cr_assert_eq(cc_platform_tr_type(11), tcg ? 9 : 11);
	cr_assert_eq(cc_platform_tr_type(9), 9);
	cr_assert_eq(cc_platform_tr_type(3), 3); /* 16-bit busy: untouched */
}
