/* Boot to ready for a cluster, one boot per configuration (ready.h). */
#define _GNU_SOURCE
#include "ready.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../sim/workers.h"
#include "../vmm/snapshot.h"
#include "boot_cache.h"

/* Node i's boot cache entry, as if it were node 0. */
static int boot_key(struct cc_ready *r, unsigned i)
{
	struct cc_vm_config cfg = r->cfg[i];
	cfg.vm_index = 0;
	return cc_boot_cache_path(&cfg, r->platform, r->key[i],
				  sizeof(r->key[i]), &r->err[i]);
}

/* Groups the nodes by boot; -1 if a key cannot be made (a file that
 * cannot be read). */
static int group_boots(struct cc_ready *r)
{
	r->boots = 0;
	for (unsigned i = 0; i < r->n; i++) {
		if (boot_key(r, i)) {
			fprintf(stderr, "chaoscontrol: %s\n", r->err[i].msg);
			return -1;
		}
		r->leader[i] = i;
		for (unsigned k = 0; k < i; k++)
			if (r->leader[k] == k &&
			    !strcmp(r->key[k], r->key[i])) {
				r->leader[i] = k;
				break;
			}
		if (r->leader[i] == i)
			r->leaders[r->boots++] = i;
	}
	return 0;
}

/* Leader i at its ready point: from its boot cache entry, or booted now
 * (and cached for the next run). */
static int ready_vm(struct cc_ready *r, unsigned i)
{
	struct cc_err *e = &r->err[i];
	const char *cache = r->key[i];
	if (cc_vm_create(&r->vm[i], &r->cfg[i], e))
		return -1;
	if (!r->no_cache && access(cache, F_OK) == 0) {
		if (!cc_run_start_from(r->vm[i], cache, true, e))
			return 0;
		fprintf(stderr,
			"chaoscontrol: warning: VM %u: %s; booting afresh\n", i,
			e->msg);
		unlink(cache);
		cc_vm_destroy(r->vm[i]);
		r->vm[i] = NULL;
		if (cc_vm_create(&r->vm[i], &r->cfg[i], e))
			return -1;
	}
	fprintf(stderr,
		"chaoscontrol: VM %u: booting (once per machine; the boot "
		"cache keeps it)\n",
		i);
	struct cc_vm *vm = r->vm[i];
	vm->cfg.stop_at_ready = true;
	struct cc_vm_result res;
	if (cc_vm_run(vm, &res) || res.stop != CC_STOP_READY)
		return cc_err_set(e,
				  "VM %u stopped before it was ready (%s): %s",
				  i, cc_stop_name(res.stop), res.msg);
	vm->cfg.stop_at_ready = false;
	if (!r->no_cache)
		cc_run_save(vm, cache, "boot cache");
	return 0;
}

static void ready_job(void *ctx, size_t k)
{
	struct cc_ready *r = ctx;
	unsigned i = r->leaders[k];
	if (ready_vm(r, i)) {
		if (!r->err[i].msg[0])
			cc_err_set(&r->err[i], "VM %u failed", i);
		return;
	}
	if (cc_vm_snapshot(r->vm[i], &r->ready[i], &r->err[i]))
		r->ready[i] = NULL;
}

/* A node that shares its leader's boot: the leader's ready state, with
 * its console so far, in a VM of the node's own configuration. */
static void follow(struct cc_ready *r, unsigned i)
{
	unsigned l = r->leader[i];
	if (l == i)
		return;
	if (!r->ready[l]) {
		cc_err_set(&r->err[i],
			   "VM %u: the boot it shares with VM %u failed", i, l);
		return;
	}
	if (cc_vm_create(&r->vm[i], &r->cfg[i], &r->err[i]))
		return;
	cc_vm_console_replay(r->vm[i], r->vm[l]->serial, r->vm[l]->serial_len);
	cc_vm_restore(r->vm[i], r->ready[l], &r->err[i]);
}

int cc_ready_all(struct cc_ready *r)
{
	struct cc_workers w;
	if (group_boots(r) ||
	    cc_workers_start(&w, r->threads > 1 ? r->threads : 0))
		return -1;
	fprintf(stderr, "chaoscontrol: %u VMs from %u boot%s\n", r->n, r->boots,
		r->boots == 1 ? "" : "s");
	cc_workers_run(&w, ready_job, r, r->boots);
	cc_workers_stop(&w);
	for (unsigned i = 0; i < r->n; i++)
		follow(r, i);
	for (unsigned i = 0; i < r->n; i++) {
		cc_snapshot_free(r->ready[i]);
		r->ready[i] = NULL;
	}
	int rc = 0;
	for (unsigned i = 0; i < r->n; i++)
		if (r->err[i].msg[0]) {
			fprintf(stderr, "chaoscontrol: %s\n", r->err[i].msg);
			rc = -1;
		}
	for (unsigned i = 0; rc && i < r->n; i++) {
		if (r->vm[i])
			cc_vm_destroy(r->vm[i]);
		r->vm[i] = NULL;
	}
	return rc;
}
