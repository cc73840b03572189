#define _GNU_SOURCE
#include "report.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../run/codeloc.h"
#include "../run/coverage.h"
#include "../fault/oracle.h"
#include "../vmm/platform.h"
#include "cli.h"

int cc_report_init_status(const char *serial, size_t len)
{
	static const char tag[] = "cc-init: exit status ";
	static const char sig[] = "cc-init: killed by signal ";
	int status = -1;
	for (size_t i = 0; i < len; i++) {
		if (i && serial[i - 1] != '\n')
			continue;
		size_t left = len - i;
		if (left > sizeof(tag) - 1 &&
		    !memcmp(serial + i, tag, sizeof(tag) - 1))
			status = atoi(serial + i + sizeof(tag) - 1);
		else if (left > sizeof(sig) - 1 &&
			 !memcmp(serial + i, sig, sizeof(sig) - 1))
			status = -2;
	}
	return status;
}

static bool panicked(const struct cc_vm *vm)
{
	return vm->serial_len &&
	       memmem(vm->serial, vm->serial_len, "Kernel panic", 12) != NULL;
}

static int exit_code(const struct cc_vm *vm, const struct cc_vm_result *res)
{
	int init = cc_report_init_status(vm->serial, vm->serial_len);
	switch (res->stop) {
	case CC_STOP_EXIT_PORT:
		return res->exit_status ? CC_EXIT_GUEST_FAIL : CC_EXIT_OK;
	case CC_STOP_POWEROFF:
		if (panicked(vm))
			return CC_EXIT_GUEST_CRASH;
		return init == -1 || init == 0 ? CC_EXIT_OK
					       : CC_EXIT_GUEST_FAIL;
	case CC_STOP_LIMIT:
		return CC_EXIT_LIMIT;
	default:
		return CC_EXIT_GUEST_CRASH;
	}
}

/* Per-device counters, as JSON (also printed by --stats). */
static json_t *transport_json(const struct cc_virtio_mmio *t)
{
	return json_pack(
		"{s:I, s:I, s:I, s:s}", "notifies", (json_int_t)t->s.notifies,
		"services", (json_int_t)t->s.services, "protocol_errors",
		(json_int_t)t->s.errors, "last_error", t->s.last_error);
}

static json_t *devices_json(const struct cc_vm *vm)
{
	const struct cc_net_port *p = &vm->net.port;
	json_t *net = transport_json(&vm->net.t);
	json_object_update_new(
		net, json_pack("{s:I, s:I, s:I, s:I}", "tx_frames",
			       (json_int_t)p->tx_frames, "rx_frames",
			       (json_int_t)p->rx_frames, "tx_dropped",
			       (json_int_t)p->tx_dropped, "rx_dropped",
			       (json_int_t)p->rx_dropped));
	json_t *o = json_pack("{s:o, s:o}", "virtio_net", net, "virtio_rng",
			      transport_json(&vm->rng.t));
	if (!vm->has_disk)
		return o;
	const struct cc_disk_state *d = &vm->blk.disk.st;
	json_t *blk = transport_json(&vm->blk.t);
	json_object_update_new(
		blk,
		json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			  "reads", (json_int_t)d->reads, "writes",
			  (json_int_t)d->writes, "flushes",
			  (json_int_t)d->flushes, "read_errors",
			  (json_int_t)d->read_errors, "write_errors",
			  (json_int_t)d->write_errors, "torn_writes",
			  (json_int_t)d->torn, "corrupted_reads",
			  (json_int_t)d->corrupted, "no_space",
			  (json_int_t)d->nospace, "overlay_pages",
			  (json_int_t)cc_disk_overlay_pages(&vm->blk.disk)));
	json_object_set_new(o, "virtio_blk", blk);
	return o;
}

static void print_devices(const struct cc_vm *vm)
{
	json_t *o = devices_json(vm);
	const char *name;
	json_t *dev;
	json_object_foreach(o, name, dev)
	{
		fprintf(stderr, "%s:", name);
		const char *k;
		json_t *v;
		json_object_foreach(dev, k, v)
		{
			if (json_is_integer(v))
				fprintf(stderr, " %s=%lld", k,
					(long long)json_integer_value(v));
			else if (*json_string_value(v))
				fprintf(stderr, " %s=\"%s\"", k,
					json_string_value(v));
		}
		fputc('\n', stderr);
	}
	json_decref(o);
}

/* ---- what the guest's SDK said --------------------------------------------
 */

static uint64_t edges(const struct cc_vm *vm)
{
	static uint8_t map[CC_COVERAGE_SIZE];
	uint64_t n = 0;
	if (!cc_coverage_read(&vm->mem, map))
		return 0;
	for (uint32_t i = 0; i < CC_COVERAGE_SIZE; i++)
		n += map[i] != 0;
	return n;
}

static bool sdk_used(const struct cc_vm *vm)
{
	return vm->hc.calls || vm->hc.coverage_live;
}

json_t *cc_report_sdk_json(const struct cc_vm *vm)
{
	struct cc_oracle o = {0};
	cc_oracle_add_run(&o, (const char *const *)vm->hc_log.records,
			  vm->hc_log.nrecords);
	json_t *choices = json_array();
	for (size_t i = 0; i < vm->hc_log.nchoices; i++) {
		const struct cc_choice_record *c = &vm->hc_log.choices[i];
		json_array_append_new(choices,
				      json_pack("{s:I, s:I, s:I, s:b}", "seq",
						(json_int_t)c->seq, "n",
						(json_int_t)c->n, "value",
						(json_int_t)c->value,
						"overridden", c->overridden));
	}
	json_t *events = json_array();
	for (size_t i = 0; i < vm->hc_log.nrecords; i++)
		if (!strstr(vm->hc_log.records[i], "\"antithesis_assert\""))
			json_array_append_new(
				events,
				json_loads(vm->hc_log.records[i], 0, NULL));
	json_t *j = json_pack(
		"{s:I, s:I, s:I, s:b, s:I, s:o, s:o, s:{s:b, s:I}, s:o}",
		"calls", (json_int_t)vm->hc.calls, "errors",
		(json_int_t)vm->hc.errors, "records",
		(json_int_t)vm->hc.records, "setup_complete",
		vm->hc.setup_complete != 0, "setup_ns",
		(json_int_t)vm->hc.setup_ns, "choices", choices, "events",
		events, "coverage", "live", vm->hc.coverage_live != 0, "edges",
		(json_int_t)edges(vm), "properties", cc_oracle_json(&o));
	cc_oracle_free(&o);
	return j;
}

static void print_sdk(const struct cc_vm *vm)
{
	if (!sdk_used(vm))
		return;
	struct cc_oracle o = {0};
	cc_oracle_add_run(&o, (const char *const *)vm->hc_log.records,
			  vm->hc_log.nrecords);
	fprintf(stderr,
		"sdk: %llu calls (%llu refused), %llu records, setup %s, "
		"%llu random draws, coverage %llu edges\n",
		(unsigned long long)vm->hc.calls,
		(unsigned long long)vm->hc.errors,
		(unsigned long long)vm->hc.records,
		vm->hc.setup_complete ? "complete" : "not complete",
		(unsigned long long)vm->hc.choices,
		(unsigned long long)edges(vm));
	if (o.n)
		cc_oracle_print(&o, stderr);
	cc_oracle_free(&o);
}

static void print_stats(const struct cc_vm *vm)
{
	const struct cc_vm_stats *s = &vm->stats;
	uint64_t total = 0;
	for (int i = 0; i < CC_EXIT_HOST; i++)
		total += s->exits[i];
	fprintf(stderr, "exits: %llu guest-caused\n",
		(unsigned long long)total);
	for (int i = 0; i < CC_EXIT__COUNT; i++)
		if (s->exits[i])
			fprintf(stderr, "  %-16s %llu\n", cc_exit_class_name(i),
				(unsigned long long)s->exits[i]);
	fprintf(stderr, "irqs injected: %llu\n",
		(unsigned long long)s->irqs_injected);
	fprintf(stderr, "unclaimed port/mmio accesses: %llu/%llu\n",
		(unsigned long long)s->unknown_pio,
		(unsigned long long)s->unknown_mmio);
	fprintf(stderr, "serial bytes: %llu\n",
		(unsigned long long)s->serial_bytes);
	fprintf(stderr, "progress units: %llu\n",
		(unsigned long long)s->progress_units);
	for (int i = 0; i < CC_FIXUP__COUNT; i++)
		fprintf(stderr, "pvm fix-up %-10s %llu\n", cc_fixup_name(i),
			(unsigned long long)s->fixups[i]);
	print_devices(vm);
	fprintf(stderr, "watchdog fires (non-deterministic): %llu\n",
		(unsigned long long)s->watchdog_fires);
}

/* Where the guest was at a firing: kernel RIPs by the kernel's symbols,
 * user RIPs by the code locator (the bytes there, found in a file). */
static const char *spin_where(const struct cc_vm *vm,
			      const struct cc_codeloc *loc,
			      const struct cc_spin_site *sp, char *buf,
			      size_t cap)
{
	char sym[200];
	if (sp->cpl == 0)
		snprintf(
			buf, cap, "%s in the kernel",
			cc_symtab_format(&vm->syms, sp->rip, sym, sizeof(sym)));
	else if (!loc ||
		 !cc_codeloc_name(loc, sp->rip, sp->code, sp->ncode, buf, cap))
		snprintf(buf, cap,
			 "0x%llx in user space, in no file given "
			 "(--symbols FILE, or an --image spec, names it)",
			 (unsigned long long)sp->rip);
	return buf;
}

void cc_report_spins(const struct cc_vm *vm, const struct cc_codeloc *loc,
		     FILE *f)
{
	if (!vm->stats.watchdog_fires)
		return;
	fprintf(f,
		"chaoscontrol: warning: the watchdog fired %llu times: this "
		"run is NOT reproducible (the guest ran without an exit for "
		"too long and virtual time was moved on at instructions the "
		"host chose); where it was:\n",
		(unsigned long long)vm->stats.watchdog_fires);
	char where[512];
	for (size_t i = 0; i < vm->nspins; i++) {
		const struct cc_spin_site *sp = &vm->spins[i];
		fprintf(f, "chaoscontrol:   %llu x %s mode at %s\n",
			(unsigned long long)sp->count,
			sp->cpl ? "user" : "kernel",
			spin_where(vm, loc, sp, where, sizeof(where)));
	}
	if (vm->spins_elsewhere)
		fprintf(f, "chaoscontrol:   %llu x elsewhere\n",
			(unsigned long long)vm->spins_elsewhere);
	fprintf(f, "chaoscontrol: a loop that waits without system calls "
		   "needs the SDK's instrumentation (-fsanitize-coverage="
		   "trace-pc) or a blocking wait\n");
}

static json_t *spins_json(const struct cc_vm *vm, const struct cc_codeloc *loc)
{
	json_t *a = json_array();
	char where[512];
	for (size_t i = 0; i < vm->nspins; i++) {
		const struct cc_spin_site *sp = &vm->spins[i];
		json_array_append_new(
			a, json_pack("{s:I, s:s, s:I, s:s}", "rip",
				     (json_int_t)sp->rip, "mode",
				     sp->cpl ? "user" : "kernel", "count",
				     (json_int_t)sp->count, "where",
				     spin_where(vm, loc, sp, where,
						sizeof(where))));
	}
	return a;
}

static void save_serial(const struct cc_vm *vm, const char *path)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "wb");
	if (!f || fwrite(vm->serial, 1, vm->serial_len, f) != vm->serial_len ||
	    fclose(f) != 0 || rename(tmp, path) != 0) {
		perror("chaoscontrol: --serial-out");
		return;
	}
}

/* What the guest sent past the VMM's caps: answered, not kept. */
static void print_dropped(const struct cc_vm *vm)
{
	uint64_t rec = cc_hypercall_records_dropped(&vm->hc_log, &vm->hc);
	uint64_t cho = cc_hypercall_choices_dropped(&vm->hc_log, &vm->hc);
	if (vm->serial_dropped)
		fprintf(stderr,
			"chaoscontrol: warning: %llu console bytes past "
			"the capture cap were shown, not kept "
			"(--console-cap)\n",
			(unsigned long long)vm->serial_dropped);
	if (rec || cho)
		fprintf(stderr,
			"chaoscontrol: warning: %llu SDK records and %llu "
			"choice records past the log's cap were not kept "
			"(--sdk-log-cap): the properties miss them\n",
			(unsigned long long)rec, (unsigned long long)cho);
}

int cc_report_boot(const struct cc_vm *vm, const struct cc_vm_result *res,
		   double wall_s, bool stats, const char *serial_out,
		   const struct cc_codeloc *loc)
{
	uint64_t total = 0;
	for (int i = 0; i < CC_EXIT_HOST; i++)
		total += vm->stats.exits[i];
	fprintf(stderr,
		"chaoscontrol: guest stopped (%s): %s\n"
		"chaoscontrol: virtual time %.3f s, %llu exits, wall %.2f "
		"s%s\n",
		cc_stop_name(res->stop), res->msg, res->vclock_ns / 1e9,
		(unsigned long long)total, wall_s,
		vm->stats.watchdog_fires ? ", WATCHDOG FIRED" : "");
	/* A device the guest broke is the guest's bug, worth a line. */
	const struct cc_virtio_mmio *devs[] = {&vm->blk.t, &vm->net.t,
					       &vm->rng.t, &vm->img.t};
	for (unsigned i = 0; i < 4; i++)
		if (devs[i]->s.errors && devs[i]->ops)
			fprintf(stderr,
				"chaoscontrol: warning: %s: the guest broke "
				"the virtio protocol %llu times (device "
				"needs reset); last: %s\n",
				devs[i]->ops->name,
				(unsigned long long)devs[i]->s.errors,
				devs[i]->s.last_error);
	print_sdk(vm);
	print_dropped(vm);
	cc_report_spins(vm, loc, stderr);
	if (stats)
		print_stats(vm);
	if (serial_out)
		save_serial(vm, serial_out);
	return exit_code(vm, res);
}

struct bucket {
	const char *name;
	uint64_t addr;
	unsigned count;
};

static int by_count(const void *a, const void *b)
{
	const struct bucket *x = a, *y = b;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

void cc_report_profile(const struct cc_vm *vm, FILE *f, unsigned n)
{
	size_t ns = vm->nsamples;
	struct bucket *b = calloc(ns ? ns : 1, sizeof(*b));
	size_t nb = 0, user = 0;
	if (!b)
		return;
	for (size_t i = 0; i < ns; i++) {
		const struct cc_rip_sample *s = &vm->samples[i];
		if (s->cpl == 3) {
			user++;
			continue;
		}
		const struct cc_sym *sym = cc_symtab_find(&vm->syms, s->rip);
		const char *name = sym ? sym->name : NULL;
		uint64_t key = sym ? sym->addr : s->rip;
		size_t j = 0;
		while (j < nb && b[j].addr != key)
			j++;
		if (j == nb)
			b[nb++] = (struct bucket){name, key, 0};
		b[j].count++;
	}
	qsort(b, nb, sizeof(*b), by_count);
	fprintf(f, "profile: %zu samples, %zu in user space (CPL3)\n", ns,
		user);
	for (size_t i = 0; i < nb && i < n; i++)
		fprintf(f, "  %5.1f%%  %s%s%llx\n", 100.0 * b[i].count / ns,
			b[i].name ? b[i].name : "", b[i].name ? " @ 0x" : "0x",
			(unsigned long long)b[i].addr);
	free(b);
}

static json_t *exits_json(const struct cc_vm_stats *s)
{
	json_t *o = json_object();
	for (int i = 0; i < CC_EXIT_HOST; i++)
		if (s->exits[i])
			json_object_set_new(
				o, cc_exit_class_name(i),
				json_integer((json_int_t)s->exits[i]));
	return o;
}

static json_t *fixups_json(const struct cc_vm_stats *s)
{
	json_t *o = json_object();
	for (int i = 0; i < CC_FIXUP__COUNT; i++)
		json_object_set_new(o, cc_fixup_name(i),
				    json_integer((json_int_t)s->fixups[i]));
	return o;
}

void cc_report_json(const struct cc_vm *vm, const struct cc_vm_result *res,
		    uint64_t trace_hash, int platform_kind, double wall_s,
		    const struct cc_codeloc *loc, FILE *f)
{
	char hash[17];
	snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)trace_hash);
	const struct cc_vm_stats *s = &vm->stats;
	json_t *limits = json_array();
	for (const char *const *l = cc_platform_limits(platform_kind); *l; l++)
		json_array_append_new(limits, json_string(*l));
	json_t *host =
		json_pack("{s:s, s:o, s:f, s:I}", "platform",
			  cc_platform_name(platform_kind), "platform_limits",
			  limits, "wall_s", wall_s, "host_exits",
			  (json_int_t)s->exits[CC_EXIT_HOST]);
	/* Host-chosen instructions: with the wall-clock figures. */
	json_object_set_new(host, "spins", spins_json(vm, loc));
	json_t *o = json_pack(
		"{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:o, s:I, s:I, s:o}",
		"trace_hash", hash, "stop", cc_stop_name(res->stop), "message",
		res->msg, "exit_status", (json_int_t)res->exit_status,
		"vclock_ns", (json_int_t)res->vclock_ns, "events",
		(json_int_t)vm->trace.st.count, "serial_bytes",
		(json_int_t)s->serial_bytes, "exits", exits_json(s), "fixups",
		fixups_json(s), "irqs_injected", (json_int_t)s->irqs_injected,
		"watchdog_fires", (json_int_t)s->watchdog_fires, "host", host);
	json_object_set_new(o, "progress_units",
			    json_integer((json_int_t)s->progress_units));
	json_object_set_new(o, "devices", devices_json(vm));
	json_object_set_new(
		o, "dropped",
		json_pack("{s:I, s:I, s:I}", "console_bytes",
			  (json_int_t)vm->serial_dropped, "sdk_records",
			  (json_int_t)cc_hypercall_records_dropped(&vm->hc_log,
								   &vm->hc),
			  "choices",
			  (json_int_t)cc_hypercall_choices_dropped(&vm->hc_log,
								   &vm->hc)));
	if (sdk_used(vm))
		json_object_set_new(o, "sdk", cc_report_sdk_json(vm));
	json_dumpf(o, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', f);
	json_decref(o);
}
