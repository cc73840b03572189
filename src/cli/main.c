/*
 * chaoscontrol: deterministic hypervisor for simulation testing.
 * One binary, one subcommand per job.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifndef CC_GUEST_DIR
#define CC_GUEST_DIR "build/guest"
#endif

static const char usage[] =
	"usage: chaoscontrol <command> [options]\n"
	"\n"
	"commands:\n"
	"  boot     boot a guest and stream its serial console\n"
	"  run      run a guest deterministically (seed, ticks, trace hash)\n"
	"  explore SCENARIO  search fault schedules and choices for a\n"
	"           property that breaks (coverage-guided, from snapshots)\n"
	"  replay REC  run a recording (run --record) again and check every\n"
	"           event against it\n"
	"  triage DIR|REPRO...  group bugs by property and shrink each one's\n"
	"           schedule to a 1-minimal one, recorded\n"
	"  determinism  run the same configuration N times in fresh\n"
	"           processes and report the first divergent event\n"
	"  doctor   probe this host: platform, KVM features, exit cost,\n"
	"           and what determinism it can guarantee\n"
	"  image build SPEC.json  pack programs (with their libraries),\n"
	"           files and links into a guest image\n"
	"\n"
	"`chaoscontrol <command> --help` describes each command.\n"
	"Without --kernel/--initrd, commands use the default guest that\n"
	"`make` built (" CC_GUEST_DIR ").\n";

const char *cc_cli_guest_dir(void)
{
	const char *d = getenv("CHAOSCONTROL_GUEST_DIR");
	return d && *d ? d : CC_GUEST_DIR;
}

int cc_cli_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > max)
		return -1;
	*out = v;
	return 0;
}

int cc_cli_platform(const char *name, enum cc_platform_kind *kind)
{
	if (!strcmp(name, "pvm")) {
		*kind = CC_PLATFORM_PVM;
		return 0;
	}
	if (!strcmp(name, "hardware")) {
		*kind = CC_PLATFORM_HARDWARE;
		return 0;
	}
	struct cc_platform p;
	struct cc_err e;
	if (cc_platform_probe(&p, &e)) {
		fprintf(stderr, "chaoscontrol: %s\n", e.msg);
		return -1;
	}
	*kind = p.kind;
	return 0;
}

double cc_cli_wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* `run --vms N` and `run SCENARIO.json` are clusters (cmd_cluster.c). */
static bool wants_cluster(int argc, char **argv)
{
	if (cc_cli_scenario_index(argc, argv))
		return true;
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--vms") ||
		    !strncmp(argv[i], "--vms=", 6) ||
		    !strcmp(argv[i], "--reproduce") ||
		    !strncmp(argv[i], "--reproduce=", 12))
			return true;
	return false;
}

unsigned cc_cli_watchdog_ms(enum cc_platform_kind kind)
{
	return kind == CC_PLATFORM_PVM ? 120000u : 5000u;
}

/* On PVM user code runs natively while the kernel is emulated, so a
 * user program with no system call, fault or I/O for 250 ms spins (a
 * real one makes a system call every few microseconds there); on
 * hardware KVM both run alike and one bound serves. */
unsigned cc_cli_spin_ms(enum cc_platform_kind kind)
{
	return kind == CC_PLATFORM_PVM ? 250u : 0u;
}

uint64_t cc_cli_parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s)
		return 0;
	uint64_t mul = 1ull << 20;
	if (*end == 'G' || *end == 'g')
		mul = 1ull << 30, end++;
	else if (*end == 'M' || *end == 'm')
		end++;
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	if (*end || v > (1ull << 40) / mul)
		return 0;
	return v * mul;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CC_EXIT_USAGE : CC_EXIT_OK;
	}
	if (!strcmp(argv[1], "boot"))
		return cc_cmd_boot(argc - 1, argv + 1);
	if (!strcmp(argv[1], "run"))
		return wants_cluster(argc - 1, argv + 1)
			       ? cc_cmd_cluster(argc - 1, argv + 1)
			       : cc_cmd_run_vm(argc - 1, argv + 1);
	if (!strcmp(argv[1], "explore"))
		return cc_cmd_explore(argc - 1, argv + 1);
	if (!strcmp(argv[1], "image"))
		return cc_cmd_image(argc - 1, argv + 1);
	if (!strcmp(argv[1], "replay"))
		return cc_cmd_replay(argc - 1, argv + 1);
	if (!strcmp(argv[1], "triage"))
		return cc_cmd_triage(argc - 1, argv + 1);
	if (!strcmp(argv[1], "determinism"))
		return cc_cmd_determinism(argc - 1, argv + 1);
	if (!strcmp(argv[1], "doctor"))
		return cc_cmd_doctor(argc - 1, argv + 1);
	fprintf(stderr, "chaoscontrol: unknown command '%s'\n%s", argv[1],
		usage);
	return CC_EXIT_USAGE;
}
