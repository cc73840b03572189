/*
 * Fuzz target: fault schedule files (users write them by hand).  Any
 * input is refused or read; what is read is in time order and must
 * write back out as JSON that reads again to the same faults.
 *
 * Input: one byte for the cluster's size (1 to CC_SCHEDULE_MAX_VMS VMs:
 * VM indices and partition sides are checked against it), then the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seed.h"
#include "fault/schedule.h"

/* A seed with most field kinds, written into the corpus directory. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char seed[] =
		"\002{\"faults\": [{\"at_ms\": 100, \"type\": "
		"\"network_partition\", \"sides\": [0,1,1]}, {\"at_ms\": 50, "
		"\"type\": \"packet_reorder\", \"vm\": 1, \"ppm\": 5, "
		"\"ticks\": 4}, {\"at_ms\": 300, \"type\": \"process_pause\", "
		"\"vm\": 1, \"duration_ms\": 50}, {\"at_ms\": 600, \"type\": "
		"\"clock_jump\", \"vm\": 0, \"offset_ms\": -20}]}";
	cc_fuzz_write_seed(*argc, *argv, seed);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cc_schedule s, t;
	struct cc_err e;
	if (!size)
		return 0;
	unsigned nvms = 1 + data[0] % CC_SCHEDULE_MAX_VMS;
	if (cc_schedule_parse(&s, (const char *)data + 1, size - 1, nvms, &e))
		return 0;
	for (size_t i = 1; i < s.n; i++)
		if (s.f[i - 1].at_ns > s.f[i].at_ns)
			abort();
	char *text = cc_schedule_to_json(&s);
	if (!text || cc_schedule_parse(&t, text, strlen(text), nvms, &e) ||
	    t.n != s.n)
		abort();
	for (size_t i = 0; i < s.n; i++)
		if (memcmp(&s.f[i], &t.f[i], sizeof(s.f[i])))
			abort();
	free(text);
	cc_schedule_free(&s);
	cc_schedule_free(&t);
	return 0;
}
