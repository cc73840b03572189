/*
 * voidstar_user: loads libvoidstar.so the way the Antithesis SDKs do -
 * dlopen("/usr/lib/libvoidstar.so", RTLD_NOW), then dlsym of
 * fuzz_json_data, fuzz_flush, fuzz_get_random and the coverage hooks -
 * and speaks to it in their record format.  Dynamically linked (musl's
 * loader is in the initramfs) so that dlopen works; the same source is
 * also built against glibc (voidstar_glibc, the host-programs image).
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef void (*json_fn)(const char *, size_t);
typedef void (*flush_fn)(void);
typedef uint64_t (*random_fn)(void);
typedef void (*guard_init_fn)(uint32_t *, uint32_t *);
typedef void (*guard_fn)(uint32_t *);

static const char *const records[] = {
	"{\"antithesis_sdk\":{\"language\":{\"name\":\"C++\",\"version\":"
	"\"17\"},\"sdk_version\":\"0.4.0\",\"protocol_version\":\"1.1.0\"}}",
	/* Catalog entries, then hits, as the SDKs send them. */
	"{\"antithesis_assert\":{\"hit\":false,\"must_hit\":true,"
	"\"assert_type\":\"always\",\"display_type\":\"Always\",\"message\":"
	"\"voidstar always\",\"condition\":false,\"id\":\"voidstar always\","
	"\"location\":{\"class\":\"\",\"function\":\"main\",\"file\":"
	"\"voidstar_user.c\",\"begin_line\":1,\"begin_column\":0},"
	"\"details\":null}}",
	"{\"antithesis_assert\":{\"hit\":true,\"must_hit\":true,"
	"\"assert_type\":\"always\",\"display_type\":\"Always\",\"message\":"
	"\"voidstar always\",\"condition\":true,\"id\":\"voidstar always\","
	"\"location\":{\"class\":\"\",\"function\":\"main\",\"file\":"
	"\"voidstar_user.c\",\"begin_line\":1,\"begin_column\":0},"
	"\"details\":{\"x\":1}}}\n",
	"{\"antithesis_assert\":{\"hit\":false,\"must_hit\":true,"
	"\"assert_type\":\"reachability\",\"display_type\":\"Reachable\","
	"\"message\":\"voidstar never reached\",\"condition\":true,\"id\":"
	"\"voidstar never reached\",\"location\":{\"class\":\"\","
	"\"function\":\"main\",\"file\":\"voidstar_user.c\",\"begin_line\":2,"
	"\"begin_column\":0},\"details\":null}}",
	"{\"antithesis_setup\":{\"status\":\"complete\",\"details\":null}}",
};

int main(int argc, char **argv)
{
	/* Another path only for tests outside a VM. */
	const char *path = argc > 1 ? argv[1] : "/usr/lib/libvoidstar.so";
	setvbuf(stdout, NULL, _IOLBF, 0);
	void *lib = dlopen(path, RTLD_NOW);
	if (!lib) {
		printf("voidstar_user: dlopen: %s\n", dlerror());
		return 1;
	}
	json_fn json = (json_fn)dlsym(lib, "fuzz_json_data");
	flush_fn flush = (flush_fn)dlsym(lib, "fuzz_flush");
	random_fn rnd = (random_fn)dlsym(lib, "fuzz_get_random");
	guard_init_fn ginit = (guard_init_fn)dlsym(
		lib, "__sanitizer_cov_trace_pc_guard_init");
	guard_fn guard =
		(guard_fn)dlsym(lib, "__sanitizer_cov_trace_pc_guard_internal");
	if (!json || !flush || !rnd || !ginit || !guard) {
		printf("voidstar_user: missing symbols\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(records) / sizeof(records[0]); i++)
		json(records[i], strlen(records[i]));
	static uint32_t guards[64];
	ginit(guards, guards + 64);
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 64; i += 1 + round)
			guard(&guards[i]);
	uint64_t a = rnd(), b = rnd();
	flush();
	printf("voidstar_user: random %016llx %016llx\n", (unsigned long long)a,
	       (unsigned long long)b);
	return 0;
}
