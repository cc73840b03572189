/*
 * Fuzz target: recordings (run --record, replay, debug).  Any input is
 * refused with a message or read; what is read is consistent: events
 * numbered in order, ticks that never go back, counts that match.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seed.h"
#include "replay/recording.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char seed[] =
		"{\"format\":\"chaoscontrol-recording\",\"version\":1,"
		"\"argv\":[\"--vms\",\"2\"],\"cwd\":\"/tmp\",\"files\":[],"
		"\"checkpoint_every\":50}\n"
		"{\"i\":0,\"tick\":0,\"type\":\"checkpoint\",\"n\":0,"
		"\"trace_hash\":\"00000000000000aa\",\"vms\":[]}\n"
		"{\"i\":1,\"tick\":3,\"type\":\"serial\",\"vm\":1,\"line\":"
		"\"hi\\u00ff\"}\n"
		"{\"i\":2,\"tick\":4,\"type\":\"assert\",\"vm\":0,\"property\":"
		"\"p\",\"condition\":false,\"record\":{}}\n"
		"{\"end\":true,\"events\":3,\"checkpoints\":1,\"bugs\":0,"
		"\"ticks\":5,\"trace_hash\":\"00000000000000aa\",\"xxh3\":"
		"\"0000000000000000\"}\n";
	cc_fuzz_write_seed(*argc, *argv, seed);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	struct cc_recording r;
	struct cc_err e = {{0}};
	if (cc_recording_parse(&r, text, size, &e)) {
		if (!e.msg[0])
			abort(); /* a refusal always says why */
		return 0;
	}
	uint64_t cps = 0;
	for (size_t k = 0; k < r.nev; k++) {
		if ((k && r.ev[k].tick < r.ev[k - 1].tick) ||
		    r.ev[k].type >= CC_EV__COUNT || r.ev[k].vm >= 16 ||
		    strlen(r.ev[k].line) != r.ev[k].len)
			abort();
		cps += r.ev[k].type == CC_EV_CHECKPOINT;
	}
	if (cps != r.checkpoints || !r.argv || r.argv[r.argc] || !r.cwd)
		abort();
	cc_recording_free(&r);
	return 0;
}
