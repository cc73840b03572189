/*
 * The boot cache: where the snapshot of a guest configuration's ready
 * point lives.  The key hashes everything that decides the guest up to
 * that point - kernel and initrd bytes, command line, RAM size, seed,
 * CPUID options, platform - plus the snapshot format and state layout of
 * this build, so any change misses the cache instead of restoring a
 * stale machine.
 *
 * Entries live in ${XDG_CACHE_HOME:-$HOME/.cache}/chaoscontrol/boot/.
 */
#ifndef CC_BOOT_CACHE_H
#define CC_BOOT_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "../vmm/vm.h"

/* ${XDG_CACHE_HOME:-$HOME/.cache}/chaoscontrol/SUB into dir (cap
 * bytes), created if missing: the boot cache ("boot") and the image
 * store ("images").  -1 with err when it cannot be made. */
int cc_cache_dir(const char *sub, char *dir, size_t cap, struct cc_err *err);

/* Fills path with the entry for cfg (creating the directory); -1 with
 * err when the inputs cannot be read or the directory made. */
int cc_boot_cache_path(const struct cc_vm_config *cfg, int platform, char *path,
		       size_t len, struct cc_err *err);

/* Saves a snapshot of vm now into path (with the console so far),
 * saying so on stderr as `why` ("boot cache", "snapshot"); -1 after
 * printing why not. */
int cc_run_save(struct cc_vm *vm, const char *path, const char *why);
/* Loads the snapshot file at path (a boot cache entry or --restore) and
 * restores it into vm, console included. */
int cc_run_start_from(struct cc_vm *vm, const char *path, bool is_cache,
		      struct cc_err *err);

#endif
