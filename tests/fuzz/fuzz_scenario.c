/*
 * Fuzz target: scenario files (src/run/scenario.c).  Any bytes give a
 * scenario or one error line, never a crash or a leak; a scenario that
 * loads also expands every node's argument templates for every cluster
 * size, the way `run SCENARIO.json --vms N` does.
 */
#include <stddef.h>
#include <stdint.h>

#include "run/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cc_scenario sc;
	struct cc_err err;
	if (cc_scenario_parse(&sc, (const char *)data, size, "/nonexistent",
			      &err))
		return 0;
	for (unsigned n = 1; n <= CC_SCENARIO_NODES; n++)
		for (unsigned i = 0; i < n; i++) {
			char *argv[CC_SCENARIO_ARGS_MAX + 1];
			if (!cc_scenario_argv(&sc, i, n, argv, &err))
				cc_scenario_argv_free(argv);
		}
	cc_scenario_free(&sc);
	return 0;
}
