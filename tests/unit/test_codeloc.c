/* The code locator names a RIP by finding the code bytes there in a
 * file: tried on this very test program, whose running code is the
 * file's bytes at a load address the locator is never told. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run/codeloc.h"

/* noinline and with a body of its own, so its bytes are its own. */
__attribute__((noinline)) static unsigned spin_here(volatile unsigned *x)
{
	unsigned n = 0;
	while (*x < 1000003u)
		n += (*x)++ ^ 0x5a5au;
	return n;
}

static struct cc_codeloc loc;

static void setup(void)
{
	struct cc_err e;
	cc_codeloc_init(&loc);
	cr_assert_eq(cc_codeloc_add(&loc, "/proc/self/exe", "/bin/me", &e), 0,
		     "%s", e.msg);
	cr_assert_eq(loc.n, 1);
}

static void teardown(void)
{
	cc_codeloc_free(&loc);
}

TestSuite(codeloc, .init = setup, .fini = teardown);

Test(codeloc, a_running_function_is_named_from_its_bytes)
{
	volatile unsigned x = 0;
	cr_assert(spin_here(&x));
	uint64_t rip = (uint64_t)(uintptr_t)&spin_here + 4;
	uint8_t code[32];
	memcpy(code, (const void *)(uintptr_t)rip, sizeof(code));
	char buf[256] = "";
	cr_assert_geq(cc_codeloc_name(&loc, rip, code, sizeof(code), buf,
				      sizeof(buf)),
		      1);
	cr_assert_str_eq(buf, "spin_here+0x4 in /bin/me");
}

Test(codeloc, bytes_found_nowhere_or_too_few_name_nothing)
{
	uint8_t code[32];
	memset(code, 0xf4, sizeof(code)); /* 32 hlt: in no program */
	char buf[64] = "untouched";
	cr_assert_eq(cc_codeloc_name(&loc, 0x401000, code, sizeof(code), buf,
				     sizeof(buf)),
		     0);
	uint64_t rip = (uint64_t)(uintptr_t)&spin_here;
	memcpy(code, (const void *)(uintptr_t)rip, sizeof(code));
	cr_assert_eq(cc_codeloc_name(&loc, rip, code, CC_CODELOC_MIN_BYTES - 1,
				     buf, sizeof(buf)),
		     0);
	/* The right bytes at the wrong page offset are not a match. */
	cr_assert_eq(cc_codeloc_name(&loc, rip + 1, code, sizeof(code), buf,
				     sizeof(buf)),
		     0);
	cr_assert_str_eq(buf, "untouched");
}

Test(codeloc, files_that_are_not_elf_are_skipped_and_missing_ones_refused)
{
	struct cc_err e;
	char path[] = "/tmp/cc-codeloc-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "#!/bin/sh\n", 10), 10);
	close(fd);
	cr_assert_eq(cc_codeloc_add(&loc, path, NULL, &e), 0);
	cr_assert_eq(loc.n, 1, "a script adds no file");
	unlink(path);
	cr_assert_eq(cc_codeloc_add(&loc, path, NULL, &e), -1);
	cr_assert(strstr(e.msg, path), "%s", e.msg);
}
