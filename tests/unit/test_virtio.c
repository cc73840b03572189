/*
 * virtio-mmio devices without a VM: a test "driver" sets up queues in a
 * guest-RAM buffer the way Linux does, and checks what the devices do
 * with well-formed and with hostile rings.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chaoscontrol/protocol.h"
#include "devices/disk.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_net.h"
#include "devices/virtio_rng.h"
#include "sim/net_echo.h"

#define RAM   (16ull << 20)
#define DESC  0x10000ull
#define AVAIL 0x11000ull
#define USED  0x12000ull
#define BUF   0x20000ull

static struct cc_mem mem;
static int irq_level;
static int broken;

static void set_irq(void *ctx, unsigned irq, int level)
{
	(void)ctx;
	(void)irq;
	irq_level = level;
}

static void log_error(void *ctx, const char *dev, const char *msg)
{
	(void)ctx;
	(void)dev;
	(void)msg;
	broken++;
}

static void init_mem(void)
{
	struct cc_err e;
	cr_assert_eq(cc_mem_init(&mem, RAM, &e), 0);
	irq_level = broken = 0;
}

static void fini_mem(void)
{
	cc_mem_free(&mem);
}

static void wr(struct cc_virtio_mmio *t, uint64_t off, uint32_t v)
{
	cc_virtio_mmio_write(t, off, (const uint8_t *)&v, 4, 0);
}

static uint32_t rd(struct cc_virtio_mmio *t, uint64_t off)
{
	uint32_t v;
	cc_virtio_mmio_read(t, off, (uint8_t *)&v, 4, 0);
	return v;
}

/* Linux's probe order: reset, ACK, DRIVER, features, FEATURES_OK, queues,
 * DRIVER_OK.  Queue q's rings sit at DESC/AVAIL/USED + q * 0x4000. */
static void bring_up(struct cc_virtio_mmio *t, unsigned nq, uint16_t num)
{
	t->log = log_error;
	wr(t, 0x70, 0);
	wr(t, 0x70, 1 | 2);
	wr(t, 0x24, 1);
	wr(t, 0x20, 1); /* VERSION_1 */
	wr(t, 0x24, 0);
	wr(t, 0x20, 0);
	wr(t, 0x70, 1 | 2 | 8);
	cr_assert(rd(t, 0x70) & 8, "FEATURES_OK accepted");
	for (unsigned q = 0; q < nq; q++) {
		wr(t, 0x30, q);
		wr(t, 0x38, num);
		wr(t, 0x80, (uint32_t)(DESC + q * 0x4000));
		wr(t, 0x90, (uint32_t)(AVAIL + q * 0x4000));
		wr(t, 0xa0, (uint32_t)(USED + q * 0x4000));
		wr(t, 0x44, 1);
		cr_assert_eq(rd(t, 0x44), 1, "queue %u ready", q);
	}
	wr(t, 0x70, 1 | 2 | 4 | 8);
}

static void put_desc(unsigned q, uint16_t i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	uint8_t d[16];
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	cc_mem_write(&mem, DESC + q * 0x4000 + 16ull * i, d, 16);
}

/* Makes chain `head` available in slot `slot` and publishes idx. */
static void publish(unsigned q, uint16_t slot, uint16_t head, uint16_t idx)
{
	cc_mem_write(&mem, AVAIL + q * 0x4000 + 4 + 2ull * slot, &head, 2);
	cc_mem_write(&mem, AVAIL + q * 0x4000 + 2, &idx, 2);
}

static uint16_t used_idx(unsigned q)
{
	uint16_t v;
	cc_mem_read(&mem, USED + q * 0x4000 + 2, &v, 2);
	return v;
}

static uint32_t used_len(unsigned q, uint16_t slot)
{
	uint32_t v;
	cc_mem_read(&mem, USED + q * 0x4000 + 4 + 8ull * slot + 4, &v, 4);
	return v;
}

TestSuite(virtio, .init = init_mem, .fini = fini_mem);

/* ---- transport ----------------------------------------------------------- */

Test(virtio, registers_identify_a_version_2_device)
{
	struct cc_virtio_rng r;
	cc_virtio_rng_init(&r, &mem, (struct cc_irq_line){set_irq, NULL, 7}, 1);
	cr_assert_eq(rd(&r.t, 0x000), 0x74726976u);
	cr_assert_eq(rd(&r.t, 0x004), 2);
	cr_assert_eq(rd(&r.t, 0x008), 4);
	wr(&r.t, 0x14, 1);
	cr_assert_eq(rd(&r.t, 0x10), 1, "VERSION_1 offered");
}

Test(virtio, features_not_offered_are_refused)
{
	struct cc_virtio_rng r;
	cc_virtio_rng_init(&r, &mem, (struct cc_irq_line){set_irq, NULL, 7}, 1);
	r.t.log = log_error;
	wr(&r.t, 0x70, 3);
	wr(&r.t, 0x24, 0);
	wr(&r.t, 0x20, 1u << 28); /* INDIRECT_DESC: not offered */
	wr(&r.t, 0x24, 1);
	wr(&r.t, 0x20, 1);
	wr(&r.t, 0x70, 3 | 8);
	cr_assert_eq(rd(&r.t, 0x70) & 8, 0, "FEATURES_OK not set");
	cr_assert(rd(&r.t, 0x70) & CC_VIRTIO_S_NEEDS_RESET);
	cr_assert_eq(broken, 1);
	wr(&r.t, 0x70, 0);
	cr_assert_eq(rd(&r.t, 0x70), 0, "reset clears NEEDS_RESET");
}

Test(virtio, bad_queue_geometry_breaks_the_device)
{
	struct cc_virtio_rng r;
	cc_virtio_rng_init(&r, &mem, (struct cc_irq_line){set_irq, NULL, 7}, 1);
	r.t.log = log_error;
	wr(&r.t, 0x30, 0);
	wr(&r.t, 0x38, 8);
	wr(&r.t, 0x80, (uint32_t)(RAM - 64)); /* table runs off RAM */
	wr(&r.t, 0x44, 1);
	cr_assert_eq(rd(&r.t, 0x44), 0);
	cr_assert(rd(&r.t, 0x70) & CC_VIRTIO_S_NEEDS_RESET);
	wr(&r.t, 0x38, 12); /* not a power of two */
	cr_assert_eq(r.t.s.q[0].num, 12 > 64 ? 0 : 12);
	wr(&r.t, 0x80, (uint32_t)DESC);
	wr(&r.t, 0x44, 1);
	cr_assert_eq(rd(&r.t, 0x44), 0, "size 12 refused");
}

Test(virtio, completion_waits_for_its_virtual_time)
{
	struct cc_virtio_rng r;
	cc_virtio_rng_init(&r, &mem, (struct cc_irq_line){set_irq, NULL, 7}, 1);
	bring_up(&r.t, 1, 8);
	put_desc(0, 0, BUF, 32, 2, 0);
	publish(0, 0, 0, 1);
	uint32_t q = 0;
	cc_virtio_mmio_write(&r.t, 0x50, (uint8_t *)&q, 4, 1000);
	uint64_t due = cc_virtio_mmio_deadline(&r.t);
	cr_assert_gt(due, 1000);
	cc_virtio_mmio_poll(&r.t, due - 1);
	cr_assert_eq(used_idx(0), 0, "not before its time");
	cr_assert_eq(irq_level, 0);
	cc_virtio_mmio_poll(&r.t, due);
	cr_assert_eq(used_idx(0), 1);
	cr_assert_eq(used_len(0, 0), 32);
	cr_assert_eq(irq_level, 1);
	cr_assert_eq(rd(&r.t, 0x60), 1, "used-buffer interrupt");
	wr(&r.t, 0x64, 1);
	cr_assert_eq(irq_level, 0, "ack lowers the line");
	cr_assert_eq(cc_virtio_mmio_deadline(&r.t), CC_VIRTIO_NEVER);
}

/* ---- hostile rings ---------------------------------------------------------
 */

static void expect_broken(void (*make)(void))
{
	struct cc_virtio_rng r;
	cc_virtio_rng_init(&r, &mem, (struct cc_irq_line){set_irq, NULL, 7}, 1);
	bring_up(&r.t, 1, 8);
	make();
	wr(&r.t, 0x50, 0);
	cc_virtio_mmio_poll(&r.t, UINT64_MAX - 1);
	cr_assert(rd(&r.t, 0x70) & CC_VIRTIO_S_NEEDS_RESET, "%s",
		  r.t.s.last_error);
	cr_assert_eq(broken, 1);
	cr_assert_eq(rd(&r.t, 0x60) & 2, 2, "config interrupt");
	/* Broken means no more service, until a reset. */
	wr(&r.t, 0x50, 0);
	cr_assert_eq(cc_virtio_mmio_deadline(&r.t), CC_VIRTIO_NEVER);
}

static void loop_chain(void)
{
	put_desc(0, 0, BUF, 16, 2 | 1, 1);
	put_desc(0, 1, BUF, 16, 2 | 1, 0);
	publish(0, 0, 0, 1);
}
static void index_out_of_range(void)
{
	put_desc(0, 0, BUF, 16, 2 | 1, 9);
	publish(0, 0, 0, 1);
}
static void head_out_of_range(void)
{
	publish(0, 0, 200, 1);
}
static void buffer_outside_ram(void)
{
	put_desc(0, 0, RAM - 8, 16, 2, 0);
	publish(0, 0, 0, 1);
}
static void buffer_wraps(void)
{
	put_desc(0, 0, UINT64_MAX - 4, 16, 2, 0);
	publish(0, 0, 0, 1);
}
static void avail_too_far_ahead(void)
{
	publish(0, 0, 0, 100);
}
static void indirect(void)
{
	put_desc(0, 0, BUF, 16, 4, 0);
	publish(0, 0, 0, 1);
}
static void readable_after_writable(void)
{
	put_desc(0, 0, BUF, 16, 2 | 1, 1);
	put_desc(0, 1, BUF, 16, 0, 0);
	publish(0, 0, 0, 1);
}

/* A queue size past the chain's own array (only a forged snapshot file
 * gets one past cc_virtio_mmio_state_check): a loop of empty descriptors must
 * not fill seg[] beyond its CC_VIRTQ_MAX_SIZE entries. */
Test(virtio, queue_size_past_the_chain_array_is_refused)
{
	struct cc_virtq q = {
		.num = 4 * CC_VIRTQ_MAX_SIZE,
		.ready = 1,
		.desc = DESC,
		.avail = AVAIL,
		.used = USED,
	};
	put_desc(0, 0, BUF, 0, 1, 1);
	put_desc(0, 1, BUF, 0, 1, 0);
	publish(0, 0, 0, 1);
	struct cc_virtq_chain *c = malloc(sizeof(*c));
	const char *why = NULL;
	cr_assert_eq(cc_virtq_pop(&q, &mem, c, &why), -1);
	cr_assert_str_eq(why, "queue size out of range");
	free(c);
}

/* Clearing DRIVER_OK without a reset neither clears it nor lets a ready
 * queue's rings move; a reset does both. */
Test(virtio, ready_rings_do_not_move_without_a_reset)
{
	struct cc_virtio_rng r;
	cc_virtio_rng_init(&r, &mem, (struct cc_irq_line){set_irq, NULL, 7}, 1);
	bring_up(&r.t, 1, 8);
	wr(&r.t, 0x70, 1 | 2 | 8); /* DRIVER_OK "cleared" */
	cr_assert(rd(&r.t, 0x70) & 4, "DRIVER_OK stays until a reset");
	wr(&r.t, 0x30, 0);
	wr(&r.t, 0x80, 0x30000);
	wr(&r.t, 0xa0, 0x31000);
	cr_assert_eq(r.t.s.q[0].desc, DESC);
	cr_assert_eq(r.t.s.q[0].used, USED);
	wr(&r.t, 0x70, 0);
	cr_assert_eq(rd(&r.t, 0x70), 0);
	cr_assert_eq(r.t.s.q[0].ready, 0);
}

Test(virtio, looping_chain)
{
	expect_broken(loop_chain);
}
Test(virtio, descriptor_index_out_of_range)
{
	expect_broken(index_out_of_range);
}
Test(virtio, head_index_out_of_range)
{
	expect_broken(head_out_of_range);
}
Test(virtio, buffer_outside_ram)
{
	expect_broken(buffer_outside_ram);
}
Test(virtio, buffer_address_wraps)
{
	expect_broken(buffer_wraps);
}
Test(virtio, avail_index_too_far_ahead)
{
	expect_broken(avail_too_far_ahead);
}
Test(virtio, indirect_descriptor_not_negotiated)
{
	expect_broken(indirect);
}
Test(virtio, readable_after_writable)
{
	expect_broken(readable_after_writable);
}

/* ---- rng -------------------------------------------------------------------
 */

Test(virtio, rng_serves_the_seeded_stream)
{
	struct cc_virtio_rng r;
	cc_virtio_rng_init(&r, &mem, (struct cc_irq_line){set_irq, NULL, 7},
			   42);
	bring_up(&r.t, 1, 8);
	put_desc(0, 0, BUF, 48, 2, 0);
	publish(0, 0, 0, 1);
	wr(&r.t, 0x50, 0);
	cc_virtio_mmio_poll(&r.t, UINT64_MAX - 1);
	uint8_t got[48], want[48];
	cc_mem_read(&mem, BUF, got, 48);
	struct cc_entropy e;
	cc_entropy_init(&e, cc_virtio_rng_stream_seed(42));
	cc_entropy_fill(&e, want, 48);
	cr_assert_arr_eq(got, want, 48);
}

/* ---- disk and blk
 * ------------------------------------------------------------ */

static char image[64];

static void make_image(void)
{
	strcpy(image, "/tmp/cc-test-disk-XXXXXX");
	int fd = mkstemp(image);
	cr_assert_geq(fd, 0);
	static uint8_t buf[1 << 20];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i / 512);
	cr_assert_eq(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	close(fd);
}

Test(disk, overlay_copies_on_write_and_snapshots_share_pages)
{
	struct cc_disk d;
	struct cc_err e;
	make_image();
	cr_assert_eq(cc_disk_open(&d, image, 1, &e), 0, "%s", e.msg);
	uint8_t b[512], w[512];
	memset(w, 0xee, sizeof(w));
	cc_disk_read(&d, 512 * 3, b, 512);
	cr_assert_eq(b[0], 3);
	cr_assert_eq(cc_disk_write(&d, 512 * 3, w, 512), CC_DISK_OK);
	cr_assert_eq(cc_disk_overlay_pages(&d), 1);
	struct cc_disk_snap s;
	cr_assert_eq(cc_disk_snap_take(&d, &s), 0);
	memset(w, 0x11, sizeof(w));
	cc_disk_write(&d, 512 * 3, w, 512);
	cc_disk_write(&d, 512 * 100, w, 512);
	cc_disk_read(&d, 512 * 3, b, 512);
	cr_assert_eq(b[0], 0x11);
	cr_assert_eq(cc_disk_snap_restore(&d, &s), 0);
	cc_disk_read(&d, 512 * 3, b, 512);
	cr_assert_eq(b[0], 0xee, "restore brings the snapshot's data back");
	cc_disk_read(&d, 512 * 100, b, 512);
	cr_assert_eq(b[0], 100, "and the image under pages written since");
	/* The image file itself never changes. */
	int fd = open(image, O_RDONLY);
	cr_assert_eq(pread(fd, b, 512, 512 * 3), 512);
	cr_assert_eq(b[0], 3);
	close(fd);
	char out[80];
	snprintf(out, sizeof(out), "%s.out", image);
	cr_assert_eq(cc_disk_writeback(&d, out, &e), 0, "%s", e.msg);
	fd = open(out, O_RDONLY);
	cr_assert_eq(pread(fd, b, 512, 512 * 3), 512);
	cr_assert_eq(b[0], 0xee, "write-back merges the overlay");
	close(fd);
	cc_disk_snap_free(&s);
	cc_disk_close(&d);
	unlink(out);
	unlink(image);
}

/* The disk is the file as it was when opened: the host truncating or
 * rewriting it afterwards reaches no guest and kills no VMM (a shared
 * mapping of the file raised SIGBUS on the first read past the cut). */
Test(disk, host_edits_and_truncation_after_open_change_nothing)
{
	struct cc_disk d, g;
	struct cc_err e;
	make_image();
	cr_assert_eq(cc_disk_open(&d, image, 1, &e), 0, "%s", e.msg);
	cc_disk_blank(&g, 4 << 20, 1);
	cr_assert_eq(cc_disk_attach(&g, image, &e), 0, "%s", e.msg);
	int fd = open(image, O_WRONLY | O_TRUNC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "edited", 6), 6);
	close(fd);
	uint8_t b[512];
	for (unsigned k = 0; k < 2; k++) {
		struct cc_disk *x = k ? &g : &d;
		cr_assert_eq(cc_disk_read(x, 0, b, 512), CC_DISK_OK);
		cr_assert_eq(b[0], 0, "the old first sector, not the edit");
		cr_assert_eq(cc_disk_read(x, 512 * 1000, b, 512), CC_DISK_OK);
		cr_assert_eq(b[100], (uint8_t)1000, "past the cut: old bytes");
	}
	cc_disk_close(&d);
	cc_disk_close(&g);
	unlink(image);
}

/* A sparse data disk costs its data, not its size. */
Test(disk, a_sparse_image_stays_sparse)
{
	char path[] = "/tmp/cc-test-sparse-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 256 << 20), 0);
	cr_assert_eq(pwrite(fd, "data", 4, 100 << 20), 4);
	close(fd);
	struct cc_disk d;
	struct cc_err e;
	cr_assert_eq(cc_disk_open(&d, path, 1, &e), 0, "%s", e.msg);
	unlink(path);
	struct stat st;
	cr_assert_eq(fstat(d.fd, &st), 0);
	cr_assert_lt(st.st_blocks * 512, 1 << 20, "%lld bytes held",
		     (long long)st.st_blocks * 512);
	uint8_t b[512];
	cr_assert_eq(cc_disk_read(&d, 100 << 20, b, 512), CC_DISK_OK);
	cr_assert_eq(memcmp(b, "data", 4), 0);
	cr_assert_eq(cc_disk_read(&d, 7 << 20, b, 512), CC_DISK_OK);
	cr_assert_eq(b[0] | b[511], 0);
	cc_disk_close(&d);
}

Test(disk, faults)
{
	struct cc_disk d;
	struct cc_err e;
	make_image();
	cr_assert_eq(cc_disk_open(&d, image, 1, &e), 0);
	uint8_t b[4096], w[4096];
	memset(w, 0xab, sizeof(w));
	d.st.faults.read_error = true;
	cr_assert_eq(cc_disk_read(&d, 0, b, 512), CC_DISK_EIO);
	d.st.faults = (struct cc_disk_faults){.write_error = true};
	cr_assert_eq(cc_disk_write(&d, 0, w, 512), CC_DISK_EIO);
	d.st.faults = (struct cc_disk_faults){.full = true};
	cr_assert_eq(cc_disk_write(&d, 0, w, 512), CC_DISK_NOSPC);
	cr_assert_eq(cc_disk_overlay_pages(&d), 0,
		     "failed writes land nowhere");
	d.st.faults = (struct cc_disk_faults){.torn_write = true};
	cr_assert_eq(cc_disk_write(&d, 0, w, 4096), CC_DISK_OK);
	d.st.faults = (struct cc_disk_faults){0};
	cc_disk_read(&d, 0, b, 4096);
	int landed = 0;
	for (int s = 0; s < 8; s++)
		landed += b[512 * s] == 0xab;
	cr_assert_lt(landed, 8, "a torn write never lands whole");
	for (int s = 0; s < landed; s++)
		cr_assert_eq(b[512 * s], 0xab, "and lands as a prefix");
	d.st.faults = (struct cc_disk_faults){.corruption = true};
	cc_disk_read(&d, 8192, b, 4096);
	int bad = 0;
	for (int i = 0; i < 4096; i++)
		bad += b[i] != (uint8_t)((8192 + i) / 512);
	cr_assert_eq(bad, 8, "one byte per sector flips");
	cc_disk_close(&d);
	unlink(image);
}

static uint8_t sector_byte(struct cc_disk *d, uint64_t sector)
{
	uint8_t b[512];
	cr_assert_eq(cc_disk_read(d, 512 * sector, b, 512), CC_DISK_OK);
	return b[0];
}

static void write_sector(struct cc_disk *d, uint64_t sector, uint8_t v)
{
	uint8_t w[512];
	memset(w, v, sizeof(w));
	cr_assert_eq(cc_disk_write(d, 512 * sector, w, 512), CC_DISK_OK);
}

/* A power cut (ProcessRestart) keeps what the guest flushed, and the
 * flush point travels with snapshots. */
Test(disk, power_loss_keeps_what_was_flushed)
{
	struct cc_disk d;
	struct cc_err e;
	make_image();
	cr_assert_eq(cc_disk_open(&d, image, 1, &e), 0, "%s", e.msg);
	write_sector(&d, 3, 0xee);
	cr_assert_eq(cc_disk_flush(&d), CC_DISK_OK);
	write_sector(&d, 3, 0x11);
	write_sector(&d, 100, 0x11);
	cr_assert_eq(cc_disk_unflushed_pages(&d), 2);
	cr_assert_eq(cc_disk_power_loss(&d), 0);
	cr_assert_eq(sector_byte(&d, 3), 0xee, "flushed: kept");
	cr_assert_eq(sector_byte(&d, 100), 100, "unflushed: the image again");
	cr_assert_eq(cc_disk_unflushed_pages(&d), 0);
	write_sector(&d, 3, 0x22);
	struct cc_disk_snap s;
	cr_assert_eq(cc_disk_snap_take(&d, &s), 0);
	cr_assert_eq(cc_disk_flush(&d), CC_DISK_OK);
	cr_assert_eq(cc_disk_snap_restore(&d, &s), 0);
	cr_assert_eq(sector_byte(&d, 3), 0x22);
	cr_assert_eq(cc_disk_unflushed_pages(&d), 1,
		     "the snapshot's flush point, not the later one");
	cr_assert_eq(cc_disk_power_loss(&d), 0);
	cr_assert_eq(sector_byte(&d, 3), 0xee);
	cc_disk_snap_free(&s);
	cc_disk_close(&d);
	unlink(image);
}

/* 64 unflushed pages on two disks of one seed, one of another. */
static void crash_disk(struct cc_disk *d, uint64_t seed)
{
	struct cc_err e;
	cr_assert_eq(cc_disk_open(d, image, seed, &e), 0, "%s", e.msg);
	write_sector(d, 0, 0x77);
	cr_assert_eq(cc_disk_flush(d), CC_DISK_OK);
	uint8_t w[4096];
	for (int p = 0; p < 64; p++) {
		memset(w, 0xc0 ^ p, sizeof(w));
		cr_assert_eq(cc_disk_write(d, 4096ull * (p + 1), w, 4096),
			     CC_DISK_OK);
	}
	cr_assert_eq(cc_disk_unflushed_pages(d), 64);
	cr_assert_eq(cc_disk_crash(d), 0);
	cr_assert_eq(cc_disk_unflushed_pages(d), 0, "what is left is durable");
}

/* ProcessCrash: each unflushed page lands, is lost (the image's bytes)
 * or tears (each sector old or new), as the disk's seed decides. */
Test(disk, crash_lands_loses_or_tears_each_unflushed_page_by_the_seed)
{
	static struct cc_disk a, b, c;
	make_image();
	crash_disk(&a, 5);
	crash_disk(&b, 5);
	crash_disk(&c, 6);
	cr_assert_eq(a.st.crash_landed + a.st.crash_lost + a.st.crash_torn, 64);
	cr_assert(a.st.crash_landed && a.st.crash_lost && a.st.crash_torn,
		  "landed %llu lost %llu torn %llu",
		  (unsigned long long)a.st.crash_landed,
		  (unsigned long long)a.st.crash_lost,
		  (unsigned long long)a.st.crash_torn);
	uint8_t x[4096], y[4096], z[4096];
	int differ = 0;
	for (int p = 0; p < 64; p++) {
		uint64_t off = 4096ull * (p + 1);
		cc_disk_read(&a, off, x, 4096);
		cc_disk_read(&b, off, y, 4096);
		cc_disk_read(&c, off, z, 4096);
		cr_assert(!memcmp(x, y, 4096), "page %d: one seed, one crash",
			  p);
		differ += memcmp(x, z, 4096) != 0;
		for (int s = 0; s < 8; s++) {
			uint8_t v = x[512 * s], old = (uint8_t)(off / 512 + s);
			cr_assert(v == (0xc0 ^ p) || v == old,
				  "page %d sector %d: old or new, nothing else",
				  p, s);
		}
	}
	cr_assert_gt(differ, 0, "another seed, another crash");
	cr_assert_eq(sector_byte(&a, 0), 0x77, "flushed pages are untouched");
	cc_disk_close(&a);
	cc_disk_close(&b);
	cc_disk_close(&c);
	unlink(image);
}

/* What the snapshot loader rebuilds from the list the saver writes. */
Test(disk, unflushed_pages_round_trip_through_the_loader_form)
{
	struct cc_disk d, r;
	struct cc_err e;
	make_image();
	cr_assert_eq(cc_disk_open(&d, image, 1, &e), 0, "%s", e.msg);
	cr_assert_eq(cc_disk_open(&r, image, 1, &e), 0, "%s", e.msg);
	write_sector(&d, 8, 0x01); /* page 1 */
	cr_assert_eq(cc_disk_flush(&d), CC_DISK_OK);
	write_sector(&d, 8, 0x02);   /* page 1: durable data differs */
	write_sector(&d, 80, 0x03);  /* page 10: durable is the image */
	write_sector(&d, 160, 0x04); /* page 20 */
	cr_assert_eq(cc_disk_flush(&d), CC_DISK_OK);
	write_sector(&d, 160, 0x05); /* page 20 again, after the flush */
	write_sector(&d, 240, 0x06); /* page 30: image */
	struct cc_disk_snap s, t;
	cr_assert_eq(cc_disk_snap_take(&d, &s), 0);
	uint64_t index[8], pages[8];
	const struct cc_disk_page *page[8];
	uint64_t m = cc_disk_snap_unflushed(&s, index, page);
	cr_assert_eq(m, 2);
	cr_assert(index[0] == 20 && page[0] && index[1] == 30 && !page[1]);
	static uint8_t data[8 * 4096], dur[4096];
	uint8_t present[2] = {1, 0};
	for (uint64_t i = 0; i < s.n; i++) {
		pages[i] = s.slot[i].index;
		memcpy(data + 4096 * i, s.slot[i].page->data, 4096);
	}
	memcpy(dur, page[0]->data, 4096);
	cr_assert_eq(cc_disk_snap_from(&t, pages, data, s.n), 0);
	cr_assert_eq(cc_disk_snap_unflushed_from(&t, index, present, dur, m),
		     0);
	cr_assert_eq(cc_disk_snap_restore(&r, &t), 0);
	cr_assert_eq(cc_disk_unflushed_pages(&r), 2);
	cr_assert_eq(cc_disk_power_loss(&r), 0);
	cr_assert_eq(sector_byte(&r, 8), 0x02);
	cr_assert_eq(sector_byte(&r, 80), 0x03);
	cr_assert_eq(sector_byte(&r, 160), 0x04);
	cr_assert_eq(sector_byte(&r, 240), 240 & 0xff, "the image's bytes");
	/* Lists the loader must refuse: out of order, not in the overlay. */
	uint64_t backwards[2] = {30, 20}, stranger[1] = {7};
	cr_assert_eq(
		cc_disk_snap_unflushed_from(&t, backwards, present, dur, 2),
		-1);
	cr_assert_eq(cc_disk_snap_unflushed_from(&t, stranger, present, dur, 1),
		     -1);
	cc_disk_snap_free(&s);
	cc_disk_snap_free(&t);
	cc_disk_close(&d);
	cc_disk_close(&r);
	unlink(image);
}

/* A read request: header, 1 KiB of data, status. */
static void blk_request(uint16_t head, uint32_t type, uint64_t sector,
			uint64_t data, uint32_t len, uint16_t slot)
{
	uint8_t hdr[16] = {0};
	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	cc_mem_write(&mem, BUF + 0x100 * head, hdr, 16);
	put_desc(0, head, BUF + 0x100 * head, 16, 1, head + 1);
	put_desc(0, head + 1, data, len, 1 | (type == 0 ? 2 : 0), head + 2);
	put_desc(0, head + 2, BUF + 0x100 * head + 0x80, 1, 2, 0);
	publish(0, slot, head, slot + 1);
}

static uint8_t blk_status(uint16_t head)
{
	uint8_t s;
	cc_mem_read(&mem, BUF + 0x100 * head + 0x80, &s, 1);
	return s;
}

/* A virtio-blk device on the test image, its queue of 16 ready. */
static void blk_up(struct cc_virtio_blk *b)
{
	struct cc_err e;
	make_image();
	cr_assert_eq(cc_virtio_blk_init(b, &mem,
					(struct cc_irq_line){set_irq, NULL, 5},
					image, 1, &e),
		     0, "%s", e.msg);
	bring_up(&b->t, 1, 16);
}

Test(virtio, blk_reads_writes_and_refuses_out_of_range)
{
	struct cc_virtio_blk b;
	blk_up(&b);
	uint64_t cap;
	cc_virtio_mmio_read(&b.t, 0x100, (uint8_t *)&cap, 8, 0);
	cr_assert_eq(cap, 2048, "capacity in sectors");
	uint8_t data[1024];
	memset(data, 0x77, sizeof(data));
	cc_mem_write(&mem, 0x40000, data, sizeof(data));
	blk_request(0, 1, 10, 0x40000, 1024, 0);   /* write sectors 10-11 */
	blk_request(3, 0, 10, 0x50000, 1024, 1);   /* read them back */
	blk_request(6, 0, 2047, 0x60000, 1024, 2); /* runs off the end */
	wr(&b.t, 0x50, 0);
	cc_virtio_mmio_poll(&b.t, UINT64_MAX - 1);
	cr_assert_eq(used_idx(0), 3);
	cr_assert_eq(blk_status(0), 0);
	cr_assert_eq(blk_status(3), 0);
	cr_assert_eq(blk_status(6), 1, "IOERR past the end");
	uint8_t got[1024];
	cc_mem_read(&mem, 0x50000, got, sizeof(got));
	cr_assert_arr_eq(got, data, sizeof(got));
	cr_assert_eq(used_len(0, 1), 1025);
	b.disk.st.faults.full = true;
	blk_request(9, 1, 20, 0x40000, 1024, 3);
	wr(&b.t, 0x50, 0);
	cc_virtio_mmio_poll(&b.t, UINT64_MAX - 1);
	cr_assert_eq(blk_status(9), CC_VIRTIO_BLK_S_NOSPC);
	cr_assert_eq(broken, 0);
	cc_virtio_blk_free(&b);
	unlink(image);
}

/* A used ring the device cannot write (only a forged snapshot state
 * gets one past the checks) breaks the device; the request is not
 * dropped in silence. */
Test(virtio, blk_used_ring_write_failure_needs_reset)
{
	struct cc_virtio_blk b;
	blk_up(&b);
	b.t.s.q[0].used = RAM - 2; /* the used index fits, the ring does not */
	blk_request(0, 0, 10, 0x50000, 1024, 0);
	wr(&b.t, 0x50, 0);
	cc_virtio_mmio_poll(&b.t, UINT64_MAX - 1);
	cr_assert(rd(&b.t, 0x70) & CC_VIRTIO_S_NEEDS_RESET, "%s",
		  b.t.s.last_error);
	cr_assert_eq(broken, 1);
	cr_assert_str_eq(b.t.s.last_error, "used ring outside guest RAM");
	cc_virtio_blk_free(&b);
	unlink(image);
}

/* ---- net -------------------------------------------------------------------
 */

static const uint8_t arp_request[42] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0x12, 0x34,
	3,    8,    6,	  0,	1,    8,    0,	  6,	4, 0,	 1,
	0x52, 0x54, 0,	  0x12, 0x34, 3,    10,	  0,	0, 1,	 0,
	0,    0,    0,	  0,	0,    10,   0,	  0,	2};

Test(virtio, net_tx_to_port_and_echo_back_to_rx)
{
	struct cc_virtio_net n;
	cc_virtio_net_init(&n, &mem, (struct cc_irq_line){set_irq, NULL, 6}, 3);
	uint8_t mac[6];
	cc_virtio_mmio_read(&n.t, 0x100, mac, 6, 0);
	uint8_t want[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 3};
	cr_assert_arr_eq(mac, want, 6);
	bring_up(&n.t, 2, 16);
	uint8_t frame[12 + 42] = {0};
	memcpy(frame + 12, arp_request, 42);
	cc_mem_write(&mem, BUF, frame, sizeof(frame));
	put_desc(1, 0, BUF, sizeof(frame), 0, 0);
	publish(1, 0, 0, 1);
	put_desc(0, 0, 0x30000, 1526, 2, 0);
	publish(0, 0, 0, 1);
	wr(&n.t, 0x50, 1);
	cc_virtio_mmio_poll(&n.t, 10000);
	struct cc_net_frame f;
	cr_assert(cc_net_port_take(&n, &f, 10000));
	cr_assert_eq(f.len, 42);
	cr_assert_eq(f.at, 10000);
	struct cc_net_echo echo = {0};
	uint8_t out[CC_NET_FRAME_MAX];
	uint32_t len;
	cr_assert(cc_net_echo_reply(&echo, f.data, f.len, out, &len));
	cr_assert_eq(out[21], 2, "ARP reply");
	cr_assert_arr_eq(out, want, 6, "to the asker");
	cr_assert(cc_net_port_deliver(&n, out, len, 10000));
	cc_virtio_mmio_poll(&n.t, 10000);
	cr_assert_eq(used_idx(0), 1);
	cr_assert_eq(used_len(0, 0), 12 + 42);
	uint8_t got[42];
	cc_mem_read(&mem, 0x30000 + 12, got, 42);
	cr_assert_arr_eq(got, out, 42);
}

Test(virtio, net_backlog_is_bounded_and_counted)
{
	struct cc_virtio_net n;
	cc_virtio_net_init(&n, &mem, (struct cc_irq_line){set_irq, NULL, 6}, 0);
	for (unsigned i = 0; i < CC_NET_QUEUE; i++)
		cr_assert(cc_net_port_deliver(&n, arp_request, 42, 0));
	cr_assert_not(cc_net_port_deliver(&n, arp_request, 42, 0));
	cr_assert_not(cc_net_port_deliver(&n, arp_request, 5, 0), "runt");
	cr_assert_eq(n.port.rx_dropped, 2);
	cr_assert_null(cc_net_port_check(&n.port));
	n.port.rx.head = CC_NET_QUEUE; /* what a forged snapshot could hold */
	cr_assert_not_null(cc_net_port_check(&n.port));
}

Test(net_echo, udp_is_mirrored_with_valid_checksums)
{
	/* Ethernet + IPv4 + UDP 10.0.0.1:5000 -> 10.0.0.2:7, "hi". */
	uint8_t f[44] = {0x52, 0x54, 0, 0xec, 0x40, 0,	  0x52, 0x54, 0,
			 0x12, 0x34, 0, 8,    0,    0x45, 0,	0,    30,
			 0,    1,    0, 0,    64,   17,	  0,	0,    10,
			 0,    0,    1, 10,   0,    0,	  2,	0x13, 0x88,
			 0,    7,    0, 10,   0,    0,	  'h',	'i'};
	struct cc_net_echo e = {0};
	uint8_t out[64];
	uint32_t len;
	cr_assert(cc_net_echo_reply(&e, f, sizeof(f), out, &len));
	cr_assert_eq(len, sizeof(f));
	uint8_t src[4] = {10, 0, 0, 2}, dst[4] = {10, 0, 0, 1};
	cr_assert_arr_eq(out + 26, src, 4);
	cr_assert_arr_eq(out + 30, dst, 4);
	cr_assert_eq(out[34] << 8 | out[35], 7, "from port 7");
	cr_assert_eq(out[36] << 8 | out[37], 5000, "to port 5000");
	cr_assert_arr_eq(out, f + 6, 6, "back to the sender's MAC");
	uint8_t junk[20] = {0};
	cr_assert_not(cc_net_echo_reply(&e, junk, sizeof(junk), out, &len));
}

/* The image disk's backing: blank (zeros, its full size) until an image
 * is attached, the image's bytes then and zeros past its end, blank
 * again once detached; a file larger than the disk is refused. */
Test(disk, a_blank_disk_takes_an_image_and_gives_it_back)
{
	struct cc_disk d;
	struct cc_err e;
	make_image(); /* sector i starts with byte i */
	cc_disk_blank(&d, 2 << 20, 1);
	uint8_t b[512];
	memset(b, 0xaa, sizeof(b));
	cc_disk_read(&d, 512 * 3, b, 512);
	cr_assert_eq(b[0], 0);
	cr_assert_eq(cc_disk_attach(&d, image, &e), 0, "%s", e.msg);
	cc_disk_read(&d, 512 * 3, b, 512);
	cr_assert_eq(b[0], 3);
	cc_disk_read(&d, (2 << 20) - 512, b, 512);
	cr_assert_eq(b[0], 0); /* past the image: zeros */
	cc_disk_detach(&d);
	cc_disk_read(&d, 512 * 3, b, 512);
	cr_assert_eq(b[0], 0);
	cc_disk_close(&d);
	cc_disk_blank(&d, 1 << 19, 1); /* smaller than the image */
	cr_assert_neq(cc_disk_attach(&d, image, &e), 0);
	cr_assert(strstr(e.msg, "not a regular file of 1 byte"), "%s", e.msg);
	cc_disk_close(&d);
}
