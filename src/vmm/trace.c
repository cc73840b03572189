#include "trace.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

struct file_header {
	char magic[8];
	uint32_t version;
	uint32_t record_size;
	uint64_t first; /* index of the first record: a run that started
			   from a snapshot traces from there */
};

/* Written with the first event (or at close), when the run's starting
 * point - boot or a restored snapshot - is known. */
static void write_header(struct cc_trace *t)
{
	struct file_header h = {CC_TRACE_MAGIC, CC_TRACE_VERSION,
				sizeof(struct cc_trace_record), t->st.count};
	if (fwrite(&h, sizeof(h), 1, t->file) != 1)
		t->failed = true;
	t->header_written = true;
}

static const char *const kind_names[] = {
	[CC_EV_PIO_IN] = "pio_in",
	[CC_EV_PIO_OUT] = "pio_out",
	[CC_EV_MMIO_READ] = "mmio_read",
	[CC_EV_MMIO_WRITE] = "mmio_write",
	[CC_EV_HLT] = "hlt",
	[CC_EV_IRQ] = "irq",
	[CC_EV_FIXUP] = "fixup",
	[CC_EV_WATCHDOG] = "watchdog",
	[CC_EV_STOP] = "stop",
	[CC_EV_PROGRESS] = "progress",
};

const char *cc_event_kind_name(uint32_t kind)
{
	if (kind < sizeof(kind_names) / sizeof(kind_names[0]) &&
	    kind_names[kind])
		return kind_names[kind];
	return "?";
}

void cc_event_format(const struct cc_event *ev, char *buf, size_t len)
{
	const char *k = cc_event_kind_name(ev->kind);
	switch (ev->kind) {
	case CC_EV_PIO_IN:
	case CC_EV_PIO_OUT:
	case CC_EV_MMIO_READ:
	case CC_EV_MMIO_WRITE:
		snprintf(buf, len,
			 "%s %s 0x%" PRIx64 " size %u data 0x%" PRIx64, k,
			 ev->kind <= CC_EV_PIO_OUT ? "port" : "addr", ev->a,
			 ev->size, ev->b);
		break;
	default:
		snprintf(buf, len, "%s 0x%" PRIx64 " 0x%" PRIx64, k, ev->a,
			 ev->b);
	}
}

int cc_trace_init(struct cc_trace *t, const char *path, struct cc_err *err)
{
	memset(t, 0, sizeof(*t));
	if (!path)
		return 0;
	t->file = fopen(path, "wb");
	if (!t->file)
		return cc_err_errno(err, "trace file %s", path);
	t->want_rip = true;
	return 0;
}

void cc_trace_add(struct cc_trace *t, const struct cc_event *ev, uint64_t rip)
{
	if (t->file && !t->header_written)
		write_header(t);
	t->st.hash = XXH3_64bits_withSeed(ev, sizeof(*ev), t->st.hash);
	t->st.count++;
	if (!t->file)
		return;
	struct cc_trace_record r = {*ev, rip};
	if (fwrite(&r, sizeof(r), 1, t->file) != 1)
		t->failed = true;
}

uint64_t cc_trace_hash(const struct cc_trace *t)
{
	return t->st.hash;
}

int cc_trace_close(struct cc_trace *t, struct cc_err *err)
{
	int rc = 0;
	if (t->file && !t->header_written)
		write_header(t);
	if (t->file && (fclose(t->file) != 0 || t->failed))
		rc = cc_err_set(err, "trace file: write failed (disk full?)");
	t->file = NULL;
	return rc;
}

int cc_trace_load(const char *path, struct cc_trace_record **recs, uint64_t *n,
		  uint64_t *first, struct cc_err *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return cc_err_errno(err, "trace file %s", path);
	struct file_header h;
	struct stat st;
	if (fstat(fileno(f), &st) < 0 || fread(&h, sizeof(h), 1, f) != 1 ||
	    memcmp(h.magic, CC_TRACE_MAGIC, 8) != 0) {
		fclose(f);
		return cc_err_set(err, "%s: not a ChaosControl trace file",
				  path);
	}
	if (h.version != CC_TRACE_VERSION ||
	    h.record_size != sizeof(struct cc_trace_record)) {
		fclose(f);
		return cc_err_set(err,
				  "%s: trace format version %u, this build "
				  "reads version %u",
				  path, h.version, CC_TRACE_VERSION);
	}
	uint64_t body = (uint64_t)st.st_size - sizeof(h);
	if (body % sizeof(struct cc_trace_record)) {
		fclose(f);
		return cc_err_set(err, "%s: truncated trace file", path);
	}
	*n = body / sizeof(struct cc_trace_record);
	*first = h.first;
	*recs = malloc(body ? body : 1);
	if (!*recs || fread(*recs, 1, body, f) != body) {
		free(*recs);
		*recs = NULL;
		fclose(f);
		return cc_err_set(err, "%s: read failed", path);
	}
	fclose(f);
	return 0;
}
