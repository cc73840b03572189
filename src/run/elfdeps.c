#define _GNU_SOURCE
#include "elfdeps.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/array.h"

#define NEEDED_MAX 1024 /* DT_NEEDED entries of one object */

/* What one object says about itself. */
struct elf_info {
	char *interp;
	char *needed[NEEDED_MAX];
	size_t nneeded;
	char *runpath, *rpath;
};

static void info_free(struct elf_info *in)
{
	free(in->interp);
	for (size_t i = 0; i < in->nneeded; i++)
		free(in->needed[i]);
	free(in->runpath);
	free(in->rpath);
	memset(in, 0, sizeof(*in));
}

static const char *const system_dirs[] = {
	"/lib/x86_64-linux-gnu",
	"/usr/lib/x86_64-linux-gnu",
	"/lib64",
	"/usr/lib64",
	"/lib",
	"/usr/lib",
};

/* PT_INTERP: a NUL-terminated path inside the file. */
static int read_interp(Elf *e, struct elf_info *in, const char *what,
		       struct cc_err *err)
{
	size_t phnum, size;
	const char *raw = elf_rawfile(e, &size);
	if (elf_getphdrnum(e, &phnum) < 0 || !raw)
		return cc_err_set(err, "%s: unreadable program headers", what);
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph))
			return cc_err_set(err, "%s: bad program header %zu",
					  what, i);
		if (ph.p_type != PT_INTERP)
			continue;
		if (ph.p_offset > size || ph.p_filesz > size - ph.p_offset ||
		    ph.p_filesz < 2 || ph.p_filesz > 4096 ||
		    raw[ph.p_offset + ph.p_filesz - 1] != 0)
			return cc_err_set(err, "%s: corrupt PT_INTERP", what);
		in->interp = strdup(raw + ph.p_offset);
		return in->interp ? 0 : cc_err_set(err, "out of memory");
	}
	return 0;
}

static int dyn_string(Elf *e, size_t strtab, GElf_Dyn *dyn, char **out,
		      const char *what, struct cc_err *err)
{
	const char *s = elf_strptr(e, strtab, dyn->d_un.d_val);
	if (!s)
		return cc_err_set(err, "%s: corrupt dynamic section", what);
	*out = strdup(s);
	return *out ? 0 : cc_err_set(err, "out of memory");
}

/* DT_NEEDED, DT_RUNPATH, DT_RPATH from the SHT_DYNAMIC section. */
static int read_dynamic(Elf *e, struct elf_info *in, const char *what,
			struct cc_err *err)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			return cc_err_set(err, "%s: bad section header", what);
		if (sh.sh_type != SHT_DYNAMIC)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data || !sh.sh_entsize)
			return cc_err_set(err, "%s: corrupt dynamic section",
					  what);
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Dyn dyn;
			if (!gelf_getdyn(data, (int)i, &dyn))
				return cc_err_set(err,
						  "%s: corrupt dynamic section",
						  what);
			char **slot = NULL;
			if (dyn.d_tag == DT_NULL)
				break;
			if (dyn.d_tag == DT_NEEDED) {
				if (in->nneeded == NEEDED_MAX)
					return cc_err_set(err,
							  "%s: more than %d "
							  "DT_NEEDED entries",
							  what, NEEDED_MAX);
				slot = &in->needed[in->nneeded++];
			} else if (dyn.d_tag == DT_RUNPATH && !in->runpath) {
				slot = &in->runpath;
			} else if (dyn.d_tag == DT_RPATH && !in->rpath) {
				slot = &in->rpath;
			}
			if (slot &&
			    dyn_string(e, sh.sh_link, &dyn, slot, what, err))
				return -1;
		}
	}
	return 0;
}

/* Reads an x86-64 ELF executable or shared object; 0 or -1 with err. */
static int elf_read(const char *path, struct elf_info *in, const char *what,
		    struct cc_err *err)
{
	memset(in, 0, sizeof(*in));
	/* Non-blocking: a FIFO named as a program must not hang us. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return cc_err_errno(err, "%s: %s", what, path);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return cc_err_set(err, "%s: %s is not a regular file", what,
				  path);
	}
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	GElf_Ehdr eh;
	int rc = -1;
	if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh))
		cc_err_set(err, "%s: %s is not an ELF file", what, path);
	else if (gelf_getclass(e) != ELFCLASS64 || eh.e_machine != EM_X86_64)
		cc_err_set(err, "%s: %s is not x86-64 (the guest is)", what,
			   path);
	else if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
		cc_err_set(err, "%s: %s is not an executable or shared object",
			   what, path);
	else
		rc = read_interp(e, in, what, err) ||
				     read_dynamic(e, in, what, err)
			     ? -1
			     : 0;
	if (e)
		elf_end(e);
	close(fd);
	if (rc)
		info_free(in);
	return rc;
}

/* An x86-64 ELF a loader could use (wrong-architecture files in a
 * search directory are skipped, as ld.so does). */
static bool usable(const char *path)
{
	struct stat st;
	struct elf_info in;
	struct cc_err e;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
	    elf_read(path, &in, "", &e))
		return false;
	info_free(&in);
	return true;
}

static bool have(const struct cc_elf_deps *d, const char *guest_path)
{
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->v[i].guest_path, guest_path))
			return true;
	return false;
}

/* libc names the loader (ld-linux-x86-64.so.2) among its needs; the
 * loader is already in the process under that name, so it is not
 * searched for again. */
static bool is_interpreter(const struct cc_elf_deps *d, const char *name)
{
	for (size_t i = 0; i < d->n; i++) {
		const char *base = strrchr(d->v[i].guest_path, '/');
		if (d->v[i].interpreter && base && !strcmp(base + 1, name))
			return true;
	}
	return false;
}

static int add(struct cc_elf_deps *d, const char *guest, const char *host,
	       bool interp, struct cc_err *err)
{
	if (d->n == CC_ELF_DEPS_MAX)
		return cc_err_set(err, "more than %d shared objects",
				  CC_ELF_DEPS_MAX);
	if (cc_array_grow(&d->v, &d->cap, d->n, sizeof(*d->v), 16))
		return cc_err_set(err, "out of memory");
	struct cc_elf_dep *x = &d->v[d->n];
	x->guest_path = strdup(guest);
	x->host_path = strdup(host);
	x->interpreter = interp;
	if (!x->guest_path || !x->host_path) {
		free(x->guest_path);
		free(x->host_path);
		return cc_err_set(err, "out of memory");
	}
	d->n++;
	return 0;
}

static void dir_of(const char *path, char *out, size_t cap)
{
	snprintf(out, cap, "%s", path);
	char *slash = strrchr(out, '/');
	if (slash && slash != out)
		*slash = 0;
	else
		snprintf(out, cap, "/");
}

/* One search-path entry as host and guest directories ($ORIGIN is the
 * object's directory on each side). */
static void expand(const char *entry, size_t len, const char *host_obj,
		   const char *guest_obj, char *host, char *guest, size_t cap)
{
	char e[1024];
	snprintf(e, sizeof(e), "%.*s", (int)len, entry);
	const char *rest = NULL;
	if (!strncmp(e, "$ORIGIN", 7))
		rest = e + 7;
	else if (!strncmp(e, "${ORIGIN}", 9))
		rest = e + 9;
	if (!rest) {
		snprintf(host, cap, "%s", e);
		snprintf(guest, cap, "%s", e);
		return;
	}
	char hd[1024], gd[1024];
	dir_of(host_obj, hd, sizeof(hd));
	dir_of(guest_obj, gd, sizeof(gd));
	snprintf(host, cap, "%s%s", hd, rest);
	snprintf(guest, cap, "%s%s", gd, rest);
}

/* Tries NAME in each directory of a ':'-separated path list. */
static bool search_list(const char *list, const char *name,
			const char *host_obj, const char *guest_obj, char *host,
			char *guest, size_t cap)
{
	for (const char *p = list; p && *p;) {
		size_t len = strcspn(p, ":");
		char hd[2048], gd[2048];
		expand(p, len, host_obj, guest_obj, hd, gd, sizeof(hd));
		if (len) {
			snprintf(host, cap, "%s/%s", hd, name);
			snprintf(guest, cap, "%s/%s", gd, name);
			if (usable(host))
				return true;
		}
		p += len + (p[len] == ':');
	}
	return false;
}

static bool find_lib(const struct elf_info *in, const char *name,
		     const char *host_obj, const char *guest_obj, char *host,
		     char *guest, size_t cap)
{
	if (strchr(name, '/')) { /* a path: used as it is */
		snprintf(host, cap, "%s", name);
		snprintf(guest, cap, "%s", name);
		return usable(host);
	}
	if (!in->runpath &&
	    search_list(in->rpath, name, host_obj, guest_obj, host, guest, cap))
		return true;
	if (search_list(in->runpath, name, host_obj, guest_obj, host, guest,
			cap))
		return true;
	for (size_t i = 0; i < sizeof(system_dirs) / sizeof(*system_dirs);
	     i++) {
		snprintf(host, cap, "%s/%s", system_dirs[i], name);
		snprintf(guest, cap, "%s", host);
		if (usable(host))
			return true;
	}
	return false;
}

/* Adds what one object (the program or a library) needs. */
static int resolve_one(struct cc_elf_deps *d, const char *host_obj,
		       const char *guest_obj, const char *label,
		       struct cc_err *err)
{
	struct elf_info in;
	if (elf_read(host_obj, &in, label, err))
		return -1;
	int rc = 0;
	if (in.interp && !have(d, in.interp)) {
		if (!usable(in.interp))
			rc = cc_err_set(err,
					"%s: %s needs the interpreter %s, "
					"which is not on this host",
					label, host_obj, in.interp);
		else
			rc = add(d, in.interp, in.interp, true, err);
	}
	for (size_t i = 0; !rc && i < in.nneeded; i++) {
		char host[4096], guest[4096];
		if (is_interpreter(d, in.needed[i]))
			continue;
		if (!find_lib(&in, in.needed[i], host_obj, guest_obj, host,
			      guest, sizeof(host)))
			rc = cc_err_set(err,
					"%s: %s needs %s, found in none of "
					"its run paths nor /lib/x86_64-linux-"
					"gnu, /usr/lib/x86_64-linux-gnu, "
					"/lib64, /usr/lib64, /lib, /usr/lib",
					label, host_obj, in.needed[i]);
		else if (!have(d, guest))
			rc = add(d, guest, host, false, err);
	}
	info_free(&in);
	return rc;
}

int cc_elf_deps_resolve(struct cc_elf_deps *d, const char *host_path,
			const char *guest_path, const char *label,
			struct cc_err *err)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return cc_err_set(err, "libelf: %s", elf_errmsg(-1));
	size_t first = d->n;
	if (resolve_one(d, host_path, guest_path, label, err))
		return -1;
	/* Breadth first over what was added; each adds its own needs. */
	for (size_t i = first; i < d->n; i++) {
		char host[4096], guest[4096];
		snprintf(host, sizeof(host), "%s", d->v[i].host_path);
		snprintf(guest, sizeof(guest), "%s", d->v[i].guest_path);
		if (resolve_one(d, host, guest, label, err))
			return -1;
	}
	return 0;
}

void cc_elf_deps_free(struct cc_elf_deps *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].guest_path);
		free(d->v[i].host_path);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}
