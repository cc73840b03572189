#define _GNU_SOURCE
#include "snapfile.h"

#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include "kernel.h"
#include "vm.h"
#include "../base/file.h"

/* Guest RAM is mostly zero pages and code: level 1 is ~as small as 3 at
 * a fraction of the time. */
#define ZSTD_LEVEL  1
#define MAX_CONSOLE CC_CONSOLE_MAX
/* An overlay of up to 64 GiB: far beyond any guest disk we run. */
#define MAX_DISK_PAGES (16ull << 20)

static uint64_t header_hash(struct cc_snapfile_header h)
{
	h.header_hash = 0;
	return XXH3_64bits(&h, sizeof(h));
}

/* z holding len compressed bytes, or NULL (z freed) if rc is an error. */
static uint8_t *zstd_result(uint8_t *z, size_t rc, size_t len, size_t *zlen,
			    struct cc_err *err)
{
	if (ZSTD_isError(rc)) {
		free(z);
		cc_err_set(err, "snapshot file: zstd: %s",
			   ZSTD_getErrorName(rc));
		return NULL;
	}
	*zlen = len;
	return z;
}

/* Guest RAM, page by page (pages may be shared with other snapshots),
 * as one zstd frame. */
static uint8_t *compress_ram(const struct cc_snapshot *s, size_t *zlen,
			     struct cc_err *err)
{
	size_t cap = ZSTD_compressBound(s->ram_size);
	uint8_t *z = malloc(cap);
	ZSTD_CCtx *c = ZSTD_createCCtx();
	if (!z || !c) {
		free(z);
		ZSTD_freeCCtx(c);
		cc_err_set(err, "snapshot file: out of memory");
		return NULL;
	}
	ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, ZSTD_LEVEL);
	ZSTD_outBuffer out = {z, cap, 0};
	uint64_t npages = s->ram_size / CC_PAGE_SIZE;
	size_t rc = 0;
	for (uint64_t i = 0; i < npages && !ZSTD_isError(rc); i++) {
		ZSTD_inBuffer in = {cc_snapshot_page(s, i), CC_PAGE_SIZE, 0};
		ZSTD_EndDirective end =
			i + 1 == npages ? ZSTD_e_end : ZSTD_e_continue;
		do
			rc = ZSTD_compressStream2(c, &out, &in, end);
		while (!ZSTD_isError(rc) &&
		       (in.pos < in.size || (end == ZSTD_e_end && rc)));
	}
	ZSTD_freeCCtx(c);
	return zstd_result(z, rc, out.pos, zlen, err);
}

/* The disk overlay: page numbers, then pages, as one zstd frame. */
static uint8_t *compress_disk(const struct cc_snapshot *s, size_t *zlen,
			      struct cc_err *err)
{
	uint64_t n = s->disk.n, raw = n * (8 + CC_DISK_PAGE);
	uint8_t *buf = malloc(raw ? raw : 1);
	size_t cap = ZSTD_compressBound(raw);
	uint8_t *z = malloc(cap);
	if (!buf || !z) {
		free(buf);
		free(z);
		cc_err_set(err, "snapshot file: out of memory");
		return NULL;
	}
	for (uint64_t i = 0; i < n; i++) {
		memcpy(buf + 8 * i, &s->disk.slot[i].index, 8);
		memcpy(buf + 8 * n + i * CC_DISK_PAGE,
		       s->disk.slot[i].page->data, CC_DISK_PAGE);
	}
	size_t rc = ZSTD_compress(z, cap, buf, raw, ZSTD_LEVEL);
	free(buf);
	return zstd_result(z, rc, rc, zlen, err);
}

/* Where the durable disk differs from the overlay (disk.h), as one zstd
 * frame: (page, has-data) pairs, then the pages that have data. */
static uint8_t *compress_unflushed(const struct cc_snapshot *s, uint64_t *m,
				   size_t *zlen, struct cc_err *err)
{
	uint64_t n = s->disk.n;
	uint64_t *index = malloc((n ? n : 1) * sizeof(*index));
	const struct cc_disk_page **page = malloc((n ? n : 1) * sizeof(*page));
	uint8_t *buf = NULL, *z = NULL;
	size_t cap = 0, raw = 0;
	*m = index && page ? cc_disk_snap_unflushed(&s->disk, index, page) : 0;
	if (index && page) {
		raw = *m * 16;
		for (uint64_t k = 0; k < *m; k++)
			raw += page[k] ? CC_DISK_PAGE : 0;
		buf = malloc(raw ? raw : 1);
		cap = ZSTD_compressBound(raw);
		z = malloc(cap);
	}
	if (!buf || !z) {
		free(index);
		free(page);
		free(buf);
		free(z);
		cc_err_set(err, "snapshot file: out of memory");
		return NULL;
	}
	uint8_t *data = buf + *m * 16;
	for (uint64_t k = 0; k < *m; k++) {
		uint64_t has = page[k] != NULL;
		memcpy(buf + 16 * k, &index[k], 8);
		memcpy(buf + 16 * k + 8, &has, 8);
		if (has) {
			memcpy(data, page[k]->data, CC_DISK_PAGE);
			data += CC_DISK_PAGE;
		}
	}
	size_t rc = ZSTD_compress(z, cap, buf, raw, ZSTD_LEVEL);
	free(index);
	free(page);
	free(buf);
	return zstd_result(z, rc, rc, zlen, err);
}

int cc_snapfile_save(const char *path, const struct cc_snapshot *s,
		     const char *console, size_t console_len,
		     struct cc_err *err)
{
	/* What check_header would refuse is never written. */
	if (console_len > MAX_CONSOLE)
		return cc_err_set(err,
				  "snapshot file %s: a console of %zu bytes "
				  "(a snapshot holds %llu)",
				  path, console_len,
				  (unsigned long long)MAX_CONSOLE);
	size_t zlen, dzlen;
	uint8_t *z = compress_ram(s, &zlen, err);
	if (!z)
		return -1;
	uint8_t *dz = compress_disk(s, &dzlen, err);
	if (!dz) {
		free(z);
		return -1;
	}
	uint64_t unflushed;
	size_t uzlen;
	uint8_t *uz = compress_unflushed(s, &unflushed, &uzlen, err);
	if (!uz) {
		free(z);
		free(dz);
		return -1;
	}
	struct cc_snapfile_header h;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, CC_SNAPFILE_MAGIC, 8);
	h.version = CC_SNAPFILE_VERSION;
	h.header_size = sizeof(h);
	h.ram_size = s->ram_size;
	h.vcpu_size = sizeof(s->vcpu);
	h.trace_size = sizeof(s->trace);
	h.devices_size = s->devices_len;
	h.console_size = console_len;
	h.ram_zsize = zlen;
	h.has_disk = s->has_disk;
	h.disk_pages = s->disk.n;
	h.disk_zsize = dzlen;
	h.unflushed_pages = unflushed;
	h.unflushed_zsize = uzlen;
	snprintf(h.layout, sizeof(h.layout), "%s", cc_vm_state_layout());
	XXH3_state_t *x = XXH3_createState();
	XXH3_64bits_reset(x);
	XXH3_64bits_update(x, &s->vcpu, sizeof(s->vcpu));
	XXH3_64bits_update(x, &s->trace, sizeof(s->trace));
	XXH3_64bits_update(x, s->devices, s->devices_len);
	XXH3_64bits_update(x, console, console_len);
	XXH3_64bits_update(x, z, zlen);
	XXH3_64bits_update(x, dz, dzlen);
	XXH3_64bits_update(x, uz, uzlen);
	h.payload_hash = XXH3_64bits_digest(x);
	XXH3_freeState(x);
	h.header_hash = header_hash(h);

	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		free(z);
		free(dz);
		free(uz);
		return cc_err_errno(err, "snapshot file %s", tmp);
	}
	int bad = cc_write_all(fd, &h, sizeof(h)) ||
		  cc_write_all(fd, &s->vcpu, sizeof(s->vcpu)) ||
		  cc_write_all(fd, &s->trace, sizeof(s->trace)) ||
		  cc_write_all(fd, s->devices, s->devices_len) ||
		  cc_write_all(fd, console, console_len) ||
		  cc_write_all(fd, z, zlen) || cc_write_all(fd, dz, dzlen) ||
		  cc_write_all(fd, uz, uzlen) || fsync(fd) < 0;
	free(z);
	free(dz);
	free(uz);
	if (close(fd) < 0 || bad || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return cc_err_errno(err, "writing snapshot file %s", path);
	}
	return 0;
}

/* Reads the whole file; checks the header before trusting any size. */
static int read_file(const char *path, uint8_t **buf, size_t *len,
		     struct cc_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return cc_err_errno(err, "snapshot file %s", path);
	}
	*len = (size_t)st.st_size;
	*buf = malloc(*len ? *len : 1);
	size_t got = 0;
	while (*buf && got < *len) {
		ssize_t n = read(fd, *buf + got, *len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!*buf || got != *len) {
		free(*buf);
		return cc_err_set(err, "snapshot file %s: read failed", path);
	}
	return 0;
}

static int check_header(const char *path, const struct cc_snapfile_header *h,
			size_t len, struct cc_err *err)
{
	if (len < sizeof(*h) || memcmp(h->magic, CC_SNAPFILE_MAGIC, 8))
		return cc_err_set(err, "%s: not a ChaosControl snapshot file",
				  path);
	if (h->version != CC_SNAPFILE_VERSION)
		return cc_err_set(err,
				  "%s: snapshot format version %u; this "
				  "build reads version %u",
				  path, h->version, CC_SNAPFILE_VERSION);
	if (h->header_size != sizeof(*h) || header_hash(*h) != h->header_hash)
		return cc_err_set(err,
				  "%s: corrupt snapshot header "
				  "(checksum mismatch)",
				  path);
	if (h->vcpu_size != sizeof(struct cc_vcpu_state) ||
	    h->trace_size != sizeof(struct cc_trace_state) ||
	    h->devices_size != cc_vm_state_size() ||
	    strncmp(h->layout, cc_vm_state_layout(), sizeof(h->layout)))
		return cc_err_set(err,
				  "%s: written by a build with another "
				  "state layout (%.200s); this build has "
				  "%s",
				  path, h->layout, cc_vm_state_layout());
	if (h->ram_size < CC_MEM_MIN || h->ram_size > CC_MEM_MAX ||
	    h->ram_size % CC_PAGE_SIZE || h->console_size > MAX_CONSOLE)
		return cc_err_set(err, "%s: implausible sizes in the header",
				  path);
	if (h->has_disk > 1 || h->disk_pages > MAX_DISK_PAGES ||
	    (!h->has_disk && h->disk_pages) ||
	    h->unflushed_pages > h->disk_pages)
		return cc_err_set(err,
				  "%s: implausible disk overlay in the "
				  "header",
				  path);
	uint64_t want = sizeof(*h) + h->vcpu_size + h->trace_size +
			h->devices_size + h->console_size + h->ram_zsize +
			h->disk_zsize + h->unflushed_zsize;
	if (h->ram_zsize > len || h->disk_zsize > len ||
	    h->unflushed_zsize > len || want != len)
		return cc_err_set(err,
				  "%s: truncated snapshot file (%zu of "
				  "%llu bytes)",
				  path, len, (unsigned long long)want);
	return 0;
}

int cc_snapfile_ram_size(const char *path, uint64_t *ram_size,
			 struct cc_err *err)
{
	struct cc_snapfile_header h;
	struct stat st;
	FILE *f = fopen(path, "rb");
	if (!f)
		return cc_err_errno(err, "snapshot file %s", path);
	size_t got = fread(&h, 1, sizeof(h), f);
	int bad = fstat(fileno(f), &st) < 0;
	fclose(f);
	if (bad)
		return cc_err_errno(err, "snapshot file %s", path);
	if (check_header(path, &h, got < sizeof(h) ? got : (size_t)st.st_size,
			 err))
		return -1;
	*ram_size = h.ram_size;
	return 0;
}

/* Decompresses and checks the overlay; NULL when it is sound. */
static const char *load_disk(struct cc_snapshot *s,
			     const struct cc_snapfile_header *h,
			     const uint8_t *z)
{
	uint64_t n = h->disk_pages, raw = n * (8 + CC_DISK_PAGE);
	if (ZSTD_getFrameContentSize(z, h->disk_zsize) != raw)
		return "disk overlay of another size than its header says";
	uint8_t *buf = malloc(raw ? raw : 1);
	if (!buf)
		return "out of memory for the disk overlay";
	size_t got = ZSTD_decompress(buf, raw, z, h->disk_zsize);
	const char *why = NULL;
	if (ZSTD_isError(got) || got != raw)
		why = "disk overlay does not decompress to its size";
	uint64_t prev = 0;
	for (uint64_t i = 0; !why && i < n; i++) {
		uint64_t idx;
		memcpy(&idx, buf + 8 * i, 8);
		if (i && idx <= prev)
			why = "disk overlay pages out of order";
		prev = idx;
	}
	if (!why &&
	    cc_disk_snap_from(&s->disk, (const uint64_t *)buf, buf + 8 * n, n))
		why = "out of memory for the disk overlay";
	free(buf);
	return why;
}

/* Decompresses the durable disk's differences into s->disk; NULL when
 * they are sound (sorted, pages of the overlay, sizes that add up). */
static const char *load_unflushed(struct cc_snapshot *s,
				  const struct cc_snapfile_header *h,
				  const uint8_t *z)
{
	uint64_t m = h->unflushed_pages;
	unsigned long long raw =
		ZSTD_getFrameContentSize(z, h->unflushed_zsize);
	if (raw == ZSTD_CONTENTSIZE_UNKNOWN || raw == ZSTD_CONTENTSIZE_ERROR ||
	    raw < m * 16 || raw > m * (16 + CC_DISK_PAGE))
		return "unflushed disk pages of an implausible size";
	uint8_t *buf = malloc(raw ? raw : 1);
	uint64_t *index = malloc((m ? m : 1) * sizeof(*index));
	uint8_t *present = malloc(m ? m : 1);
	const char *why = NULL;
	if (!buf || !index || !present)
		why = "out of memory for the unflushed disk pages";
	size_t got = why ? 0 : ZSTD_decompress(buf, raw, z, h->unflushed_zsize);
	if (!why && (ZSTD_isError(got) || got != raw))
		why = "unflushed disk pages do not decompress to their size";
	uint64_t with_data = 0;
	for (uint64_t k = 0; !why && k < m; k++) {
		uint64_t has;
		memcpy(&index[k], buf + 16 * k, 8);
		memcpy(&has, buf + 16 * k + 8, 8);
		if (has > 1 || (k && index[k] <= index[k - 1]))
			why = "unflushed disk pages out of order";
		present[k] = (uint8_t)has;
		with_data += has;
	}
	if (!why && raw != m * 16 + with_data * CC_DISK_PAGE)
		why = "unflushed disk pages of an inconsistent size";
	if (!why && cc_disk_snap_unflushed_from(&s->disk, index, present,
						buf + m * 16, m))
		why = "unflushed disk pages that are not in the overlay";
	free(buf);
	free(index);
	free(present);
	return why;
}

/* Whether the file's sizes fit the VM it is for (see the header). */
static int check_fit(const char *path, const struct cc_snapfile_header *h,
		     const struct cc_vm *vm, struct cc_err *err)
{
	if (h->ram_size != vm->mem.size)
		return cc_err_set(err,
				  "%s: the snapshot has %llu MiB of RAM, "
				  "this VM %llu MiB",
				  path, (unsigned long long)(h->ram_size >> 20),
				  (unsigned long long)(vm->mem.size >> 20));
	if (h->has_disk != vm->has_disk)
		return cc_err_set(err,
				  "%s: the snapshot was taken %s a disk, "
				  "this VM has %s",
				  path, h->has_disk ? "with" : "without",
				  vm->has_disk ? "one" : "none");
	uint64_t pages = vm->has_disk ? (vm->blk.disk.size + CC_DISK_PAGE - 1) /
						CC_DISK_PAGE
				      : 0;
	if (h->disk_pages > pages)
		return cc_err_set(err,
				  "%s: corrupt snapshot (a disk overlay of "
				  "%llu pages for a disk of %llu)",
				  path, (unsigned long long)h->disk_pages,
				  (unsigned long long)pages);
	return 0;
}

int cc_snapfile_load(const char *path, const struct cc_vm *fit,
		     struct cc_snapshot **out, char **console,
		     size_t *console_len, struct cc_err *err)
{
	*out = NULL;
	*console = NULL;
	*console_len = 0;
	uint8_t *buf = NULL;
	size_t len = 0;
	if (read_file(path, &buf, &len, err))
		return -1;
	struct cc_snapfile_header h;
	memcpy(&h, buf, len < sizeof(h) ? len : sizeof(h));
	if (check_header(path, &h, len, err) ||
	    (fit && check_fit(path, &h, fit, err))) {
		free(buf);
		return -1;
	}
	const uint8_t *p = buf + sizeof(h);
	if (XXH3_64bits(p, len - sizeof(h)) != h.payload_hash) {
		free(buf);
		return cc_err_set(err,
				  "%s: corrupt snapshot (payload "
				  "checksum mismatch)",
				  path);
	}
	struct cc_snapshot *s = cc_snapshot_alloc(h.ram_size);
	char *con = malloc(h.console_size ? h.console_size : 1);
	if (!s || !con) {
		free(buf);
		free(con);
		cc_snapshot_free(s);
		return cc_err_set(err, "%s: out of memory", path);
	}
	memcpy(&s->vcpu, p, sizeof(s->vcpu));
	p += sizeof(s->vcpu);
	memcpy(&s->trace, p, sizeof(s->trace));
	p += sizeof(s->trace);
	memcpy(s->devices, p, s->devices_len);
	p += s->devices_len;
	memcpy(con, p, h.console_size);
	p += h.console_size;
	size_t n = ZSTD_decompress(s->own, s->ram_size, p, h.ram_zsize);
	const char *bad_disk = NULL;
	s->has_disk = h.has_disk;
	if (!ZSTD_isError(n))
		bad_disk = load_disk(s, &h, p + h.ram_zsize);
	if (!ZSTD_isError(n) && !bad_disk)
		bad_disk =
			load_unflushed(s, &h, p + h.ram_zsize + h.disk_zsize);
	free(buf);
	if (bad_disk) {
		free(con);
		cc_snapshot_free(s);
		return cc_err_set(err, "%s: corrupt snapshot (%s)", path,
				  bad_disk);
	}
	if (ZSTD_isError(n) || n != s->ram_size ||
	    s->vcpu.nmsrs > CC_SNAP_MAX_MSRS) {
		free(con);
		cc_snapshot_free(s);
		return cc_err_set(err,
				  "%s: corrupt snapshot (guest memory "
				  "does not decompress to its size)",
				  path);
	}
	*out = s;
	*console = con;
	*console_len = h.console_size;
	return 0;
}
