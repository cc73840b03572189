#include "kernel.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Offsets into a bzImage, from the Linux x86 boot protocol. */
#define BZ_SETUP_SECTS	 0x1f1
#define BZ_HDR_START	 0x1f1
#define BZ_JUMP		 0x200
#define BZ_MAGIC	 0x202
#define BZ_VERSION	 0x206
#define BZ_LOADFLAGS	 0x211
#define BZ_INITRD_MAX	 0x22c
#define BZ_KERNEL_ALIGN	 0x230
#define BZ_RELOCATABLE	 0x234
#define BZ_XLOADFLAGS	 0x236
#define BZ_CMDLINE_SIZE	 0x238
#define BZ_PREF_ADDRESS	 0x258
#define BZ_INIT_SIZE	 0x260
#define BZ_HDRS_MAGIC	 0x53726448u /* "HdrS" */
#define BZ_XLF_KERNEL_64 0x1
#define BZ_MIN_VERSION	 0x020c /* 2.12: first with xloadflags */

/* What an ELF vmlinux gets, matching Linux's defaults for x86-64. */
#define ELF_INITRD_MAX	    0x7fffffffull
#define DEFAULT_CMDLINE_MAX 2047u

const char *cc_kernel_kind_name(enum cc_kernel_kind kind)
{
	return kind == CC_KERNEL_ELF ? "ELF vmlinux" : "bzImage";
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int add_seg(struct cc_kernel *k, uint64_t paddr, uint64_t offset,
		   uint64_t filesz, uint64_t memsz, struct cc_err *err)
{
	if (k->nseg == CC_KERNEL_MAX_SEGS)
		return cc_err_set(err, "kernel: more than %d loadable segments",
				  CC_KERNEL_MAX_SEGS);
	if (memsz < filesz || paddr + memsz < paddr)
		return cc_err_set(err, "kernel: malformed segment at 0x%llx",
				  (unsigned long long)paddr);
	k->seg[k->nseg++] =
		(struct cc_kernel_seg){paddr, offset, filesz, memsz};
	if (paddr + memsz > k->end)
		k->end = paddr + memsz;
	return 0;
}

static int parse_elf(struct cc_kernel *k, const uint8_t *d, size_t len,
		     struct cc_err *err)
{
	Elf64_Ehdr eh;
	if (len < sizeof(eh))
		return cc_err_set(err, "kernel: truncated ELF header");
	memcpy(&eh, d, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64)
		return cc_err_set(err,
				  "kernel: ELF is not x86-64 little-endian "
				  "64-bit");
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0)
		return cc_err_set(err, "kernel: ELF has no program headers");
	if (eh.e_phoff > len ||
	    (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
		return cc_err_set(err, "kernel: truncated ELF program headers");
	k->kind = CC_KERNEL_ELF;
	k->entry = eh.e_entry;
	k->initrd_max = ELF_INITRD_MAX;
	k->cmdline_max = DEFAULT_CMDLINE_MAX;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, d + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
			return cc_err_set(err,
					  "kernel: ELF segment %u extends "
					  "past the end of the file "
					  "(truncated?)",
					  i);
		if (add_seg(k, ph.p_paddr, ph.p_offset, ph.p_filesz, ph.p_memsz,
			    err))
			return -1;
	}
	if (k->nseg == 0)
		return cc_err_set(err, "kernel: ELF has no loadable segments");
	for (unsigned i = 0; i < k->nseg; i++) {
		const struct cc_kernel_seg *s = &k->seg[i];
		if (k->entry >= s->paddr && k->entry < s->paddr + s->memsz)
			return 0;
	}
	return cc_err_set(err,
			  "kernel: ELF entry 0x%llx is not a physical "
			  "address inside a loadable segment",
			  (unsigned long long)k->entry);
}

static int parse_bzimage(struct cc_kernel *k, const uint8_t *d, size_t len,
			 struct cc_err *err)
{
	if (len < BZ_INIT_SIZE + 4)
		return cc_err_set(err, "kernel: truncated bzImage header");
	k->kind = CC_KERNEL_BZIMAGE;
	k->boot_version = le16(d + BZ_VERSION);
	if (k->boot_version < BZ_MIN_VERSION)
		return cc_err_set(err,
				  "kernel: bzImage boot protocol %u.%02u "
				  "is too old (need 2.12+)",
				  k->boot_version >> 8, k->boot_version & 0xff);
	if (!(le16(d + BZ_XLOADFLAGS) & BZ_XLF_KERNEL_64))
		return cc_err_set(err, "kernel: bzImage has no 64-bit entry "
				       "point (XLF_KERNEL_64 not set)");
	unsigned setup_sects = d[BZ_SETUP_SECTS] ? d[BZ_SETUP_SECTS] : 4;
	uint64_t off = (uint64_t)(setup_sects + 1) * 512;
	if (off >= len)
		return cc_err_set(err, "kernel: truncated bzImage (setup "
				       "code runs past the end)");
	/* The header ends where the 2-byte jump at 0x200 points. */
	size_t hdr_end = BZ_JUMP + 2 + (size_t)d[BZ_JUMP + 1];
	if (hdr_end > BZ_HDR_START + sizeof(k->setup_hdr))
		hdr_end = BZ_HDR_START + sizeof(k->setup_hdr);
	k->setup_hdr_len = hdr_end - BZ_HDR_START;
	memcpy(k->setup_hdr, d + BZ_HDR_START, k->setup_hdr_len);

	uint64_t load = le64(d + BZ_PREF_ADDRESS);
	uint32_t align = le32(d + BZ_KERNEL_ALIGN);
	if (load < 0x100000 || (align && (load % align)))
		load = 0x1000000;
	uint64_t init_size = le32(d + BZ_INIT_SIZE);
	uint64_t payload = len - off;
	if (init_size < payload)
		init_size = payload;
	k->entry = load + 0x200; /* the 64-bit entry, per the protocol */
	k->initrd_max = le32(d + BZ_INITRD_MAX);
	k->cmdline_max = le32(d + BZ_CMDLINE_SIZE);
	if (!k->cmdline_max)
		k->cmdline_max = DEFAULT_CMDLINE_MAX;
	return add_seg(k, load, off, payload, init_size, err);
}

int cc_kernel_parse(struct cc_kernel *k, const uint8_t *data, size_t len,
		    struct cc_err *err)
{
	memset(k, 0, sizeof(*k));
	k->data = data;
	k->len = len;
	if (len >= 4 && memcmp(data, ELFMAG, SELFMAG) == 0)
		return parse_elf(k, data, len, err);
	if (len >= BZ_MAGIC + 4 && le32(data + BZ_MAGIC) == BZ_HDRS_MAGIC)
		return parse_bzimage(k, data, len, err);
	return cc_err_set(err, "kernel: not an ELF vmlinux nor a bzImage "
			       "(no ELF magic, no \"HdrS\" boot header)");
}

int cc_kernel_load(struct cc_kernel *k, const char *path, struct cc_err *err)
{
	uint8_t *d;
	size_t len;
	if (cc_read_file(path, "kernel", &d, &len, err))
		return -1;
	struct cc_err inner;
	if (cc_kernel_parse(k, d, len, &inner)) {
		free(d);
		return cc_err_set(err, "%s: %s", path, inner.msg);
	}
	k->owned = d;
	return 0;
}

void cc_kernel_free(struct cc_kernel *k)
{
	free(k->owned);
	k->owned = NULL;
	k->data = NULL;
}

int cc_kernel_place(const struct cc_kernel *k, struct cc_mem *mem,
		    struct cc_err *err)
{
	if (k->end > mem->size)
		return cc_err_set(
			err,
			"kernel: needs %llu MiB of guest RAM but "
			"--mem is %llu MiB",
			(unsigned long long)((k->end + (1 << 20) - 1) >> 20),
			(unsigned long long)(mem->size >> 20));
	for (unsigned i = 0; i < k->nseg; i++) {
		const struct cc_kernel_seg *s = &k->seg[i];
		uint8_t *dst = cc_mem_ptr(mem, s->paddr, s->memsz);
		if (!dst || s->paddr < 0x100000)
			return cc_err_set(err,
					  "kernel: segment at 0x%llx "
					  "(%llu bytes) is outside usable "
					  "guest RAM",
					  (unsigned long long)s->paddr,
					  (unsigned long long)s->memsz);
		memcpy(dst, k->data + s->offset, s->filesz);
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
	}
	return 0;
}
