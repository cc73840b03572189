/*
 * `chaoscontrol boot` and `chaoscontrol run`: boot one guest on the
 * virtual clock, stream its console, report.  `run` is the deterministic
 * form: it takes a seed and a horizon in ticks and ends its output with
 * the trace hash; `boot` is the same with no horizon.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chaoscontrol/protocol.h"
#include "../vmm/cmdline.h"
#include "../vmm/platform.h"
#include "../vmm/snapfile.h"
#include "../vmm/snapshot.h"
#include "../run/codeloc.h"
#include "../run/coverage.h"
#include "../sim/net_echo.h"
#include "../vmm/trace.h"
#include "../run/boot_cache.h"
#include "../run/image.h"
#include "../vmm/vm.h"
#include "cli.h"
#include "report.h"

static const char help_boot[] =
	"usage: chaoscontrol boot [options]\n"
	"\n"
	"Boots a guest kernel on a virtual clock and streams its serial\n"
	"console (COM1) to stdout.  Diagnostics go to stderr.  The same as\n"
	"`chaoscontrol run` with no horizon.\n"
	"\n";

static const char help_run[] =
	"usage: chaoscontrol run [--seed S] [--ticks N] [--trace FILE] "
	"[--json]\n"
	"                        [options] [-- PROGRAM [ARGS...]]\n"
	"\n"
	"Runs a guest deterministically: the same inputs and seed give the\n"
	"same execution, event for event.  The console streams to stdout and\n"
	"the output ends with `trace-hash: <16 hex digits>`, a hash of every\n"
	"guest-visible event (exits with their data, interrupts, virtual\n"
	"time).  Diagnostics go to stderr.\n"
	"\n"
	"PROGRAM (a path inside the guest, e.g. /bin/diskcheck) is what\n"
	"init runs once the guest is up; it is handed over after the boot\n"
	"cache's ready point, so every program shares one cached boot.\n"
	"\n"
	"With --vms N, `run` runs a cluster of N VMs under a fault\n"
	"schedule instead: `chaoscontrol run --vms N --help` has its\n"
	"options.\n"
	"\n";

static const char help_options[] =
	"  --seed S            simulation seed (default 0): the guest's "
	"entropy\n"
	"  --ticks N           stop after N ticks (1 ms each) of virtual time\n"
	"  --trace FILE        also write every event (with its guest RIP) to\n"
	"                      FILE, for `chaoscontrol determinism`\n"
	"  --json              print one JSON object on stdout at the end\n"
	"                      (\"trace_hash\", stop, counters); the console\n"
	"                      goes to stderr\n"
	"  --snapshot-at TICK  snapshot the VM at virtual tick TICK ...\n"
	"  --save FILE         ... into FILE (versioned, zstd), then go on\n"
	"  --restore FILE      start from a snapshot file instead of booting;\n"
	"                      --ticks still counts from boot; with --seed,\n"
	"                      the guest's entropy continues from that seed\n"
	"                      (a fork), else from the snapshot's stream\n"
	"  --disk IMAGE        attach IMAGE (raw, opened read-only) as\n"
	"                      /dev/vda; writes go to a copy-on-write overlay\n"
	"  --data-disk IMAGE   the same, and init mounts it (ext4) at /data\n"
	"  --disk-out FILE     at the end, write image + overlay to FILE\n"
	"  --disk-fault F      inject F: read-error, write-error, torn-write,\n"
	"                      corruption or full (repeatable), from ...\n"
	"  --faults-at WHEN    ... ready (init is up; the default) or setup\n"
	"                      (the guest program's SDK setup_complete)\n"
	"  --coverage-out FILE write the guest's coverage bitmap (64 KiB of\n"
	"                      AFL-style edge counters) to FILE at the end\n"
	"  --env NAME=VALUE    add to the program's environment (repeatable;\n"
	"                      with -- PROGRAM)\n"
	"  --cwd DIR           the program's working directory (default /)\n"
	"  --choice SEQ=VALUE  answer the guest's SEQ-th random draw (SDK\n"
	"                      random_choice/get_random, from 0) with VALUE\n"
	"                      (repeatable)\n"
	"  --hypercall-transport T\n"
	"                      how SDK calls reach the VMM: mmio (default,\n"
	"                      works everywhere) or pio (outb 0x510; guest\n"
	"                      user space needs iopl, not on PVM)\n"
	"  --net-echo          connect the VM's network port to a mirror that\n"
	"                      answers ARP and echoes IPv4 (UDP, TCP, ICMP)\n"
	"                      back; frames move at every 1 ms tick\n"
	"  --no-cache          boot afresh: neither use nor create the boot\n"
	"                      cache (default: the first run of a guest\n"
	"                      configuration saves a snapshot at its ready\n"
	"                      point, later runs start from it)\n"
	"\n"
	"  --kernel PATH       ELF vmlinux or bzImage (default: the built-in\n"
	"                      guest).  On PVM hosts prefer vmlinux: a\n"
	"                      bzImage's decompressor runs emulated there\n"
	"                      (slower, see README); on hardware KVM both\n"
	"                      are fast\n"
	"  --initrd PATH       initramfs (default: the built-in one)\n"
	"  --no-initrd         boot without an initramfs\n"
	"  --image IMAGE       the guest's image: a spec (.json, built into\n"
	"                      an image disk), an image disk (laid over the\n"
	"                      root after the ready point: no boot of its\n"
	"                      own) or an initramfs (like --initrd)\n"
	"  --mem SIZE          guest RAM, e.g. 256M or 1G (default 256M)\n"
	"  --console-cap N     console bytes kept (K, M: KiB, MiB; default\n"
	"                      16M, at most 64M);\n"
	"                      past it, output is shown and counted, not kept\n"
	"  --sdk-log-cap N     SDK records and choice records kept, each\n"
	"                      (default 262144); past it, counted, not kept\n"
	"  --cmdline ARGS      appended to the generated kernel command line\n"
	"  --verbose-kernel    full kernel log (default: quiet)\n"
	"  --serial-out FILE   also write the console output to FILE\n"
	"  --quiet             don't stream the console to stdout\n"
	"  --stats             print exit counts by reason, fix-ups, IRQs\n"
	"  --profile MS        sample the guest RIP every MS wall ms and\n"
	"                      print where guest time went\n"
	"  --watchdog-ms MS    preempt a guest that makes no exit for MS wall\n"
	"                      ms (counted as non-deterministic; 0 = off;\n"
	"                      default 5000 on hardware KVM, 120000 on PVM,\n"
	"                      where the emulated kernel computes for tens\n"
	"                      of seconds between exits while it boots)\n"
	"  --spin-ms MS        the same for a guest in user mode (default 250\n"
	"                      on PVM, where user code runs natively; on\n"
	"                      hardware KVM, --watchdog-ms); the report names\n"
	"                      the function that spun\n"
	"  --symbols FILE      an ELF file the guest runs, to name where it\n"
	"                      spun (repeatable; an --image spec's files are\n"
	"                      used anyway)\n"
	"  --max-exits N       stop after N exits\n"
	"  --max-vtime MS      stop after MS ms of virtual time\n"
	"  --platform P        auto (probe, default), hardware or pvm\n"
	"  --cpuid-hide-avx    hide AVX2 and AVX-512 from the guest (for\n"
	"                      recordings that must replay on other hosts)\n"
	"  --cpuid-fixed-model report a fixed family/model/brand (host "
	"vendor)\n"
	"\n"
	"exit status: 0 guest finished with status 0; 1 guest program\n"
	"failed; 2 usage; 3 set-up error (KVM, kernel, initrd, memory);\n"
	"4 guest crashed (triple fault, panic, emulation failure, idle\n"
	"forever); 5 a limit stopped it (for `run`, reaching --ticks is 0).\n";

#define WATCHDOG_AUTO UINT32_MAX

struct boot_opts {
	const char *kernel, *initrd, *append, *serial_out, *platform, *image;
	const char *trace, *save, *restore;
	const char *disk, *disk_out, *coverage_out;
	struct cc_disk_faults faults;
	bool any_fault, net_echo, faults_at_setup, data_disk;
	struct cc_hc_override choices[64];
	size_t nchoices;
	uint32_t hc_transport;
	char **exec_argv;	  /* NULL: init's default */
	const char *exec_env[65]; /* --env, NULL-terminated */
	size_t nenv;
	const char *symbols[16]; /* --symbols: ELF files to name spins by */
	size_t nsymbols;
	const char *exec_cwd; /* --cwd */
	uint64_t snapshot_at;
	bool no_cache, seed_given;
	bool no_initrd, verbose, quiet, stats, json, is_run;
	bool hide_avx, fixed_model;
	uint64_t mem, max_exits, max_vtime_ms, seed, ticks;
	uint64_t console_cap, sdk_log_cap;
	unsigned profile_ms, watchdog_ms, spin_ms;
};

enum {
	OPT_KERNEL = 256,
	OPT_INITRD,
	OPT_NO_INITRD,
	OPT_MEM,
	OPT_CONSOLE_CAP,
	OPT_SDK_LOG_CAP,
	OPT_CMDLINE,
	OPT_VERBOSE,
	OPT_SERIAL_OUT,
	OPT_QUIET,
	OPT_STATS,
	OPT_PROFILE,
	OPT_WATCHDOG,
	OPT_SPIN,
	OPT_SYMBOLS,
	OPT_MAX_EXITS,
	OPT_MAX_VTIME,
	OPT_PLATFORM,
	OPT_SEED,
	OPT_TICKS,
	OPT_TRACE,
	OPT_JSON,
	OPT_SNAPSHOT_AT,
	OPT_SAVE,
	OPT_RESTORE,
	OPT_NO_CACHE,
	OPT_HIDE_AVX,
	OPT_FIXED_MODEL,
	OPT_DISK,
	OPT_DATA_DISK,
	OPT_IMAGE,
	OPT_DISK_OUT,
	OPT_DISK_FAULT,
	OPT_NET_ECHO,
	OPT_CHOICE,
	OPT_HC_TRANSPORT,
	OPT_COVERAGE_OUT,
	OPT_FAULTS_AT,
	OPT_ENV,
	OPT_CWD,
	OPT_HELP,
};

static const struct option longopts[] = {
	{"kernel", required_argument, 0, OPT_KERNEL},
	{"initrd", required_argument, 0, OPT_INITRD},
	{"no-initrd", no_argument, 0, OPT_NO_INITRD},
	{"image", required_argument, 0, OPT_IMAGE},
	{"mem", required_argument, 0, OPT_MEM},
	{"console-cap", required_argument, 0, OPT_CONSOLE_CAP},
	{"sdk-log-cap", required_argument, 0, OPT_SDK_LOG_CAP},
	{"cmdline", required_argument, 0, OPT_CMDLINE},
	{"verbose-kernel", no_argument, 0, OPT_VERBOSE},
	{"serial-out", required_argument, 0, OPT_SERIAL_OUT},
	{"quiet", no_argument, 0, OPT_QUIET},
	{"stats", no_argument, 0, OPT_STATS},
	{"profile", required_argument, 0, OPT_PROFILE},
	{"watchdog-ms", required_argument, 0, OPT_WATCHDOG},
	{"spin-ms", required_argument, 0, OPT_SPIN},
	{"symbols", required_argument, 0, OPT_SYMBOLS},
	{"max-exits", required_argument, 0, OPT_MAX_EXITS},
	{"max-vtime", required_argument, 0, OPT_MAX_VTIME},
	{"platform", required_argument, 0, OPT_PLATFORM},
	{"seed", required_argument, 0, OPT_SEED},
	{"ticks", required_argument, 0, OPT_TICKS},
	{"trace", required_argument, 0, OPT_TRACE},
	{"json", no_argument, 0, OPT_JSON},
	{"snapshot-at", required_argument, 0, OPT_SNAPSHOT_AT},
	{"save", required_argument, 0, OPT_SAVE},
	{"restore", required_argument, 0, OPT_RESTORE},
	{"no-cache", no_argument, 0, OPT_NO_CACHE},
	{"cpuid-hide-avx", no_argument, 0, OPT_HIDE_AVX},
	{"cpuid-fixed-model", no_argument, 0, OPT_FIXED_MODEL},
	{"disk", required_argument, 0, OPT_DISK},
	{"data-disk", required_argument, 0, OPT_DATA_DISK},
	{"disk-out", required_argument, 0, OPT_DISK_OUT},
	{"disk-fault", required_argument, 0, OPT_DISK_FAULT},
	{"net-echo", no_argument, 0, OPT_NET_ECHO},
	{"choice", required_argument, 0, OPT_CHOICE},
	{"env", required_argument, 0, OPT_ENV},
	{"cwd", required_argument, 0, OPT_CWD},
	{"coverage-out", required_argument, 0, OPT_COVERAGE_OUT},
	{"faults-at", required_argument, 0, OPT_FAULTS_AT},
	{"hypercall-transport", required_argument, 0, OPT_HC_TRANSPORT},
	{"help", no_argument, 0, OPT_HELP},
	{0, 0, 0, 0},
};

static int bad(const char *msg, const char *arg)
{
	fprintf(stderr, "chaoscontrol: %s '%s' (see --help)\n", msg, arg);
	return CC_EXIT_USAGE;
}

/* N bytes, NK KiB or NM MiB; 0 when malformed. */
static uint64_t parse_bytes(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	uint64_t mul = 1;
	if (*end == 'K' || *end == 'k')
		mul = 1ull << 10, end++;
	else if (*end == 'M' || *end == 'm')
		mul = 1ull << 20, end++;
	if (end == s || *end || s[0] == '-' || v > (1ull << 40) / mul)
		return 0;
	return v * mul;
}

static int parse_fault(const char *s, struct cc_disk_faults *f)
{
	if (!strcmp(s, "read-error"))
		f->read_error = true;
	else if (!strcmp(s, "write-error"))
		f->write_error = true;
	else if (!strcmp(s, "torn-write"))
		f->torn_write = true;
	else if (!strcmp(s, "corruption"))
		f->corruption = true;
	else if (!strcmp(s, "full"))
		f->full = true;
	else
		return -1;
	return 0;
}

static int parse_choice(const char *s, struct boot_opts *o)
{
	char *end;
	unsigned long long seq = strtoull(s, &end, 10), val;
	if (end == s || *end != '=' || o->nchoices == 64 || s[0] == '-')
		return -1;
	const char *v = end + 1;
	val = strtoull(v, &end, 10);
	if (end == v || *end || v[0] == '-')
		return -1;
	o->choices[o->nchoices++] = (struct cc_hc_override){seq, val};
	return 0;
}

static int parse(int argc, char **argv, struct boot_opts *o, bool is_run)
{
	memset(o, 0, sizeof(*o));
	o->is_run = is_run;
	o->watchdog_ms = WATCHDOG_AUTO;
	o->spin_ms = WATCHDOG_AUTO;
	o->platform = "auto";
	uint64_t v;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_KERNEL:
			o->kernel = optarg;
			break;
		case OPT_INITRD:
			o->initrd = optarg;
			break;
		case OPT_NO_INITRD:
			o->no_initrd = true;
			break;
		case OPT_IMAGE:
			o->image = optarg;
			break;
		case OPT_MEM:
			o->mem = cc_cli_parse_size(optarg);
			if (!o->mem)
				return bad("invalid --mem", optarg);
			break;
		case OPT_CONSOLE_CAP:
			o->console_cap = parse_bytes(optarg);
			if (!o->console_cap || o->console_cap > CC_CONSOLE_MAX)
				return bad("invalid --console-cap (1 to 64M)",
					   optarg);
			break;
		case OPT_SDK_LOG_CAP:
			if (cc_cli_parse_u64(optarg, UINT32_MAX,
					     &o->sdk_log_cap) ||
			    !o->sdk_log_cap)
				return bad("invalid --sdk-log-cap", optarg);
			break;
		case OPT_CMDLINE:
			o->append = optarg;
			break;
		case OPT_VERBOSE:
			o->verbose = true;
			break;
		case OPT_SERIAL_OUT:
			o->serial_out = optarg;
			break;
		case OPT_QUIET:
			o->quiet = true;
			break;
		case OPT_STATS:
			o->stats = true;
			break;
		case OPT_PROFILE:
			if (cc_cli_parse_u64(optarg, UINT64_MAX, &v) || !v ||
			    v > 10000)
				return bad("invalid --profile", optarg);
			o->profile_ms = (unsigned)v;
			break;
		case OPT_WATCHDOG:
			if (cc_cli_parse_u64(optarg, UINT64_MAX, &v) ||
			    v > 3600000)
				return bad("invalid --watchdog-ms", optarg);
			o->watchdog_ms = (unsigned)v;
			break;
		case OPT_SPIN:
			if (cc_cli_parse_u64(optarg, UINT64_MAX, &v) ||
			    v > 3600000)
				return bad("invalid --spin-ms", optarg);
			o->spin_ms = (unsigned)v;
			break;
		case OPT_SYMBOLS:
			if (o->nsymbols == 16)
				return bad("too many --symbols (at most 16)",
					   optarg);
			o->symbols[o->nsymbols++] = optarg;
			break;
		case OPT_MAX_EXITS:
			if (cc_cli_parse_u64(optarg, UINT64_MAX, &o->max_exits))
				return bad("invalid --max-exits", optarg);
			break;
		case OPT_MAX_VTIME:
			if (cc_cli_parse_u64(optarg, UINT64_MAX,
					     &o->max_vtime_ms))
				return bad("invalid --max-vtime", optarg);
			break;
		case OPT_PLATFORM:
			if (strcmp(optarg, "auto") && strcmp(optarg, "pvm") &&
			    strcmp(optarg, "hardware"))
				return bad("invalid --platform", optarg);
			o->platform = optarg;
			break;
		case OPT_SEED:
			if (cc_cli_parse_u64(optarg, UINT64_MAX, &o->seed))
				return bad("invalid --seed", optarg);
			o->seed_given = true;
			break;
		case OPT_TICKS:
			if (cc_cli_parse_u64(optarg, UINT64_MAX, &o->ticks) ||
			    !o->ticks || o->ticks > UINT64_MAX / CC_NS_PER_TICK)
				return bad("invalid --ticks", optarg);
			break;
		case OPT_TRACE:
			o->trace = optarg;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_SNAPSHOT_AT:
			if (cc_cli_parse_u64(optarg, UINT64_MAX,
					     &o->snapshot_at) ||
			    !o->snapshot_at ||
			    o->snapshot_at > UINT64_MAX / CC_NS_PER_TICK)
				return bad("invalid --snapshot-at", optarg);
			break;
		case OPT_SAVE:
			o->save = optarg;
			break;
		case OPT_RESTORE:
			o->restore = optarg;
			break;
		case OPT_NO_CACHE:
			o->no_cache = true;
			break;
		case OPT_HIDE_AVX:
			o->hide_avx = true;
			break;
		case OPT_FIXED_MODEL:
			o->fixed_model = true;
			break;
		case OPT_DISK:
			o->disk = optarg;
			break;
		case OPT_DATA_DISK:
			o->data_disk = true;
			o->disk = optarg;
			break;
		case OPT_DISK_OUT:
			o->disk_out = optarg;
			break;
		case OPT_DISK_FAULT:
			if (parse_fault(optarg, &o->faults))
				return bad("invalid --disk-fault", optarg);
			o->any_fault = true;
			break;
		case OPT_NET_ECHO:
			o->net_echo = true;
			break;
		case OPT_FAULTS_AT:
			if (strcmp(optarg, "ready") && strcmp(optarg, "setup"))
				return bad("invalid --faults-at", optarg);
			o->faults_at_setup = !strcmp(optarg, "setup");
			break;
		case OPT_COVERAGE_OUT:
			o->coverage_out = optarg;
			break;
		case OPT_ENV:
			if (!strchr(optarg, '=') || optarg[0] == '=' ||
			    o->nenv == 64)
				return bad("invalid --env (want NAME=VALUE, at "
					   "most 64)",
					   optarg);
			o->exec_env[o->nenv++] = optarg;
			break;
		case OPT_CWD:
			if (optarg[0] != '/')
				return bad("invalid --cwd (an absolute path)",
					   optarg);
			o->exec_cwd = optarg;
			break;
		case OPT_CHOICE:
			if (parse_choice(optarg, o))
				return bad("invalid --choice (want SEQ=VALUE, "
					   "at most 64)",
					   optarg);
			break;
		case OPT_HC_TRANSPORT:
			if (!strcmp(optarg, "mmio"))
				o->hc_transport = CC_HC_TRANSPORT_MMIO;
			else if (!strcmp(optarg, "pio"))
				o->hc_transport = CC_HC_TRANSPORT_PIO;
			else
				return bad("invalid --hypercall-transport",
					   optarg);
			break;
		case OPT_HELP:
			fputs(is_run ? help_run : help_boot, stdout);
			fputs(help_options, stdout);
			exit(CC_EXIT_OK);
		default:
			return CC_EXIT_USAGE;
		}
	}
	if (optind < argc)
		o->exec_argv = argv + optind;
	if ((o->nenv || o->exec_cwd) && !o->exec_argv) {
		fprintf(stderr, "chaoscontrol: --env and --cwd go with "
				"-- PROGRAM [ARGS...]\n");
		return CC_EXIT_USAGE;
	}
	if ((o->any_fault || o->disk_out) && !o->disk) {
		fprintf(stderr, "chaoscontrol: --disk-fault and --disk-out "
				"need --disk\n");
		return CC_EXIT_USAGE;
	}
	if (!o->snapshot_at != !o->save) {
		fprintf(stderr, "chaoscontrol: --snapshot-at and --save go "
				"together\n");
		return CC_EXIT_USAGE;
	}
	return 0;
}

static int resolve_platform(const struct boot_opts *o,
			    enum cc_platform_kind *kind)
{
	return cc_cli_platform(o->platform, kind);
}

/* The earliest of --max-vtime and --ticks, in ns (0 = none). */
static uint64_t horizon_ns(const struct boot_opts *o)
{
	uint64_t a = o->max_vtime_ms * 1000000ull;
	uint64_t b = o->ticks * CC_NS_PER_TICK;
	if (!a || !b)
		return a | b;
	return a < b ? a : b;
}

/* Disk faults start at the ready point: the boot itself (and the boot
 * cache made of it) stays fault-free. */
static void arm_faults(struct cc_vm *vm, const struct boot_opts *o)
{
	if (o->any_fault && vm->has_disk)
		cc_vm_set_disk_faults(vm, o->faults);
}

/* --net-echo: what the VM sent since the last tick comes back now. */
static void echo_frames(struct cc_vm *vm, struct cc_net_echo *echo)
{
	static struct cc_net_frame f;
	static uint8_t out[CC_NET_FRAME_MAX];
	uint32_t len;
	uint64_t now = vm->vclock.ns;
	while (cc_net_port_take(&vm->net, &f, now))
		if (cc_net_echo_reply(echo, f.data, f.len, out, &len))
			cc_vm_deliver_frame(vm, out, len);
}

/* The next stop: the horizon, the snapshot tick, and with --net-echo the
 * next whole tick (absolute, so a run restored mid-way stops where the
 * uninterrupted one did). */
static uint64_t next_stop(const struct cc_vm *vm, const struct boot_opts *o,
			  uint64_t horizon, uint64_t snap_at)
{
	uint64_t stop_ns = horizon;
	if (snap_at && (!stop_ns || snap_at < stop_ns))
		stop_ns = snap_at;
	if (o->net_echo) {
		uint64_t tick =
			(vm->vclock.ns / CC_NS_PER_TICK + 1) * CC_NS_PER_TICK;
		if (!stop_ns || tick < stop_ns)
			stop_ns = tick;
	}
	return stop_ns;
}

/*
 * Runs to the horizon, stopping on the way where the host has work: at
 * the guest's ready point (boot cache, disk faults), at --snapshot-at for
 * --save, at every tick for --net-echo.  Stopping, snapshotting and the
 * order of these do not change the execution: the trace hash is the
 * same as an uninterrupted run's.
 */
static int drive(struct cc_vm *vm, const struct boot_opts *o,
		 const char *cache_path, bool faults_at_ready,
		 struct cc_vm_result *res, bool *saved)
{
	uint64_t horizon = horizon_ns(o);
	uint64_t snap_at = o->snapshot_at * CC_NS_PER_TICK;
	struct cc_net_echo echo = {0};
	/* Faults gated on setup_complete wait for it (unless it is past). */
	bool faults_at_setup =
		o->any_fault && o->faults_at_setup && !vm->hc.setup_complete;
	for (;;) {
		vm->cfg.max_ns = next_stop(vm, o, horizon, snap_at);
		vm->cfg.stop_at_ready = cache_path || faults_at_ready;
		vm->cfg.stop_at_setup = faults_at_setup;
		if (cc_vm_run(vm, res))
			return -1;
		if (res->stop == CC_STOP_SETUP) {
			arm_faults(vm, o);
			faults_at_setup = false;
			continue;
		}
		if (res->stop == CC_STOP_READY) {
			if (cache_path)
				cc_run_save(vm, cache_path, "boot cache");
			cache_path = NULL; /* a failed save is only a warning */
			if (faults_at_ready && !o->faults_at_setup)
				arm_faults(vm, o);
			faults_at_ready = false;
			continue;
		}
		if (res->stop != CC_STOP_LIMIT)
			return 0;
		if (o->net_echo)
			echo_frames(vm, &echo);
		if (snap_at && vm->vclock.ns >= snap_at) {
			if (cc_run_save(vm, o->save, "snapshot"))
				return -1;
			snap_at = 0;
			*saved = true;
		}
		if (horizon && vm->vclock.ns >= horizon)
			return 0;
	}
}

/* The snapshot to start from (--restore, or a boot cache hit), loaded
 * and restored into vm.  Returns 0 also when there is none. */
static void fill_config(const struct boot_opts *o, enum cc_platform_kind kind,
			const char *cmdline, struct cc_vm_config *cfg)
{
	*cfg = (struct cc_vm_config){
		.cmdline = cmdline,
		.mem_size = o->mem,
		.console_cap = o->console_cap,
		.sdk_log_entries = o->sdk_log_cap,
		.serial_fd = o->quiet  ? -1
			     : o->json ? STDERR_FILENO
				       : STDOUT_FILENO,
		.max_exits = o->max_exits,
		.seed = o->seed,
		.trace_path = o->trace,
		.cpuid_hide_avx = o->hide_avx,
		.cpuid_fixed_model = o->fixed_model,
		.watchdog_ms = o->watchdog_ms != WATCHDOG_AUTO
				       ? o->watchdog_ms
				       : cc_cli_watchdog_ms(kind),
		.spin_ms = o->spin_ms != WATCHDOG_AUTO ? o->spin_ms
						       : cc_cli_spin_ms(kind),
		.sample_ms = o->profile_ms,
		.disk_path = o->disk,
		.mount_data = o->data_disk,
		.hc_transport = o->hc_transport,
		.choice_overrides = o->choices,
		.n_choice_overrides = o->nchoices,
		.exec_argv = (const char *const *)o->exec_argv,
		.exec_env = o->exec_env,
		.exec_cwd = o->exec_cwd,
	};
}

/* A --restore file's RAM size becomes the VM's unless --mem says
 * otherwise; a bad file is refused here, before anything boots. */
static int peek_restore(const struct boot_opts *o, struct cc_vm_config *cfg,
			struct cc_err *err)
{
	uint64_t size;
	if (cc_snapfile_ram_size(o->restore, &size, err))
		return -1;
	if (!cfg->mem_size)
		cfg->mem_size = size;
	return 0;
}

/* The files that name a user-mode spin: --symbols, and the files of an
 * --image spec.  Read only when the watchdog fired. */
static void load_symbols(const struct boot_opts *o, struct cc_codeloc *loc)
{
	struct cc_err e;
	size_t n = o->image ? strlen(o->image) : 0;
	if (n > 5 && !strcmp(o->image + n - 5, ".json") &&
	    cc_codeloc_add_spec(loc, o->image, &e))
		fprintf(stderr, "chaoscontrol: warning: --image: %s\n", e.msg);
	for (size_t i = 0; i < o->nsymbols; i++)
		if (cc_codeloc_add(loc, o->symbols[i], NULL, &e))
			fprintf(stderr,
				"chaoscontrol: warning: --symbols: %s\n",
				e.msg);
}

static int finish(struct cc_vm *vm, const struct boot_opts *o,
		  const struct cc_vm_result *res, enum cc_platform_kind kind,
		  double t0)
{
	struct cc_err e;
	double wall = cc_cli_wall_s() - t0;
	uint64_t hash = cc_vm_trace_hash(vm);
	struct cc_codeloc loc;
	cc_codeloc_init(&loc);
	if (vm->stats.watchdog_fires)
		load_symbols(o, &loc);
	int code = cc_report_boot(vm, res, wall, o->stats, o->serial_out, &loc);
	if (o->is_run && o->ticks && res->stop == CC_STOP_LIMIT &&
	    res->vclock_ns >= o->ticks * CC_NS_PER_TICK)
		code = CC_EXIT_OK; /* the horizon is the normal end of a run */
	if (o->profile_ms)
		cc_report_profile(vm, stderr, 25);
	if (cc_trace_close(&vm->trace, &e)) {
		fprintf(stderr, "chaoscontrol: %s\n", e.msg);
		code = CC_EXIT_SETUP;
	}
	if (o->json)
		cc_report_json(vm, res, hash, kind, wall, &loc, stdout);
	else
		printf("trace-hash: %016llx\n", (unsigned long long)hash);
	fflush(stdout);
	cc_codeloc_free(&loc);
	return code;
}

/* --coverage-out: the bitmap as the guest left it, temp name + rename. */
static int save_coverage(struct cc_vm *vm, const char *path)
{
	static uint8_t map[CC_COVERAGE_SIZE];
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	FILE *f = fopen(tmp, "wb");
	if (!cc_coverage_read(&vm->mem, map) || !f ||
	    fwrite(map, 1, sizeof(map), f) != sizeof(map) || fclose(f) ||
	    rename(tmp, path)) {
		perror("chaoscontrol: --coverage-out");
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int fail(const struct cc_err *e, int code)
{
	fprintf(stderr, "chaoscontrol: %s\n", e->msg);
	return code;
}

static int run(const struct boot_opts *o)
{
	static char kpath[4096], ipath[4096], cache[4096];
	double t0 = cc_cli_wall_s();
	snprintf(kpath, sizeof(kpath), "%s/vmlinux", cc_cli_guest_dir());
	snprintf(ipath, sizeof(ipath), "%s/initramfs.cpio", cc_cli_guest_dir());
	const char *kernel = o->kernel ? o->kernel : kpath;
	static char image[4096];
	bool image_disk = false;
	struct cc_err ie;
	char store[4000];
	if (o->image && (cc_cache_dir("images", store, sizeof(store), &ie) ||
			 cc_image_resolve(o->image, store, image, sizeof(image),
					  &image_disk, &ie))) {
		fprintf(stderr, "chaoscontrol: --image: %s\n", ie.msg);
		return CC_EXIT_SETUP;
	}
	const char *initrd = o->no_initrd	       ? NULL
			     : o->image && !image_disk ? image
			     : o->initrd	       ? o->initrd
						       : ipath;
	if ((!o->kernel && access(kpath, R_OK)) ||
	    (!o->initrd && initrd && access(ipath, R_OK))) {
		fprintf(stderr,
			"chaoscontrol: the default guest is not built "
			"(%s): run `make` first, or pass --kernel and "
			"--initrd\n",
			cc_cli_guest_dir());
		return CC_EXIT_SETUP;
	}
	enum cc_platform_kind kind;
	if (resolve_platform(o, &kind))
		return CC_EXIT_SETUP;
	fprintf(stderr, "chaoscontrol: platform: %s\n", cc_platform_name(kind));
	for (const char *const *l = cc_platform_limits(kind); *l; l++)
		fprintf(stderr, "chaoscontrol: platform limit: %s\n", *l);

	char cmdline[4096];
	struct cc_err e;
	char devices[256];
	cc_vm_virtio_cmdline(o->disk != NULL, devices, sizeof(devices));
	struct cc_cmdline_opts co = {kind, o->verbose, o->hide_avx, devices,
				     o->append};
	if (cc_cmdline_build(cmdline, sizeof(cmdline), &co, &e))
		return fail(&e, CC_EXIT_USAGE);
	struct cc_vm_config cfg;
	fill_config(o, kind, cmdline, &cfg);
	cfg.kernel_path = kernel;
	cfg.initrd_path = initrd;
	cfg.image_path = image_disk ? image : NULL;
	if (o->restore && peek_restore(o, &cfg, &e))
		return fail(&e, CC_EXIT_SETUP);
	bool use_cache = !o->restore && !o->no_cache;
	if (use_cache &&
	    cc_boot_cache_path(&cfg, kind, cache, sizeof(cache), &e)) {
		fprintf(stderr,
			"chaoscontrol: %s (running without the boot "
			"cache)\n",
			e.msg);
		use_cache = false;
	}
	struct cc_vm *vm;
	if (cc_vm_create(&vm, &cfg, &e))
		return fail(&e, CC_EXIT_SETUP);
	const char *save_cache = NULL;
	if (o->restore) {
		if (cc_run_start_from(vm, o->restore, false, &e)) {
			cc_vm_destroy(vm);
			return fail(&e, CC_EXIT_SETUP);
		}
		/* A fork: the branch's own seed from here on. */
		if (o->seed_given)
			cc_vm_reseed(vm, o->seed);
	} else if (use_cache && access(cache, F_OK) == 0) {
		if (cc_run_start_from(vm, cache, true, &e)) {
			/* Unusable entry: say so, boot afresh, rebuild it. */
			fprintf(stderr,
				"chaoscontrol: warning: %s; booting "
				"afresh and rebuilding it\n",
				e.msg);
			unlink(cache);
			cc_vm_destroy(vm);
			if (cc_vm_create(&vm, &cfg, &e))
				return fail(&e, CC_EXIT_SETUP);
			save_cache = cache;
		}
	} else if (use_cache) {
		save_cache = cache;
	}
	/* Started at or after the ready point: faults apply from here. */
	bool faults_at_ready = !o->restore && !(use_cache && !save_cache);
	if (!faults_at_ready && (!o->faults_at_setup || vm->hc.setup_complete))
		arm_faults(vm, o);
	struct cc_vm_result res;
	bool saved = false;
	if (drive(vm, o, save_cache, faults_at_ready, &res, &saved) &&
	    res.stop != CC_STOP_ERROR) {
		cc_vm_destroy(vm);
		return CC_EXIT_SETUP;
	}
	int code = finish(vm, o, &res, kind, t0);
	if (o->save && !saved) {
		/* A requested output that was not produced is an error. */
		fprintf(stderr,
			"chaoscontrol: no snapshot written to %s: the run "
			"ended at tick %llu, before --snapshot-at %llu\n",
			o->save,
			(unsigned long long)(vm->vclock.ns / CC_NS_PER_TICK),
			(unsigned long long)o->snapshot_at);
		if (code == CC_EXIT_OK)
			code = CC_EXIT_SETUP;
	}
	if (o->coverage_out && save_coverage(vm, o->coverage_out))
		code = CC_EXIT_SETUP;
	if (o->disk_out && cc_disk_writeback(&vm->blk.disk, o->disk_out, &e)) {
		fprintf(stderr, "chaoscontrol: %s\n", e.msg);
		code = CC_EXIT_SETUP;
	} else if (o->disk_out) {
		fprintf(stderr,
			"chaoscontrol: disk written back to %s (%llu "
			"overlay pages)\n",
			o->disk_out,
			(unsigned long long)cc_disk_overlay_pages(
				&vm->blk.disk));
	}
	cc_vm_destroy(vm);
	return code;
}

int cc_cmd_boot(int argc, char **argv)
{
	struct boot_opts o;
	int rc = parse(argc, argv, &o, false);
	return rc ? rc : run(&o);
}

/* `run` of one VM (main.c sends clusters to cmd_cluster.c). */
int cc_cmd_run_vm(int argc, char **argv)
{
	struct boot_opts o;
	int rc = parse(argc, argv, &o, true);
	return rc ? rc : run(&o);
}
