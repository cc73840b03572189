#include "mem.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int cc_mem_init(struct cc_mem *mem, uint64_t size, struct cc_err *err)
{
	memset(mem, 0, sizeof(*mem));
	if (size < CC_MEM_MIN)
		return cc_err_set(
			err, "--mem %llu MiB is too small (minimum %llu MiB)",
			(unsigned long long)(size >> 20),
			(unsigned long long)(CC_MEM_MIN >> 20));
	if (size > CC_MEM_MAX)
		return cc_err_set(
			err, "--mem %llu MiB is too large (maximum %llu MiB)",
			(unsigned long long)(size >> 20),
			(unsigned long long)(CC_MEM_MAX >> 20));
	if (size & 0xfff)
		return cc_err_set(err, "--mem must be a multiple of 4 KiB");
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return cc_err_errno(err, "cannot map %llu MiB of guest RAM",
				    (unsigned long long)(size >> 20));
	mem->host = p;
	mem->size = size;
	mem->vmm_dirty = calloc((cc_mem_pages(mem) + 63) / 64, 8);
	if (!mem->vmm_dirty) {
		cc_mem_free(mem);
		return cc_err_set(err, "out of memory for the dirty bitmap");
	}
	return 0;
}

void cc_mem_free(struct cc_mem *mem)
{
	if (mem->host)
		munmap(mem->host, mem->size);
	free(mem->vmm_dirty);
	memset(mem, 0, sizeof(*mem));
}

void *cc_mem_ptr(const struct cc_mem *mem, uint64_t gpa, uint64_t len)
{
	if (gpa > mem->size || len > mem->size - gpa)
		return NULL;
	return mem->host + gpa;
}

bool cc_mem_read(const struct cc_mem *mem, uint64_t gpa, void *dst,
		 uint64_t len)
{
	const void *p = cc_mem_ptr(mem, gpa, len);
	if (!p)
		return false;
	memcpy(dst, p, len);
	return true;
}

void cc_mem_mark_dirty(struct cc_mem *mem, uint64_t gpa, uint64_t len)
{
	if (!len || gpa >= mem->size)
		return;
	uint64_t end = len > mem->size - gpa ? mem->size : gpa + len;
	for (uint64_t pg = gpa / CC_PAGE_SIZE; pg <= (end - 1) / CC_PAGE_SIZE;
	     pg++)
		mem->vmm_dirty[pg / 64] |= 1ull << (pg % 64);
}

bool cc_mem_write(struct cc_mem *mem, uint64_t gpa, const void *src,
		  uint64_t len)
{
	void *p = cc_mem_ptr(mem, gpa, len);
	if (!p)
		return false;
	memcpy(p, src, len);
	cc_mem_mark_dirty(mem, gpa, len);
	return true;
}

#define PTE_P	 (1ull << 0)
#define PTE_PS	 (1ull << 7)
#define PTE_ADDR 0x000ffffffffff000ull

static bool read_pte(const struct cc_mem *mem, uint64_t table, unsigned idx,
		     uint64_t *pte)
{
	return cc_mem_read(mem, (table & PTE_ADDR) + idx * 8ull, pte, 8) &&
	       (*pte & PTE_P);
}

bool cc_mem_translate(const struct cc_mem *mem, uint64_t cr3, uint64_t gva,
		      uint64_t *gpa)
{
	uint64_t pte;
	if (!read_pte(mem, cr3, (gva >> 39) & 511, &pte))
		return false;
	if (!read_pte(mem, pte, (gva >> 30) & 511, &pte))
		return false;
	if (pte & PTE_PS) {
		*gpa = (pte & PTE_ADDR & ~((1ull << 30) - 1)) |
		       (gva & ((1ull << 30) - 1));
		return true;
	}
	if (!read_pte(mem, pte, (gva >> 21) & 511, &pte))
		return false;
	if (pte & PTE_PS) {
		*gpa = (pte & PTE_ADDR & ~((1ull << 21) - 1)) |
		       (gva & ((1ull << 21) - 1));
		return true;
	}
	if (!read_pte(mem, pte, (gva >> 12) & 511, &pte))
		return false;
	*gpa = (pte & PTE_ADDR) | (gva & 0xfff);
	return true;
}
