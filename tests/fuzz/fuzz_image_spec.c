/*
 * Fuzz target: image specs (src/run/image_spec.c) as a user or a file
 * from elsewhere may write them.  Any bytes must give an image or one
 * error line, never a crash, a leak or an unbounded allocation.  Sources
 * are looked up under a directory that does not exist, so nothing on the
 * host is read; paths, modes, links and duplicates are all checked.
 */
#include <stddef.h>
#include <stdint.h>

#include "run/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cc_image img;
	struct cc_err err;
	cc_image_init(&img, NULL);
	(void)cc_image_parse_spec(&img, (const char *)data, size,
				  "/nonexistent-cc-fuzz", &err);
	cc_image_free(&img);
	return 0;
}
