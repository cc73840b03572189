/* Human-readable reports of a finished run, and its exit code. */
#ifndef CC_REPORT_H
#define CC_REPORT_H

#include <stdbool.h>
#include <jansson.h>
#include <stdio.h>

#include "../vmm/platform.h"
#include "../vmm/vm.h"

/* Prints the summary (and stats) to stderr, saves the console to
 * serial_out if given, and returns the CLI exit code. */
struct cc_codeloc;
int cc_report_boot(const struct cc_vm *vm, const struct cc_vm_result *res,
		   double wall_s, bool stats, const char *serial_out,
		   const struct cc_codeloc *loc);

/* If the watchdog fired: that the run is not reproducible, and where
 * the guest was each time (user RIPs named through loc, may be NULL). */
void cc_report_spins(const struct cc_vm *vm, const struct cc_codeloc *loc,
		     FILE *f);

/* One JSON object describing the run.  Everything outside "host" is a
 * function of the inputs (compare it); "host" holds wall-clock figures. */
/* The SDK's log as JSON: calls, choices, events, coverage, and the
 * PropertyOracle's verdicts for this run. */
json_t *cc_report_sdk_json(const struct cc_vm *vm);

void cc_report_json(const struct cc_vm *vm, const struct cc_vm_result *res,
		    uint64_t trace_hash, int platform_kind, double wall_s,
		    const struct cc_codeloc *loc, FILE *f);

/* Top-n guest functions by RIP samples. */
void cc_report_profile(const struct cc_vm *vm, FILE *f, unsigned n);

/* The status in the console's last "cc-init: exit status N" line, or -1
 * (also -2 for "cc-init: killed by signal"). */
int cc_report_init_status(const char *serial, size_t len);

/* A cluster run (cluster_report.c): every VM's SDK records folded into
 * the oracle as one run, the report as text or JSON on stdout, and the
 * exit code (a crashed VM, else a failed property, else 0). */
struct cc_sim;
struct cc_oracle;
void cc_cluster_print_text(const struct cc_sim *s, struct cc_oracle *orc,
			   double wall);
void cc_cluster_print_json(const struct cc_sim *s, uint64_t seed,
			   struct cc_oracle *orc, double wall,
			   enum cc_platform_kind kind);
int cc_cluster_exit_code(const struct cc_sim *s, struct cc_oracle *orc);

#endif
