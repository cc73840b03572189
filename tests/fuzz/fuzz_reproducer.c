/*
 * Fuzz target: reproducer files (run --reproduce, the explorer's queue/
 * and bugs/).  Any input is refused or read; what is read must write
 * back out as text that reads again to the same text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seed.h"
#include "run/reproducer.h"

/* A seed with two forks, faults and a bug, written into the corpus. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char seed[] =
		"{\"format\": \"chaoscontrol-reproducer\", \"version\": 1, "
		"\"scenario\": \"/x/raft.json\", \"scenario_xxh3\": \"0x9f\", "
		"\"nodes\": 3, \"seed\": \"0x1\", \"until\": 1412, "
		"\"stall_ticks\": 400, \"stop_at_bug\": true, \"forks\": ["
		"{\"at\": 412, \"reseed\": true, \"seed\": \"0x5d1c\", "
		"\"faults\": [{\"at_ms\": 430, \"type\": \"network_heal\"}, "
		"{\"at_ms\": 500, \"type\": \"network_partition\", \"sides\": "
		"[0, 1, 1]}]}, {\"at\": 912, \"reseed\": false, \"seed\": "
		"\"0x0\", \"faults\": []}], \"bug\": {\"kind\": \"always\", "
		"\"id\": \"e\", \"what\": \"two leaders\", \"vm\": 1, "
		"\"tick\": "
		"1400}, \"trace_hash\": \"0x123\"}";
	cc_fuzz_write_seed(*argc, *argv, seed);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cc_repro r, t;
	struct cc_err e;
	if (cc_repro_parse(&r, (const char *)data, size, &e))
		return 0;
	char *a = cc_repro_json(&r);
	if (!a || cc_repro_parse(&t, a, strlen(a), &e))
		abort();
	char *b = cc_repro_json(&t);
	if (!b || strcmp(a, b))
		abort();
	free(a);
	free(b);
	cc_repro_free(&r);
	cc_repro_free(&t);
	return 0;
}
