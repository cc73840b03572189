#include "fields.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cc_fields_only(json_t *o, const char *kind, const char *where,
		   const char *const *keys, struct cc_err *err)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
	{
		bool known = false;
		for (const char *const *p = keys; *p && !known; p++)
			known = !strcmp(*p, k);
		if (!known)
			return cc_err_set(err, "%s: %s: unknown field \"%s\"",
					  kind, where, k);
	}
	return 0;
}

int cc_fields_read(const char *path, const char *kind, size_t max, char **text,
		   size_t *len, char *dir, size_t dir_cap, struct cc_err *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return cc_err_errno(err, "%s %s", kind, path);
	*text = malloc(max + 1);
	/* One byte more than allowed, so the parser sees it is too long. */
	*len = *text ? fread(*text, 1, max + 1, f) : 0;
	fclose(f);
	if (!*text)
		return cc_err_set(err, "out of memory");
	snprintf(dir, dir_cap, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = 0;
	else if (slash)
		*slash = 0;
	else
		snprintf(dir, dir_cap, ".");
	return 0;
}
