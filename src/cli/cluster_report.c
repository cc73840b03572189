/*
 * The report of a cluster run (`run --vms N`, `run SCENARIO.json`): per-VM
 * status, the network counters, the fault log, the oracle's verdicts and
 * the cluster trace hash, as text or JSON; and the run's exit code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../fault/oracle.h"
#include "../sim/controller.h"
#include "cli.h"
#include "report.h"

static uint64_t total_exits(const struct cc_vm *vm)
{
	uint64_t n = 0;
	for (int c = 0; c < CC_EXIT__COUNT; c++)
		if (c != CC_EXIT_HOST)
			n += vm->stats.exits[c];
	return n;
}

static json_t *net_json(const struct cc_sim *s)
{
	const struct cc_net_stats *n = &s->fabric.stats;
	return json_pack(
		"{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "sent",
		(json_int_t)n->sent, "copies", (json_int_t)n->copies,
		"delivered", (json_int_t)n->delivered, "unroutable",
		(json_int_t)n->unroutable, "partitioned",
		(json_int_t)n->partitioned, "lost", (json_int_t)n->lost,
		"corrupted", (json_int_t)n->corrupted, "delayed_bandwidth",
		(json_int_t)n->delayed_bandwidth, "jittered",
		(json_int_t)n->jittered, "reordered", (json_int_t)n->reordered,
		"duplicated", (json_int_t)n->duplicated, "dropped_full",
		(json_int_t)n->dropped_full, "in_flight",
		(json_int_t)s->fabric.n);
}

static json_t *vm_json(const struct cc_sim *s, unsigned i)
{
	const struct cc_vm_slot *v = &s->slot[i];
	char hash[17];
	snprintf(hash, sizeof(hash), "%016llx",
		 (unsigned long long)cc_vm_trace_hash(v->vm));
	json_t *o = json_pack(
		"{s:i,s:s,s:I,s:I,s:i,s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:s,s:b}",
		"index", i, "status", cc_vm_status_name(v->status), "vclock_ns",
		(json_int_t)v->vm->vclock.ns, "skew_ns_per_s",
		(json_int_t)v->skew_ns_per_s, "restarts", v->restarts, "pauses",
		v->pauses, "kills", v->kills, "frames_sent",
		(json_int_t)v->frames_sent, "frames_received",
		(json_int_t)v->frames_received, "frames_dropped",
		(json_int_t)v->frames_dropped, "exits",
		(json_int_t)total_exits(v->vm), "watchdog_fires",
		(json_int_t)v->vm->stats.watchdog_fires, "trace_hash", hash,
		"setup_complete", v->vm->hc.setup_complete != 0);
	if (v->status == CC_VM_HALTED)
		json_object_set_new(o, "stop",
				    json_pack("{s:s,s:s}", "reason",
					      cc_stop_name(v->res.stop), "msg",
					      v->res.msg));
	return o;
}

static json_t *faults_json(const struct cc_sim *s)
{
	json_t *a = json_array();
	for (size_t k = 0; k < s->engine.nlog; k++) {
		const struct cc_fired *f = &s->engine.log[k];
		json_t *o = cc_fault_json(&f->fault);
		json_object_set_new(
			o, "fired_ms",
			json_integer((json_int_t)(f->fired_ns / 1000000)));
		json_object_set_new(o, "random", json_boolean(f->random));
		json_array_append_new(a, o);
	}
	return a;
}

void cc_cluster_print_json(const struct cc_sim *s, uint64_t seed,
			   struct cc_oracle *orc, double wall,
			   enum cc_platform_kind kind)
{
	char hash[17];
	snprintf(hash, sizeof(hash), "%016llx",
		 (unsigned long long)cc_sim_trace_hash(s));
	json_t *vms = json_array();
	for (unsigned i = 0; i < s->n; i++)
		json_array_append_new(vms, vm_json(s, i));
	json_t *root = json_pack(
		"{s:s,s:i,s:I,s:I,s:I,s:f,s:f,s:i,s:s,s:o,s:o,s:o,s:o}",
		"trace_hash", hash, "vms", s->n, "seed", (json_int_t)seed,
		"ticks", (json_int_t)s->tick, "virtual_ms", (json_int_t)s->tick,
		"wall_s", wall, "ticks_per_s", wall > 0 ? s->tick / wall : 0.0,
		"threads", s->workers.n ? s->workers.n : 1, "platform",
		cc_platform_name(kind), "vm", vms, "network", net_json(s),
		"faults", faults_json(s), "properties", cc_oracle_json(orc));
	json_dumpf(root, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(root);
}

void cc_cluster_print_text(const struct cc_sim *s, struct cc_oracle *orc,
			   double wall)
{
	printf("cluster: %u VMs, %llu ticks (%.3f s virtual) in %.1f s wall "
	       "(%.0f ticks/s, %u thread%s)\n",
	       s->n, (unsigned long long)s->tick, s->tick / 1000.0, wall,
	       wall > 0 ? s->tick / wall : 0.0, s->workers.n ? s->workers.n : 1,
	       s->workers.n > 1 ? "s" : "");
	printf("  vm  status    restarts pauses kills  frames sent/recv/drop  "
	       "exits\n");
	for (unsigned i = 0; i < s->n; i++) {
		const struct cc_vm_slot *v = &s->slot[i];
		printf("  %-3u %-9s %8u %6u %5u  %6llu/%llu/%llu  %14llu%s%s\n",
		       i, cc_vm_status_name(v->status), v->restarts, v->pauses,
		       v->kills, (unsigned long long)v->frames_sent,
		       (unsigned long long)v->frames_received,
		       (unsigned long long)v->frames_dropped,
		       (unsigned long long)total_exits(v->vm),
		       v->status == CC_VM_HALTED ? "  " : "",
		       v->status == CC_VM_HALTED ? v->res.msg : "");
	}
	for (unsigned i = 0; i < s->n; i++)
		if (s->slot[i].vm->stats.watchdog_fires) {
			printf("  vm %u:\n", i);
			fflush(stdout);
			cc_report_spins(s->slot[i].vm, NULL, stdout);
		}
	const struct cc_net_stats *n = &s->fabric.stats;
	printf("network: %llu sent, %llu delivered, %llu partitioned, %llu "
	       "lost, %llu corrupted, %llu duplicated, %llu reordered, %llu "
	       "jittered, %llu bandwidth-delayed, %llu unroutable, %zu in "
	       "flight\n",
	       (unsigned long long)n->sent, (unsigned long long)n->delivered,
	       (unsigned long long)n->partitioned, (unsigned long long)n->lost,
	       (unsigned long long)n->corrupted,
	       (unsigned long long)n->duplicated,
	       (unsigned long long)n->reordered,
	       (unsigned long long)n->jittered,
	       (unsigned long long)n->delayed_bandwidth,
	       (unsigned long long)n->unroutable, s->fabric.n);
	printf("faults: %zu fired\n", s->engine.nlog);
	for (size_t k = 0; k < s->engine.nlog; k++) {
		json_t *f = cc_fault_json(&s->engine.log[k].fault);
		char *txt = json_dumps(f, JSON_COMPACT);
		printf("  %6llu ms %s%s\n",
		       (unsigned long long)(s->engine.log[k].fired_ns /
					    1000000),
		       s->engine.log[k].random ? "random " : "", txt);
		free(txt);
		json_decref(f);
	}
	if (s->engine.nheld)
		printf("  (%zu held: their gate never opened)\n",
		       s->engine.nheld);
	if (s->err[0])
		printf("  last fault error: %s\n", s->err);
	cc_oracle_print(orc, stdout);
	printf("trace-hash: %016llx\n",
	       (unsigned long long)cc_sim_trace_hash(s));
}

int cc_cluster_exit_code(const struct cc_sim *s, struct cc_oracle *orc)
{
	for (unsigned i = 0; i < s->n; i++) {
		const struct cc_vm_slot *v = &s->slot[i];
		if (v->status == CC_VM_HALTED &&
		    (v->res.stop == CC_STOP_ERROR ||
		     v->res.stop == CC_STOP_SHUTDOWN))
			return CC_EXIT_GUEST_CRASH;
	}
	return cc_oracle_failures(orc) ? CC_EXIT_GUEST_FAIL : CC_EXIT_OK;
}
