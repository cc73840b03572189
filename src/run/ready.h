/*
 * Boot to ready for a cluster: every node's VM at its ready point, with
 * one boot per configuration.
 *
 * A node learns its identity (index, MAC, address, host name) after the
 * ready point (CC_DOORBELL_NODE), and the run's seed takes over there
 * too, so nodes whose configurations differ only in their place share a
 * boot: the boot cache key leaves the index out.  The first node of each
 * configuration (its leader) boots, or starts from its boot cache entry;
 * the others start from the leader's ready snapshot.  Leaders boot in
 * parallel on worker threads; followers restore one at a time (a
 * restore moves a snapshot's dirty tracking to its VM).
 */
#ifndef CC_RUN_READY_H
#define CC_RUN_READY_H

#include <stdbool.h>

#include "../sim/controller.h"
#include "../vmm/vm.h"

struct cc_ready {
	/* In: each node's configuration and how to boot. */
	unsigned n;
	struct cc_vm_config cfg[CC_SIM_MAX_VMS];
	int platform; /* enum cc_platform_kind, part of the cache key */
	bool no_cache;
	unsigned threads;
	/* Out: the VMs at their ready points, and how many boots. */
	struct cc_vm *vm[CC_SIM_MAX_VMS];
	unsigned boots;
	/* Private. */
	struct cc_err err[CC_SIM_MAX_VMS];
	unsigned leader[CC_SIM_MAX_VMS], leaders[CC_SIM_MAX_VMS];
	char key[CC_SIM_MAX_VMS][4096];
	struct cc_snapshot *ready[CC_SIM_MAX_VMS];
};

/* Brings r->n VMs to their ready points (progress on stderr); -1 after
 * printing each failed VM's error, with no VM left. */
int cc_ready_all(struct cc_ready *r);

#endif
