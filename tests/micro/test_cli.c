/*
 * The `chaoscontrol` binary as a user meets it: bad input gets one line
 * naming the problem and a documented non-zero exit code.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "helpers.h"
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CC    CC_BUILD_DIR "/chaoscontrol"
#define MICRO CC_BUILD_DIR "/guest/micro/"

static char out[1 << 16];

/* Runs a shell command; returns its exit code, output (both streams)
 * in `out`. */
/* The shared runner, writing into this file's `out`. */
/* Both streams: the errors under test go to stderr. */
#define sh(fmt, ...) cc_test_sh(out, sizeof(out), fmt " 2>&1", ##__VA_ARGS__)

/* The error must be one line starting with "chaoscontrol: ". */
static void assert_one_line_error(const char *needle)
{
	char *hit = strstr(out, needle);
	cr_assert(hit, "expected '%s' in:\n%s", needle, out);
	char *start = hit;
	while (start > out && start[-1] != '\n')
		start--;
	cr_assert(!strncmp(start, "chaoscontrol", 12), "%s", out);
}

static char tmpdir[] = "/tmp/cc-cli-XXXXXX";

static void setup(void)
{
	cr_assert(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(cli, .init = setup, .fini = teardown);

Test(cli, missing_kvm_device)
{
	int rc = sh("CHAOSCONTROL_KVM_DEVICE=/nonexistent/kvm " CC
		    " boot --kernel " MICRO "hello.elf --no-initrd");
	cr_assert_eq(rc, 3, "%s", out);
	assert_one_line_error("/nonexistent/kvm does not exist");
}

Test(cli, kernel_is_neither_elf_nor_bzimage)
{
	int rc = sh("echo 'not a kernel' > %s/k && " CC
		    " boot --kernel %s/k --no-initrd",
		    tmpdir, tmpdir);
	cr_assert_eq(rc, 3, "%s", out);
	assert_one_line_error("not an ELF vmlinux nor a bzImage");
}

Test(cli, truncated_kernel)
{
	int rc = sh("head -c 100 " MICRO "hello.elf > %s/k && " CC
		    " boot --kernel %s/k --no-initrd",
		    tmpdir, tmpdir);
	cr_assert_eq(rc, 3, "%s", out);
	assert_one_line_error("truncated ELF program headers");
}

Test(cli, kernel_too_big_for_ram)
{
	/* hello.elf with its last PT_LOAD's p_memsz raised to 64 MiB. */
	char path[256];
	snprintf(path, sizeof(path), "%s/big.elf", tmpdir);
	FILE *f = fopen(MICRO "hello.elf", "rb");
	cr_assert(f);
	static uint8_t img[1 << 20];
	size_t n = fread(img, 1, sizeof(img), f);
	fclose(f);
	Elf64_Ehdr eh;
	memcpy(&eh, img, sizeof(eh));
	Elf64_Phdr ph;
	size_t at = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		memcpy(&ph, img + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_LOAD)
			at = eh.e_phoff + i * sizeof(ph);
	}
	cr_assert(at);
	memcpy(&ph, img + at, sizeof(ph));
	ph.p_memsz = 64 << 20;
	memcpy(img + at, &ph, sizeof(ph));
	f = fopen(path, "wb");
	cr_assert_eq(fwrite(img, 1, n, f), n);
	fclose(f);
	int rc = sh(CC " boot --kernel %s --no-initrd --mem 32M", path);
	cr_assert_eq(rc, 3, "%s", out);
	assert_one_line_error("of guest RAM but --mem is 32 MiB");
}

Test(cli, initrd_does_not_fit)
{
	int rc = sh("head -c 20M /dev/zero > %s/initrd && " CC
		    " boot --kernel " MICRO "hello.elf --initrd %s/initrd "
		    "--mem 16M",
		    tmpdir, tmpdir);
	cr_assert_eq(rc, 3, "%s", out);
	assert_one_line_error("initrd: 20480 KiB does not fit");
}

Test(cli, missing_initrd_file)
{
	int rc = sh(CC " boot --kernel " MICRO "hello.elf --initrd %s/none",
		    tmpdir);
	cr_assert_eq(rc, 3, "%s", out);
	assert_one_line_error("No such file or directory");
}

Test(cli, mem_too_small)
{
	int rc = sh(CC " boot --kernel " MICRO "hello.elf --no-initrd "
		       "--mem 8M");
	cr_assert_eq(rc, 3, "%s", out);
	assert_one_line_error("--mem 8 MiB is too small (minimum 16 MiB)");
}

Test(cli, bad_option_is_usage_error)
{
	cr_assert_eq(sh(CC " boot --no-such-option"), 2, "%s", out);
	cr_assert_eq(sh(CC " boot --mem lots"), 2, "%s", out);
	cr_assert_eq(sh(CC " frobnicate"), 2, "%s", out);
	assert_one_line_error("unknown command 'frobnicate'");
}

Test(cli, triple_fault_exit_code)
{
	int rc = sh(CC " boot --kernel " MICRO "triple_fault.elf --no-initrd");
	cr_assert_eq(rc, 4, "%s", out);
	assert_one_line_error("triple-faulted");
}

Test(cli, guest_status_becomes_exit_code)
{
	cr_assert_eq(sh(CC " boot --kernel " MICRO "hello.elf --no-initrd"), 0,
		     "%s", out);
	cr_assert(strstr(out, "hello from a micro-guest at CPL3"), "%s", out);
	cr_assert_eq(
		sh(CC " boot --kernel " MICRO "exit_status.elf --no-initrd"), 1,
		"%s", out);
}

Test(cli, help_for_each_command)
{
	cr_assert_eq(sh(CC " --help"), 0);
	cr_assert(strstr(out, "boot"));
	cr_assert_eq(sh(CC " boot --help"), 0);
	cr_assert(strstr(out, "--kernel PATH"));
	cr_assert(strstr(out, "prefer vmlinux"));
	cr_assert_eq(sh(CC " doctor --help"), 0);
}

Test(cli, doctor_names_the_platform)
{
	cr_assert_eq(sh(CC " doctor"), 0, "%s", out);
	/* Independent evidence: the PVM host module. */
	bool pvm = access("/sys/module/kvm_pvm", F_OK) == 0;
	cr_assert(strstr(out, pvm ? "platform:          PVM"
				  : "platform:          hardware KVM"),
		  "%s", out);
	cr_assert(strstr(out, "exit round trip:"), "%s", out);
}

/* The platform name a command printed ("platform: NAME" up to the
 * parenthesis or the line's end), or "" when it printed none. */
static void platform_of(char *dst, size_t cap)
{
	const char *p = strstr(out, "platform:");
	dst[0] = 0;
	if (!p)
		return;
	p += strlen("platform:");
	p += strspn(p, " ");
	size_t n = strcspn(p, "(\n");
	while (n && p[n - 1] == ' ')
		n--;
	snprintf(dst, cap, "%.*s", (int)n, p);
}

/* The kind comes from what KVM does, not how fast the probe runs: with
 * both cores busy, doctor and run still name the same platform, and the
 * one the kvm_pvm module says this host is. */
Test(cli, doctor_and_run_agree_on_the_platform_under_load)
{
	pid_t hogs[2] = {cc_test_hog_start(), cc_test_hog_start()};
	const char *want = access("/sys/module/kvm_pvm", F_OK) == 0
				   ? "PVM"
				   : "hardware KVM";
	char got[64];
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(sh(CC " doctor"), 0, "%s", out);
		platform_of(got, sizeof(got));
		cr_assert_str_eq(got, want, "doctor, try %d:\n%s", i, out);
		sh(CC " run --kernel " MICRO "hello.elf --no-initrd");
		platform_of(got, sizeof(got));
		cr_assert_str_eq(got, want, "run, try %d:\n%s", i, out);
	}
	cc_test_hog_stop(hogs[0]);
	cc_test_hog_stop(hogs[1]);
}

/* A capped console says what it did not keep, in words and in --json. */
Test(cli, console_past_its_cap_is_counted_and_said)
{
	cr_assert_eq(sh(CC " run --kernel " MICRO "hello.elf --no-initrd "
			   "--console-cap 8 --json"),
		     0, "%s", out);
	cr_assert(strstr(out, "console capture full (8 bytes)"), "%s", out);
	cr_assert(strstr(out, "console bytes past the capture cap"), "%s", out);
	cr_assert(strstr(out, "\"console_bytes\": "), "%s", out);
	cr_assert_eq(sh(CC " run --kernel " MICRO "hello.elf --no-initrd "
			   "--console-cap 65M"),
		     2, "%s", out);
	cr_assert(strstr(out, "invalid --console-cap"), "%s", out);
}
