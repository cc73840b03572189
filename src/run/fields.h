/*
 * Checks shared by the JSON files users write (image specs, scenarios):
 * each names the file kind and the field in its one-line error.
 */
#ifndef CC_FIELDS_H
#define CC_FIELDS_H

#include <jansson.h>
#include <stddef.h>

#include "../base/err.h"

/* Fails on any key of o outside keys (NULL-terminated):
 * "KIND: WHERE: unknown field "K"". */
int cc_fields_only(json_t *o, const char *kind, const char *where,
		   const char *const *keys, struct cc_err *err);

/* Reads a whole file of at most max bytes into a malloc'd buffer, and
 * the file's directory (for relative paths) into dir. */
int cc_fields_read(const char *path, const char *kind, size_t max, char **text,
		   size_t *len, char *dir, size_t dir_cap, struct cc_err *err);

#endif
