/*
 * Fuzz target: snapshot and trace files.  Files we wrote come back from
 * disk, where anything can happen to them: loading must refuse garbage
 * with an error, never crash.  (The payload checksum stops most random
 * inputs early; the header checks before it are what this exercises.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "vmm/snapfile.h"
#include "vmm/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static char path[64];
	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/cc-fuzz-%d", (int)getpid());
	FILE *f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, len, f);
	fclose(f);
	struct cc_err err;
	struct cc_snapshot *s;
	char *console;
	size_t clen;
	uint64_t size;
	cc_snapfile_ram_size(path, &size, &err);
	if (cc_snapfile_load(path, NULL, &s, &console, &clen, &err) == 0) {
		free(console);
		cc_snapshot_free(s);
	}
	struct cc_trace_record *recs;
	uint64_t n, first;
	if (cc_trace_load(path, &recs, &n, &first, &err) == 0)
		free(recs);
	unlink(path);
	return 0;
}
