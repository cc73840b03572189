/*
 * Fuzz target: the hypercall decoder and the PropertyOracle behind it.
 * The input is a flags byte then the HypercallPage as a hostile guest
 * could leave it (header and payload); unless flag bit 0 is set, magic
 * and version are made valid so the fuzzer spends its time past them.
 * Each input is served twice (as the guest could re-trigger) and the
 * records accepted go through the oracle.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaoscontrol/protocol.h"
#include "fault/oracle.h"
#include "vmm/hypercall.h"

static struct cc_mem mem;

/* Seeds: a valid call of each kind, written into the corpus directory. */
static void seed(const char *dir, const char *name, uint32_t cmd,
		 const void *payload, uint32_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return;
	static struct cc_hc_page p;
	memset(&p, 0, sizeof(p));
	p.cmd = cmd;
	p.len = len;
	if (len)
		memcpy(p.payload, payload, len);
	uint8_t flags = 0;
	fwrite(&flags, 1, 1, f);
	fwrite(&p, 1, CC_HC_HEADER_SIZE + len, f);
	fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char rec[] =
		"{\"antithesis_assert\":{\"hit\":true,\"must_hit\":true,"
		"\"assert_type\":\"always\",\"display_type\":\"Always\","
		"\"message\":\"m\",\"condition\":false,\"id\":\"i\","
		"\"location\":{\"file\":\"f.c\",\"begin_line\":3},"
		"\"details\":{}}}";
	static const char setup[] =
		"{\"antithesis_setup\":{\"status\":\"complete\"}}";
	struct cc_hc_choice c = {6};
	for (int i = 1; i < *argc; i++) {
		if ((*argv)[i][0] == '-')
			continue;
		seed((*argv)[i], "seed-assert", CC_HC_JSON, rec,
		     sizeof(rec) - 1);
		seed((*argv)[i], "seed-setup", CC_HC_JSON, setup,
		     sizeof(setup) - 1);
		seed((*argv)[i], "seed-choice", CC_HC_CHOICE, &c, sizeof(c));
		seed((*argv)[i], "seed-random", CC_HC_RANDOM, NULL, 0);
		break;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cc_err e;
	if (!mem.host && cc_mem_init(&mem, 16ull << 20, &e))
		abort();
	struct cc_hc_state st = {0};
	struct cc_hc_log log = {0};
	struct cc_entropy rng;
	cc_entropy_init(&rng, 1);
	static const struct cc_hc_override ov[] = {{1, 5}, {2, UINT64_MAX}};
	if (!size)
		return 0;
	uint8_t flags = data[0];
	data++;
	size--;
	size_t n = size < CC_HYPERCALL_SIZE ? size : CC_HYPERCALL_SIZE;
	struct cc_hc_page *page =
		(struct cc_hc_page *)(mem.host + CC_HYPERCALL_GPA);
	memset(page, 0, CC_HYPERCALL_SIZE);
	memcpy(page, data, n);
	if (!(flags & 1)) {
		page->magic = CC_HC_MAGIC;
		page->version = CC_HC_VERSION;
	}
	for (int i = 0; i < 2; i++)
		cc_hypercall_serve(&st, &log, &mem, &rng, ov, 2, 1000);
	struct cc_oracle o = {0};
	cc_oracle_add_run(&o, (const char *const *)log.records, log.nrecords);
	json_decref(cc_oracle_json(&o));
	cc_oracle_free(&o);
	cc_hypercall_log_truncate(&log, &st);
	cc_hypercall_log_free(&log);
	return 0;
}
