/*
 * Checking restored state: a snapshot file's device bytes are loaded
 * into structs whose fields the devices index and branch on, so each
 * device checks them before the guest runs again (cc_vm_state_check).
 */
#ifndef CC_CHECK_H
#define CC_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Whether the byte behind a bool is 0 or 1: any other value, loaded
 * from a file, makes every later read of the field undefined. */
static inline bool cc_bool_ok(const bool *b)
{
	uint8_t v;
	memcpy(&v, b, 1);
	return v <= 1;
}

/* Whether all n bools from b on are valid. */
static inline bool cc_bools_ok(const bool *const *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!cc_bool_ok(b[i]))
			return false;
	return true;
}

#endif
