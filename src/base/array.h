/*
 * Growing arrays: the one doubling rule every log, queue and table of
 * the VMM and the layers above uses.
 */
#ifndef CC_ARRAY_H
#define CC_ARRAY_H

#include <stdlib.h>
#include <string.h>

/*
 * Makes room for element n of an array of `size`-byte elements whose
 * pointer is at *pp (any object pointer type) and capacity at *cap:
 * doubles it, starting at `first`.  0, or -1 when out of memory (the
 * array is left as it was).
 */
static inline int cc_array_grow(void *pp, size_t *cap, size_t n, size_t size,
				size_t first)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? 2 * *cap : first;
	void *p;
	memcpy(&p, pp, sizeof(p));
	void *q = c > *cap ? realloc(p, c * size) : NULL;
	if (!q)
		return -1;
	memcpy(pp, &q, sizeof(q));
	*cap = c;
	return 0;
}

#endif
