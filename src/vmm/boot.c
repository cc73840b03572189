#include "boot.h"

#include <asm/bootparam.h>
#include <stddef.h>
#include <string.h>

#include "e820.h"

#define LOADER_TYPE_UNDEFINED 0xff
#define BOOT_FLAG	      0xaa55
#define HDRS_MAGIC	      0x53726448u

static void write_gdt(struct cc_mem *mem)
{
	/* null, null, 64-bit code (0x10), flat data (0x18) */
	const uint64_t gdt[4] = {0, 0, 0x00af9b000000ffffull,
				 0x00cf93000000ffffull};
	cc_mem_write(mem, CC_BOOT_GDT, gdt, sizeof(gdt));
}

/* Identity map of the first 1 GiB with 2 MiB pages: all Linux needs
 * before it builds its own tables. */
static void write_page_tables(struct cc_mem *mem)
{
	uint64_t pml4e = CC_BOOT_PDPT | 0x3, pdpte = CC_BOOT_PD | 0x3;
	uint64_t *pd = cc_mem_ptr(mem, CC_BOOT_PD, 4096);
	cc_mem_write(mem, CC_BOOT_PML4, &pml4e, 8);
	cc_mem_write(mem, CC_BOOT_PDPT, &pdpte, 8);
	for (uint64_t i = 0; i < 512; i++)
		pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB */
}

static int place_initrd(struct cc_mem *mem, const struct cc_kernel *k,
			const uint8_t *initrd, size_t len,
			struct cc_boot_info *info, struct cc_err *err)
{
	uint64_t top = mem->size;
	if (k->initrd_max && top > k->initrd_max + 1)
		top = k->initrd_max + 1;
	uint64_t kend = (k->end + 0xfff) & ~0xfffull;
	if (len > top || ((top - len) & ~0xfffull) < kend)
		return cc_err_set(
			err,
			"initrd: %zu KiB does not fit in guest "
			"RAM above the kernel (%llu KiB free "
			"below 0x%llx); raise --mem",
			len >> 10,
			(unsigned long long)((top > kend ? top - kend : 0) >>
					     10),
			(unsigned long long)top);
	uint64_t gpa = (top - len) & ~0xfffull;
	cc_mem_write(mem, gpa, initrd, len);
	info->initrd_gpa = gpa;
	info->initrd_size = len;
	return 0;
}

static void fill_zero_page(struct boot_params *bp, const struct cc_kernel *k,
			   const struct cc_boot_info *info, uint64_t ram)
{
	memset(bp, 0, sizeof(*bp));
	if (k->kind == CC_KERNEL_BZIMAGE)
		memcpy((uint8_t *)bp + 0x1f1, k->setup_hdr, k->setup_hdr_len);
	struct setup_header *h = &bp->hdr;
	h->type_of_loader = LOADER_TYPE_UNDEFINED;
	h->boot_flag = BOOT_FLAG;
	h->header = HDRS_MAGIC;
	h->loadflags |= LOADED_HIGH;
	h->cmd_line_ptr = (uint32_t)CC_BOOT_CMDLINE;
	h->ramdisk_image = (uint32_t)info->initrd_gpa;
	h->ramdisk_size = (uint32_t)info->initrd_size;
	if (k->kind == CC_KERNEL_ELF)
		h->kernel_alignment = 0x1000000;

	struct cc_e820 map;
	cc_e820_build(&map, ram);
	for (unsigned i = 0; i < map.n; i++) {
		bp->e820_table[i].addr = map.e[i].addr;
		bp->e820_table[i].size = map.e[i].size;
		bp->e820_table[i].type = map.e[i].type;
	}
	bp->e820_entries = (uint8_t)map.n;
}

/* One setup_data entry carrying the seed; returns its address. */
static uint64_t write_rng_seed(struct cc_mem *mem, const uint8_t *seed)
{
	struct {
		struct setup_data h;
		uint8_t data[CC_BOOT_RNG_SEED_LEN];
	} sd = {{0, SETUP_RNG_SEED, CC_BOOT_RNG_SEED_LEN}, {0}};
	memcpy(sd.data, seed, CC_BOOT_RNG_SEED_LEN);
	cc_mem_write(mem, CC_BOOT_SETUP_DATA, &sd, sizeof(sd));
	return CC_BOOT_SETUP_DATA;
}

int cc_boot_setup(struct cc_mem *mem, const struct cc_kernel *k,
		  const uint8_t *initrd, size_t initrd_len, const char *cmdline,
		  const uint8_t *rng_seed, struct cc_boot_info *info,
		  struct cc_err *err)
{
	memset(info, 0, sizeof(*info));
	size_t clen = strlen(cmdline);
	uint64_t cmax = k->cmdline_max < CC_BOOT_CMDLINE_MAX - 1
				? k->cmdline_max
				: CC_BOOT_CMDLINE_MAX - 1;
	if (clen > cmax)
		return cc_err_set(err,
				  "command line is %zu bytes; this kernel "
				  "accepts at most %llu",
				  clen, (unsigned long long)cmax);
	if (cc_kernel_place(k, mem, err))
		return -1;
	if (initrd && place_initrd(mem, k, initrd, initrd_len, info, err))
		return -1;
	cc_mem_write(mem, CC_BOOT_CMDLINE, cmdline, clen + 1);
	struct boot_params *bp =
		cc_mem_ptr(mem, CC_BOOT_ZERO_PAGE, sizeof(*bp));
	fill_zero_page(bp, k, info, mem->size);
	if (rng_seed)
		bp->hdr.setup_data = write_rng_seed(mem, rng_seed);
	write_gdt(mem);
	write_page_tables(mem);
	info->entry = k->entry;
	return 0;
}
