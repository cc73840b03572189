/*
 * What an ELF program needs in order to run: its interpreter (PT_INTERP)
 * and the shared objects it names (DT_NEEDED), transitively, found on
 * this host the way the dynamic loader would find them - and without
 * running anything (ldd runs the loader on the binary, which is code
 * execution on the host for a file that might be anything).  Parsed with
 * libelf.
 *
 * Each dependency has two paths: where the loader inside the guest will
 * look for it (the search directory it was found in, or the interpreter
 * path as written), and the host file to copy (symbolic links followed
 * when read).  Search order for a name without '/': DT_RPATH (only when
 * there is no DT_RUNPATH), DT_RUNPATH ($ORIGIN taken relative to the
 * object), then Debian's system directories.  LD_LIBRARY_PATH and
 * ld.so.conf are not consulted: the guest has neither.
 */
#ifndef CC_ELFDEPS_H
#define CC_ELFDEPS_H

#include <stdbool.h>
#include <stddef.h>

#include "../base/err.h"

#define CC_ELF_DEPS_MAX 4096 /* objects per program, transitively */

struct cc_elf_dep {
	char *guest_path;
	char *host_path;
	bool interpreter;
};

struct cc_elf_deps {
	struct cc_elf_dep *v;
	size_t n, cap;
};

/*
 * Adds to d what the program at host_path needs once it runs at
 * guest_path (its $ORIGIN there).  label names the program in errors
 * ("programs[2]").  A static program adds nothing.  Errors: not an ELF
 * file, not x86-64, not an executable or shared object, a corrupt
 * dynamic section, a library found nowhere (naming who needs it and
 * where we looked).
 */
int cc_elf_deps_resolve(struct cc_elf_deps *d, const char *host_path,
			const char *guest_path, const char *label,
			struct cc_err *err);

void cc_elf_deps_free(struct cc_elf_deps *d);

#endif
