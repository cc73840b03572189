#define _GNU_SOURCE
#include "helpers.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm/vm.h"

void cc_test_make_disk(void)
{
	char o[4096];
	cr_assert_eq(cc_test_sh(o, sizeof(o),
				"test -f " CC_TEST_DISK " || " CC_BUILD_DIR
				"/../tests/linux/mkdisk.sh " CC_TEST_DISK
				" 2>&1"),
		     0, "%s", o);
}

void cc_test_make_host_image(void)
{
	static char o[1 << 16];
	const char *spec = CC_BUILD_DIR "/tests/host-image.json";
	FILE *f = fopen(spec, "w");
	cr_assert(f, "cannot write %s", spec);
	static const char *const progs[] = {"tsc_c", "tsc_cpp", "tsc_go",
					    "voidstar_glibc", "spin_alarm"};
	/* And two of Debian's own, for init's environment and directory. */
	fputs("{\"version\": 1, \"programs\": [", f);
	for (size_t i = 0; i < sizeof(progs) / sizeof(*progs); i++)
		fprintf(f,
			"%s{\"src\": \"%s/tests/host/%s\", \"dst\": "
			"\"/bin/%s\"}",
			i ? ", " : "", CC_BUILD_DIR, progs[i], progs[i]);
	fputs(", {\"src\": \"/usr/bin/printenv\", \"dst\": \"/bin/printenv\"}"
	      ", {\"src\": \"/usr/bin/echo\", \"dst\": \"/bin/echo\"}"
	      ", {\"src\": \"/usr/bin/pwd\", \"dst\": \"/bin/pwd\"}]"
	      ", \"dirs\": [\"/srv/app\"]}\n",
	      f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(cc_test_sh(o, sizeof(o),
				CC_BUILD_DIR
				"/chaoscontrol image build %s --disk -o "
				"%s 2>&1",
				spec, CC_TEST_HOST_IMAGE),
		     0, "%s", o);
}

int cc_test_sh(char *out, size_t cap, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *f = popen(cmd, "r");
	cr_assert(f, "popen %s", cmd);
	size_t n = fread(out, 1, cap - 1, f);
	out[n] = 0;
	int st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int cc_test_run_json(char *out, size_t cap, char *console, size_t concap,
		     const char *args)
{
	char cons[128];
	snprintf(cons, sizeof(cons), CC_BUILD_DIR "/tests/run.%d.console",
		 (int)getpid());
	int rc = cc_test_sh(out, cap,
			    CC_BUILD_DIR "/chaoscontrol run --json %s 2>%s",
			    args, cons);
	FILE *f = fopen(cons, "r");
	size_t n = f ? fread(console, 1, concap - 1, f) : 0;
	console[n] = 0;
	if (f)
		fclose(f);
	unlink(cons);
	return rc;
}

uint64_t cc_test_run_to(struct cc_vm *vm, uint64_t ns)
{
	struct cc_vm_result res;
	vm->cfg.max_ns = ns;
	cr_assert_eq(cc_vm_run(vm, &res), 0, "%s", res.msg);
	cr_assert_eq(res.stop, CC_STOP_LIMIT,
		     "wanted to stop at %llu ns, stopped at %llu ns: %s",
		     (unsigned long long)ns, (unsigned long long)res.vclock_ns,
		     res.msg);
	return cc_vm_trace_hash(vm);
}

pid_t cc_test_hog_start(void)
{
	pid_t p = fork();
	if (p == 0) {
		for (volatile unsigned long i = 0;; i++)
			;
	}
	cr_assert(p > 0, "fork");
	return p;
}

void cc_test_hog_stop(pid_t hog)
{
	if (hog <= 0)
		return;
	kill(hog, SIGKILL);
	waitpid(hog, NULL, 0);
}
