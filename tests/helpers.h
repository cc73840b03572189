/* Shared by the test suites: running commands and stepping VMs. */
#ifndef CC_TEST_HELPERS_H
#define CC_TEST_HELPERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cc_vm;

/* Runs a shell command (printf-style); its stdout goes into out (cap
 * bytes, NUL-terminated).  Returns the exit status, -1 if it died. */
int cc_test_sh(char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* `chaoscontrol run --json ARGS`: the report (stdout) into out, the
 * consoles and messages (stderr) into console; returns the exit status. */
int cc_test_run_json(char *out, size_t cap, char *console, size_t concap,
		     const char *args);

/* The ext4 test image the Linux virtio and SDK suites attach: made once
 * (tests/linux/mkdisk.sh, byte-for-byte reproducible), so every run of
 * either suite shares one boot cache entry. */
#define CC_TEST_DISK CC_BUILD_DIR "/tests/virtio-disk.img"
void cc_test_make_disk(void);

/* The host-programs image: glibc C, C++ and Go programs built on this
 * host (the TSC readers, voidstar_glibc; Debian's printenv and pwd) at
 * /bin/NAME, and a directory /srv/app, with every shared
 * object they load, laid over the default initramfs by `chaoscontrol
 * image build`.  Reproducible, so the suites that use it share one boot
 * cache entry. */
/* An image disk (image build --disk): run --image, no boot of its own. */
#define CC_TEST_HOST_IMAGE CC_BUILD_DIR "/tests/host-image.img"
void cc_test_make_host_image(void);

/* Runs vm until virtual time ns (which must be a limit stop, not the
 * guest ending); returns the trace hash there. */
uint64_t cc_test_run_to(struct cc_vm *vm, uint64_t ns);

/* A CPU hog: a child process spinning until cc_test_hog_stop(). */
pid_t cc_test_hog_start(void);
void cc_test_hog_stop(pid_t hog);

#endif
