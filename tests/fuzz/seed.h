/* Fuzz targets' shared start: a seed written into the corpus directory
 * (the first argument that is not an option) before the run. */
#ifndef CC_FUZZ_SEED_H
#define CC_FUZZ_SEED_H

#include <stdio.h>
#include <string.h>

static inline void cc_fuzz_write_seed_n(int argc, char **argv, const void *seed,
					size_t len)
{
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/seed", argv[i]);
		FILE *f = fopen(path, "wb");
		if (f) {
			fwrite(seed, 1, len, f);
			fclose(f);
		}
		break;
	}
}

static inline void cc_fuzz_write_seed(int argc, char **argv, const char *seed)
{
	cc_fuzz_write_seed_n(argc, argv, seed, strlen(seed));
}

#endif
