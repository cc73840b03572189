/*
 * The guest SDK end to end on the real guest, from the boot cache (the
 * same entry as test_virtio: the ext4 test image attached): sdkcheck's
 * verdicts as the PropertyOracle gives them, identical coverage bitmaps
 * for identical runs and other edges for other random_choice overrides,
 * clang's trace-pc-guard build, libvoidstar.so loaded the way the
 * Antithesis SDKs load it, and kernel edges from the KCOV kernel.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>

#include "helpers.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/platform.h"

#define CC   CC_BUILD_DIR "/chaoscontrol"
#define DISK CC_TEST_DISK
#define RUN  CC " run --disk " DISK " --ticks 60000"
#define COV  CC_BUILD_DIR "/tests/sdk-cov"

static char out[1 << 20];

TestSuite(sdk_linux, .init = cc_test_make_disk, .timeout = 3600);

/* Runs PROGRAM with --json (plus extra options); returns the report. */
static json_t *run_json(const char *extra, const char *program)
{
	cr_assert_eq(cc_test_sh(out, sizeof(out),
				RUN " --json %s -- %s 2>/dev/null", extra,
				program),
		     0, "%s", out);
	json_error_t e;
	json_t *j = json_loads(out, 0, &e);
	cr_assert(j, "bad JSON (%s):\n%s", e.text, out);
	return j;
}

static json_t *sdk_of(json_t *j)
{
	json_t *s = json_object_get(j, "sdk");
	cr_assert(json_is_object(s), "no sdk section");
	return s;
}

static const char *verdict(json_t *sdk, const char *message)
{
	json_t *props = json_object_get(json_object_get(sdk, "properties"),
					"properties");
	size_t i;
	json_t *p;
	json_array_foreach(props, i, p)
	{
		if (!strcmp(json_string_value(json_object_get(p, "message")),
			    message))
			return json_string_value(json_object_get(p, "verdict"));
	}
	cr_assert_fail("no property '%s'", message);
	return NULL;
}

Test(sdk_linux, sdkcheck_verdicts_are_the_ones_written)
{
	json_t *j = run_json("", "/bin/sdkcheck");
	json_t *s = sdk_of(j);
	static const struct {
		const char *message, *verdict;
	} want[] = {
		{"always holds", "pass"},
		{"always breaks", "always violated"},
		{"sometimes true", "pass"},
		{"sometimes never true", "sometimes never true"},
		{"always lt holds", "pass"},
		{"always ge breaks", "always violated"},
		{"always ne holds", "pass"},
		{"sometimes eq true", "pass"},
		{"sometimes gt never true", "sometimes never true"},
		{"always some holds", "pass"},
		{"sometimes all true", "pass"},
		{"reachable reached", "pass"},
		{"unreachable reached", "unreachable reached"},
		{"reachable never reached", "never reached"},
		{"unreachable not reached", "pass"},
		{"always never reached", "never reached"},
		{"always or unreachable, not reached", "pass"},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_str_eq(verdict(s, want[i].message), want[i].verdict,
				 "%s", want[i].message);
	json_t *props = json_object_get(s, "properties");
	cr_assert_eq(json_integer_value(json_object_get(props, "failed")), 7);
	cr_assert(json_is_true(json_object_get(s, "setup_complete")));
	cr_assert_eq(json_integer_value(json_object_get(s, "errors")), 0);
	cr_assert_eq(json_array_size(json_object_get(s, "choices")), 3);
	cr_assert_eq(json_array_size(json_object_get(s, "events")), 4,
		     "sdk info, 2 events, setup");
	json_t *cov = json_object_get(s, "coverage");
	cr_assert(json_is_true(json_object_get(cov, "live")));
	cr_assert_gt(json_integer_value(json_object_get(cov, "edges")), 0);
	json_decref(j);
}

/* The port transport (an outb to CC_PORT_HYPERCALL after iopl(3)) from
 * guest user space: the same verdicts as through the MMIO doorbell.  PVM
 * faults user-space port I/O whatever iopl says (a platform limit), so
 * this runs on hardware KVM (make test-hw). */
Test(sdk_linux, sdk_calls_through_the_0x510_port_on_hardware)
{
	struct cc_platform p;
	struct cc_err e;
	cr_assert_eq(cc_platform_probe(&p, &e), 0, "%s", e.msg);
	if (p.kind != CC_PLATFORM_HARDWARE)
		cr_skip_test(
			"PVM: user-space port I/O faults (platform limit)");
	json_t *j = run_json("--hypercall-transport pio", "/bin/sdkcheck");
	json_t *s = sdk_of(j);
	cr_assert_str_eq(verdict(s, "always breaks"), "always violated");
	cr_assert_str_eq(verdict(s, "sometimes true"), "pass");
	json_t *props = json_object_get(s, "properties");
	cr_assert_eq(json_integer_value(json_object_get(props, "failed")), 7);
	cr_assert_eq(json_integer_value(json_object_get(s, "errors")), 0);
	cr_assert_eq(json_array_size(json_object_get(s, "choices")), 3);
	json_decref(j);
}

/* The bitmap of one run of sdkcheck (with extra options) into path. */
static void bitmap(const char *extra, const char *path, char *hash)
{
	cr_assert_eq(cc_test_sh(out, sizeof(out),
				RUN " --quiet --coverage-out %s %s -- "
				    "/bin/sdkcheck 2>/dev/null",
				path, extra),
		     0, "%s", out);
	const char *h = strstr(out, "trace-hash: ");
	cr_assert(h, "%s", out);
	snprintf(hash, 17, "%s", h + 12);
}

static int same_file(const char *a, const char *b)
{
	char o[64];
	return cc_test_sh(o, sizeof(o), "cmp -s %s %s", a, b) == 0;
}

Test(sdk_linux, coverage_repeats_and_follows_choices)
{
	char h1[17], h2[17], h3[17], h4[17];
	bitmap("", COV "-a", h1);
	bitmap("", COV "-b", h2);
	cr_assert_str_eq(h1, h2);
	cr_assert(same_file(COV "-a", COV "-b"),
		  "identical runs left different bitmaps");
	/* Draw 2 is sdkcheck's branch choice (0..3). */
	bitmap("--choice 2=1", COV "-c", h3);
	bitmap("--choice 2=3", COV "-d", h4);
	cr_assert_str_neq(h3, h4);
	cr_assert(!same_file(COV "-c", COV "-d"),
		  "different choices, same edges");
	unlink(COV "-a");
	unlink(COV "-b");
	unlink(COV "-c");
	unlink(COV "-d");
}

Test(sdk_linux, trace_pc_guard_build_reports_edges)
{
	json_t *j = run_json("", "/bin/covguard");
	json_t *s = sdk_of(j);
	cr_assert_gt(json_integer_value(json_object_get(
			     json_object_get(s, "coverage"), "edges")),
		     0);
	cr_assert_str_eq(verdict(s, "covguard ran"), "pass");
	json_decref(j);
}

Test(sdk_linux, libvoidstar_serves_an_antithesis_style_program)
{
	json_t *j = run_json("", "/bin/voidstar_user");
	json_t *s = sdk_of(j);
	cr_assert_str_eq(verdict(s, "voidstar always"), "pass");
	cr_assert_str_eq(verdict(s, "voidstar never reached"), "never reached");
	cr_assert(json_is_true(json_object_get(s, "setup_complete")));
	cr_assert_eq(json_array_size(json_object_get(s, "choices")), 2,
		     "fuzz_get_random draws from the VM's stream");
	cr_assert_gt(json_integer_value(json_object_get(
			     json_object_get(s, "coverage"), "edges")),
		     0, "guard callbacks reached the bitmap");
	json_decref(j);
}

/*
 * The same program built by the host's gcc against glibc (issue 13): it
 * dlopen()s the freestanding libvoidstar.so from the host-programs image
 * and must get its records into the verdicts and its two draws from the
 * VM's stream - the very values the run reports as its choices.
 */
static json_t *run_glibc_voidstar(int seed, unsigned long long r[2])
{
	const char *console = CC_BUILD_DIR "/tests/voidstar-glibc.console";
	cc_test_make_host_image();
	cr_assert_eq(cc_test_sh(out, sizeof(out),
				CC " run --image " CC_TEST_HOST_IMAGE
				   " --seed %d --ticks 60000 --json "
				   "--serial-out %s -- /bin/voidstar_glibc "
				   "2>/dev/null",
				seed, console),
		     0, "%s", out);
	json_error_t e;
	json_t *j = json_loads(out, 0, &e);
	cr_assert(j, "bad JSON (%s):\n%s", e.text, out);
	char con[8192];
	cc_test_sh(con, sizeof(con), "cat %s", console);
	const char *line = strstr(con, "voidstar_user: random ");
	cr_assert(line, "no random line on the console:\n%s", con);
	cr_assert_eq(
		sscanf(line, "voidstar_user: random %llx %llx", &r[0], &r[1]),
		2, "%s", line);
	return j;
}

Test(sdk_linux, libvoidstar_loads_in_a_glibc_program)
{
	unsigned long long r[2], again[2], other[2];
	json_t *j = run_glibc_voidstar(3, r);
	json_t *s = sdk_of(j);
	cr_assert_str_eq(verdict(s, "voidstar always"), "pass");
	cr_assert_str_eq(verdict(s, "voidstar never reached"), "never reached");
	cr_assert(json_is_true(json_object_get(s, "setup_complete")));
	cr_assert_eq(json_integer_value(json_object_get(s, "errors")), 0);
	json_t *ch = json_object_get(s, "choices");
	cr_assert_eq(json_array_size(ch), 2, "two draws from the VM's stream");
	for (size_t i = 0; i < 2; i++)
		cr_assert_eq(
			(unsigned long long)json_integer_value(json_object_get(
				json_array_get(ch, i), "value")),
			r[i], "draw %zu: the program saw %016llx", i, r[i]);
	cr_assert_gt(json_integer_value(json_object_get(
			     json_object_get(s, "coverage"), "edges")),
		     0, "guard callbacks reached the bitmap");
	json_decref(j);
	json_decref(run_glibc_voidstar(3, again));
	cr_assert(again[0] == r[0] && again[1] == r[1],
		  "same seed, same draws");
	json_decref(run_glibc_voidstar(4, other));
	cr_assert(other[0] != r[0] || other[1] != r[1],
		  "another seed, other draws");
}

static long long edges(json_t *j)
{
	return json_integer_value(json_object_get(
		json_object_get(sdk_of(j), "coverage"), "edges"));
}

Test(sdk_linux, kcov_kernel_adds_kernel_edges)
{
	json_t *plain = run_json("", "/bin/sdkcheck");
	json_t *kcov = run_json("--kernel " CC_BUILD_DIR "/guest/kcov/vmlinux",
				"/bin/sdkcheck");
	cr_log_info("edges: %lld without KCOV, %lld with", edges(plain),
		    edges(kcov));
	cr_assert_gt(edges(kcov), edges(plain) + 50,
		     "no kernel edges from the KCOV kernel");
	json_decref(plain);
	json_decref(kcov);
}
