/*
 * virtio devices under the real guest kernel and its stock drivers, all
 * started from one boot cache entry (the ext4 test image attached):
 * ext4 on virtio-blk with the host reading the overlay back, each disk
 * fault as the guest sees it, UDP and TCP through virtio-net to the
 * host's echo, /dev/hwrng against the seeded stream, and a snapshot in
 * the middle of disk and network traffic restored 100 times.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "helpers.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chaoscontrol/protocol.h"
#include "devices/virtio_rng.h"
#include "sim/net_echo.h"
#include "vmm/cmdline.h"
#include "vmm/snapfile.h"
#include "vmm/snapshot.h"
#include "vmm/vm.h"

#define CC   CC_BUILD_DIR "/chaoscontrol"
#define DISK CC_TEST_DISK
#define RUN  CC " run --disk " DISK " --ticks 60000"
#define MS   1000000ull
/* iomix: the disk check takes ~3 ms of virtual time, the network
 * exchange (one round trip per 1 ms echo tick) ~45 ms. */
#define MID_MS 2
#define END_MS 12

#define sh cc_test_sh

static char out[1 << 20], out2[1 << 20];

TestSuite(virtio_linux, .init = cc_test_make_disk, .timeout = 3600);

static const char *hash_of(const char *s, char *buf)
{
	const char *p = strstr(s, "trace-hash: ");
	cr_assert(p, "no trace hash in:\n%s", s);
	memcpy(buf, p + 12, 16);
	buf[16] = 0;
	return buf;
}

Test(virtio_linux, ext4_round_trip_and_host_reads_the_overlay)
{
	char a[17], b[17];
	const char *img = CC_BUILD_DIR "/tests/virtio-out.img";
	cr_assert_eq(sh(out, sizeof(out),
			RUN " --disk-out %s -- /bin/diskcheck fs 2>&1", img),
		     0, "%s", out);
	cr_assert(strstr(out, "diskcheck: seed.txt says: hello from the host"),
		  "%s", out);
	cr_assert(strstr(out, "diskcheck: write ok ok"), "%s", out);
	cr_assert(strstr(out, "diskcheck: read back ok, umount ok"), "%s", out);
	/* The host sees what the guest wrote, in a consistent filesystem;
	 * the image it started from is untouched. */
	char o[4096];
	cr_assert_eq(sh(o, sizeof(o),
			"debugfs -R 'cat /guest.txt' %s 2>/dev/null", img),
		     0);
	cr_assert_str_eq(o, "written by the guest through virtio-blk\n");
	cr_assert_eq(sh(o, sizeof(o), "e2fsck -fn %s >/dev/null 2>&1", img), 0,
		     "e2fsck found errors in the written-back image");
	cr_assert_eq(sh(o, sizeof(o),
			"debugfs -R 'stat /guest.txt' " DISK " 2>&1 | "
			"grep -c 'not found'"),
		     0, "the base image was written to");
	cr_assert_eq(
		sh(out2, sizeof(out2), RUN " -- /bin/diskcheck fs 2>/dev/null"),
		0, "%s", out2);
	cr_assert_str_eq(hash_of(out, a), hash_of(out2, b),
			 "same seed, different execution");
	unlink(img);
}

/* kind NULL: no fault. */
static void fault(const char *kind, const char *mode, const char *want)
{
	cr_assert_eq(sh(out, sizeof(out), RUN " %s%s -- /bin/diskcheck %s 2>&1",
			kind ? "--disk-fault " : "", kind ? kind : "", mode),
		     0, "%s", out);
	cr_assert(strstr(out, want), "--disk-fault %s: wanted '%s' in:\n%s",
		  kind, want, out);
}

Test(virtio_linux, read_error_is_eio)
{
	fault("read-error", "read", "diskcheck: read EIO");
}

Test(virtio_linux, faults_can_wait_for_sdk_setup_complete)
{
	fault("read-error --faults-at setup", "setup-read",
	      "diskcheck: before setup read ok");
	cr_assert(strstr(out, "diskcheck: after setup read EIO"), "%s", out);
	fault("read-error", "setup-read", "diskcheck: before setup read EIO");
}

Test(virtio_linux, write_error_is_eio)
{
	fault("write-error", "write", "diskcheck: write EIO");
	cr_assert(strstr(out, "diskcheck: fsync EIO"), "%s", out);
}

Test(virtio_linux, full_is_enospc)
{
	fault("full", "write", "diskcheck: write ENOSPC");
}

Test(virtio_linux, torn_write_lands_in_part)
{
	fault("torn-write", "torn", "diskcheck: write ok");
	const char *p = strstr(out, "diskcheck: torn ");
	cr_assert(p, "%s", out);
	int landed = atoi(p + strlen("diskcheck: torn "));
	cr_assert(landed >= 0 && landed < 128, "%d sectors landed", landed);
	/* Without the fault, all of it lands. */
	fault(NULL, "torn", "diskcheck: torn 128 of 128");
}

Test(virtio_linux, corruption_flips_read_data)
{
	fault("corruption", "corrupt", "diskcheck: corrupt 8 of 4096");
	cr_assert_eq(
		sh(out, sizeof(out), RUN " -- /bin/diskcheck corrupt 2>&1"), 0);
	cr_assert(strstr(out, "diskcheck: corrupt 0 of 4096"), "%s", out);
}

Test(virtio_linux, udp_and_tcp_through_the_echo)
{
	char a[17], b[17];
	cr_assert_eq(
		sh(out, sizeof(out), RUN " --net-echo -- /bin/netcheck 3 2>&1"),
		0, "%s", out);
	cr_assert(strstr(out, "netcheck: udp 3/3 echoed"), "%s", out);
	cr_assert(strstr(out, "netcheck: tcp 3/3 echoed"), "%s", out);
	cr_assert_eq(sh(out2, sizeof(out2),
			RUN " --net-echo -- /bin/netcheck 3 2>&1"),
		     0, "%s", out2);
	cr_assert_str_eq(hash_of(out, a), hash_of(out2, b));
	/* Without a peer, nothing comes back (and the program says so). */
	cr_assert_neq(sh(out2, sizeof(out2), RUN " -- /bin/netcheck 1 2>&1"), 0,
		      "%s", out2);
	cr_assert(strstr(out2, "netcheck: udp 0/1 echoed"), "%s", out2);
}

/* The hex after "rngcheck: " as bytes. */
static size_t rng_bytes(const char *s, uint8_t *buf, size_t cap)
{
	const char *p = strstr(s, "rngcheck: ");
	cr_assert(p, "%s", s);
	p += strlen("rngcheck: ");
	size_t n = 0;
	unsigned v;
	while (n < cap && sscanf(p + 2 * n, "%2x", &v) == 1)
		buf[n++] = (uint8_t)v;
	return n;
}

Test(virtio_linux, hwrng_yields_the_seeded_stream)
{
	uint8_t got[64], again[64];
	cr_assert_eq(sh(out, sizeof(out),
			RUN " --seed 5 -- /bin/rngcheck 64 2>/dev/null"),
		     0, "%s", out);
	cr_assert_eq(rng_bytes(out, got, sizeof(got)), 64, "%s", out);
	/* The bytes are a window of the VM's virtio-rng stream (the kernel's
	 * hwrng thread drew some before), computed here on the host. */
	static uint8_t stream[1 << 16];
	struct cc_entropy e;
	cc_entropy_init(&e, cc_virtio_rng_stream_seed(cc_seed_for_vm(5, 0)));
	cc_entropy_fill(&e, stream, sizeof(stream));
	cr_assert(memmem(stream, sizeof(stream), got, sizeof(got)),
		  "/dev/hwrng bytes are not from the seeded stream");
	cr_assert_eq(sh(out2, sizeof(out2),
			RUN " --seed 5 -- /bin/rngcheck 64 2>/dev/null"),
		     0);
	rng_bytes(out2, again, sizeof(again));
	cr_assert_arr_eq(got, again, 64, "same seed, other bytes");
	cr_assert_eq(sh(out2, sizeof(out2),
			RUN " --seed 6 -- /bin/rngcheck 64 2>/dev/null"),
		     0);
	rng_bytes(out2, again, sizeof(again));
	cr_assert(memcmp(got, again, 64), "seeds 5 and 6 gave the same bytes");
}

/* A snapshot file saved mid-traffic (disk overlay included) and restored
 * in a new process continues exactly like the uninterrupted run. */
Test(virtio_linux, snapshot_file_mid_traffic_restores_in_a_new_process)
{
	char a[17], b[17], c[17];
	const char *snap = CC_BUILD_DIR "/tests/virtio-mid.snap";
#define IOMIX " --net-echo --ticks 20 --quiet -- /bin/iomix 20 2>&1"
	cr_assert_eq(sh(out, sizeof(out), RUN IOMIX), 0, "%s", out);
	cr_assert_eq(sh(out2, sizeof(out2),
			RUN " --snapshot-at 3 --save %s" IOMIX, snap),
		     0, "%s", out2);
	cr_assert_str_eq(hash_of(out, a), hash_of(out2, b));
	cr_assert_eq(sh(out2, sizeof(out2), RUN " --restore %s" IOMIX, snap), 0,
		     "%s", out2);
	cr_assert_str_eq(hash_of(out, a), hash_of(out2, c),
			 "the restored run diverged");
	/* Restoring it without its disk is refused, not guessed at. */
	cr_assert_neq(sh(out2, sizeof(out2),
			 CC " run --restore %s --ticks 20 2>&1", snap),
		      0);
	cr_assert(strstr(out2, "taken with a disk"), "%s", out2);
	unlink(snap);
}

/* ---- snapshot in mid-traffic, in process --------------------------------- */

/* The boot cache entry the CLI used (it says so on stderr). */
static void cache_path(char *path, size_t len)
{
	cr_assert_eq(sh(out, sizeof(out),
			RUN " --ticks 20 --quiet 2>&1 >/dev/null | "
			    "grep -o '/[^ ]*\\.snap' | tail -n 1"),
		     0, "%s", out);
	out[strcspn(out, "\n")] = 0;
	cr_assert(out[0] == '/', "no boot cache path in the CLI's output");
	snprintf(path, len, "%.4000s", out);
}

/* One 1 ms tick, then the echo answers what the guest sent. */
static uint64_t tick(struct cc_vm *vm, struct cc_net_echo *echo)
{
	uint64_t t = (vm->vclock.ns / CC_NS_PER_TICK + 1) * CC_NS_PER_TICK;
	uint64_t h = cc_test_run_to(vm, t);
	static struct cc_net_frame f;
	static uint8_t o[CC_NET_FRAME_MAX];
	uint32_t len;
	while (cc_net_port_take(&vm->net, &f, vm->vclock.ns))
		if (cc_net_echo_reply(echo, f.data, f.len, o, &len))
			cc_vm_deliver_frame(vm, o, len);
	return h;
}

static uint64_t run_ticks(struct cc_vm *vm, uint64_t until)
{
	struct cc_net_echo echo = {0};
	uint64_t h = cc_vm_trace_hash(vm);
	while (vm->vclock.ns < until)
		h = tick(vm, &echo);
	return h;
}

Test(virtio_linux, snapshot_mid_traffic_restores_100_times)
{
	char path[4096];
	cache_path(path, sizeof(path));
	struct cc_snapshot *ready, *mid;
	char *console;
	size_t clen;
	struct cc_err e;
	cr_assert_eq(cc_snapfile_load(path, NULL, &ready, &console, &clen, &e),
		     0, "%s", e.msg);
	free(console);
	static const char *const argv[] = {"/bin/iomix", "20", NULL};
	struct cc_vm_config cfg = {
		.kernel_path = CC_BUILD_DIR "/guest/vmlinux",
		.mem_size = ready->ram_size,
		.serial_fd = -1,
		.disk_path = DISK,
		.exec_argv = argv,
	};
	struct cc_vm *vm;
	cr_assert_eq(cc_vm_create(&vm, &cfg, &e), 0, "%s", e.msg);
	cr_assert_eq(cc_vm_restore(vm, ready, &e), 0, "%s", e.msg);
	uint64_t t0 = vm->vclock.ns;
	/* Uninterrupted: from the ready point straight to the horizon. */
	uint64_t mid_t = t0 + MID_MS * MS, horizon = t0 + END_MS * MS;
	uint64_t straight = run_ticks(vm, horizon);
	/* Again, with a snapshot in the middle of both kinds of traffic:
	 * frames and disk requests before it and after it. */
	cr_assert_eq(cc_vm_restore(vm, ready, &e), 0, "%s", e.msg);
	run_ticks(vm, mid_t);
	uint64_t frames = vm->net.port.tx_frames;
	uint64_t disk = vm->blk.disk.st.reads + vm->blk.disk.st.writes;
	cr_assert_eq(cc_vm_snapshot(vm, &mid, &e), 0, "%s", e.msg);
	cr_assert_eq(run_ticks(vm, horizon), straight,
		     "snapshotting changed the run");
	cr_log_info("before the snapshot: %llu frames, %llu disk requests; "
		    "after: %llu, %llu",
		    (unsigned long long)frames, (unsigned long long)disk,
		    (unsigned long long)(vm->net.port.tx_frames - frames),
		    (unsigned long long)(vm->blk.disk.st.reads +
					 vm->blk.disk.st.writes - disk));
	cr_assert(frames > 0 && disk > 0, "no traffic before the snapshot");
	cr_assert(vm->net.port.tx_frames > frames, "no frames after it");
	cr_assert(vm->blk.disk.st.reads + vm->blk.disk.st.writes > disk,
		  "no disk requests after it");
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(cc_vm_restore(vm, mid, &e), 0, "%s", e.msg);
		cr_assert_eq(run_ticks(vm, horizon), straight,
			     "restore %d diverged", i);
	}
	/* Through a snapshot file: the same future from the same flush
	 * point (the durable disk travels in the file, format 3). */
	char file[64];
	snprintf(file, sizeof(file), "/tmp/cc-mid-%d.snap", (int)getpid());
	cr_assert_eq(cc_snapfile_save(file, mid, "", 0, &e), 0, "%s", e.msg);
	struct cc_snapshot *back;
	char *con;
	size_t conlen;
	cr_assert_eq(cc_snapfile_load(file, vm, &back, &con, &conlen, &e), 0,
		     "%s", e.msg);
	unlink(file);
	free(con);
	cr_assert_eq(cc_vm_restore(vm, mid, &e), 0, "%s", e.msg);
	uint64_t unflushed = cc_disk_unflushed_pages(&vm->blk.disk);
	cr_assert_eq(cc_vm_restore(vm, back, &e), 0, "%s", e.msg);
	cr_assert_eq(cc_disk_unflushed_pages(&vm->blk.disk), unflushed);
	cr_assert_eq(run_ticks(vm, horizon), straight, "from the file");
	cc_snapshot_free(back);
	cc_snapshot_free(mid);
	cc_snapshot_free(ready);
	cc_vm_destroy(vm);
}
