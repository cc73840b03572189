/*
 * Fuzz target: the virtio-mmio devices (blk, net, rng) as a hostile guest
 * drives them.  The input is guest memory (rings, descriptors, buffers)
 * plus a program of register accesses, queue set-ups, notifications,
 * virtual-time steps and host-side network traffic.  Nothing may crash,
 * leak or touch memory outside guest RAM; afterwards the device state
 * must still pass the snapshot validator.
 *
 * Input: 2-byte length L, L bytes copied into the last 60 KiB of guest
 * RAM (so a ring or buffer that ran past the end of RAM would fault),
 * then 8-byte commands.  Every input runs on devices and RAM nothing
 * ran on before (fresh()).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/virtio_blk.h"
#include "devices/virtio_net.h"
#include "devices/virtio_rng.h"
#include "sim/net_echo.h"

#define RAM	 (16ull << 20)
#define AREA	 (60u << 10) /* a 16-bit length covers it */
#define AREA_GPA (RAM - AREA)

static struct cc_mem mem;
static struct cc_virtio_blk blk;
static struct cc_virtio_net net;
static struct cc_virtio_rng rng;
static uint64_t now;

static void no_irq(void *ctx, unsigned irq, int level)
{
	(void)ctx;
	(void)irq;
	(void)level;
}

static void quiet(void *ctx, const char *dev, const char *msg)
{
	(void)ctx;
	(void)dev;
	(void)msg;
}

static char disk_path[] = "/tmp/cc-fuzz-disk-XXXXXX";

static void remove_disk(void)
{
	unlink(disk_path);
}

/* Once: guest RAM and the disk file the data disk opens each input. */
static void setup(void)
{
	struct cc_err e;
	int fd = mkstemp(disk_path);
	static uint8_t zeros[64 << 10];
	if (fd < 0 || write(fd, zeros, sizeof(zeros)) != sizeof(zeros) ||
	    cc_mem_init(&mem, RAM, &e)) {
		fprintf(stderr, "fuzz_virtio: set-up failed\n");
		abort();
	}
	close(fd);
	atexit(remove_disk);
}

/* Each input starts from a machine nothing ran on: devices set up anew
 * (queues, counters, streams, the disk's overlay and faults), the clock
 * at 0, RAM zero (MADV_DONTNEED drops the pages the last input wrote,
 * anywhere its descriptors pointed).  A crash then reproduces from its
 * input alone. */
static void fresh(void)
{
	struct cc_err e;
	if (madvise(mem.host, mem.size, MADV_DONTNEED))
		abort();
	now = 0;
	struct cc_irq_line irq = {no_irq, NULL, 0};
	if (cc_virtio_blk_init(&blk, &mem, irq, disk_path, 1, &e))
		abort();
	cc_virtio_net_init(&net, &mem, irq, 0);
	cc_virtio_rng_init(&rng, &mem, irq, 1);
	blk.t.log = net.t.log = rng.t.log = quiet;
}

static struct cc_virtio_mmio *dev(uint8_t b)
{
	return b % 3 == 0 ? &blk.t : b % 3 == 1 ? &net.t : &rng.t;
}

static void wr(struct cc_virtio_mmio *t, uint64_t off, uint32_t v)
{
	cc_virtio_mmio_write(t, off, (const uint8_t *)&v, 4, now);
}

static uint32_t u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* A driver's usual set-up, with fuzzed geometry inside the area. */
static void setup_queue(struct cc_virtio_mmio *t, const uint8_t *c)
{
	wr(t, 0x30, c[2] % 2);
	wr(t, 0x38, 1u << (c[3] % 9));
	wr(t, 0x80, (uint32_t)(AREA_GPA + (c[4] << 8)));
	wr(t, 0x84, 0);
	wr(t, 0x90, (uint32_t)(AREA_GPA + (c[5] << 8)));
	wr(t, 0x94, 0);
	wr(t, 0xa0, (uint32_t)(AREA_GPA + (c[6] << 8)));
	wr(t, 0xa4, c[7] == 0xff); /* now and then, beyond 4 GiB */
	wr(t, 0x44, 1);
}

static void driver_ok(struct cc_virtio_mmio *t, const uint8_t *c)
{
	wr(t, 0x70, 1 | 2);
	wr(t, 0x24, 1);
	wr(t, 0x20, 1 | (c[2] & 2)); /* VERSION_1, maybe junk */
	wr(t, 0x24, 0);
	wr(t, 0x20, u32(c + 4));
	wr(t, 0x70, 1 | 2 | 8);
	wr(t, 0x70, 1 | 2 | 4 | 8);
}

static void poll_all(void)
{
	cc_virtio_mmio_poll(&blk.t, now);
	cc_virtio_mmio_poll(&net.t, now);
	cc_virtio_mmio_poll(&rng.t, now);
}

static void command(const uint8_t *c)
{
	struct cc_virtio_mmio *t = dev(c[1]);
	uint8_t buf[8];
	switch (c[0] % 8) {
	case 0:
		wr(t, (uint64_t)(c[2] | c[3] << 8) & 0xfff, u32(c + 4));
		break;
	case 1:
		cc_virtio_mmio_read(t, (uint64_t)(c[2] | c[3] << 8) & 0xfff,
				    buf, 1u << (c[4] % 4), now);
		break;
	case 2:
		setup_queue(t, c);
		break;
	case 3:
		driver_ok(t, c);
		break;
	case 4:
		wr(t, 0x50, c[2] % 3);
		break;
	case 5: /* time passes; the disk's fault switches change */
		now += (uint64_t)(c[2] | c[3] << 8) * 1000;
		blk.disk.st.faults = (struct cc_disk_faults){
			c[4] & 1, c[4] & 2, c[4] & 4, c[4] & 8, c[4] & 16};
		poll_all();
		break;
	case 6: {
		uint32_t len = (c[2] | c[3] << 8) % 1600;
		uint32_t at = (c[4] | c[5] << 8) % (AREA - 1600);
		cc_net_port_deliver(&net, mem.host + AREA_GPA + at, len, now);
		break;
	}
	case 7: {
		static struct cc_net_frame f;
		static uint8_t out[CC_NET_FRAME_MAX];
		struct cc_net_echo echo = {0};
		uint32_t len;
		while (cc_net_port_take(&net, &f, now))
			if (cc_net_echo_reply(&echo, f.data, f.len, out, &len))
				cc_net_port_deliver(&net, out, len, now);
		break;
	}
	}
}

/* ---- seeds: a well-formed session per device, so the fuzzer starts
 * from inputs that reach request handling, and mutates from there. */

struct seed {
	uint8_t area[AREA];
	uint8_t cmd[64][8];
	unsigned ncmd;
};

static void desc(struct seed *s, uint32_t table, unsigned i, uint32_t addr,
		 uint32_t len, uint16_t flags, uint16_t next)
{
	uint64_t gpa = AREA_GPA + addr;
	uint8_t *d = s->area + table + 16 * i;
	memcpy(d, &gpa, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void avail(struct seed *s, uint32_t ring, uint16_t n)
{
	uint16_t idx = n;
	memcpy(s->area + ring + 2, &idx, 2);
	for (uint16_t i = 0; i < n; i++)
		memcpy(s->area + ring + 4 + 2 * i, &i, 2);
}

static void cmd(struct seed *s, uint8_t a, uint8_t b, uint8_t c, uint8_t d,
		uint8_t e, uint8_t f, uint8_t g)
{
	uint8_t *p = s->cmd[s->ncmd++];
	p[0] = a, p[1] = b, p[2] = c, p[3] = d, p[4] = e, p[5] = f, p[6] = g;
	p[7] = 0;
}

/* Queue q of device d: table at 0xT000, avail 0xT800, used 0xTC00. */
static void queue(struct seed *s, uint8_t d, uint8_t q, uint8_t t)
{
	cmd(s, 2, d, q, 3, t, t + 8, t + 12);
}

static void write_seed(const char *dir, const char *name, struct seed *s)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (access(path, F_OK) == 0)
		return;
	FILE *f = fopen(path, "wb");
	if (!f)
		return;
	uint8_t len[2] = {AREA & 0xff, AREA >> 8 & 0xff};
	fwrite(len, 1, 2, f);
	fwrite(s->area, 1, AREA, f);
	fwrite(s->cmd, 8, s->ncmd, f);
	fclose(f);
}

static void seed_blk(const char *dir)
{
	static struct seed s;
	memset(&s, 0, sizeof(s));
	uint32_t in[4] = {0, 0, 1, 0}, out[4] = {1, 0, 2, 0};
	memcpy(s.area + 0x1000, in, 16);
	memcpy(s.area + 0x1100, out, 16);
	desc(&s, 0x100, 0, 0x1000, 16, 1, 1);
	desc(&s, 0x100, 1, 0x2000, 512, 3, 2);
	desc(&s, 0x100, 2, 0x3000, 1, 2, 0);
	desc(&s, 0x100, 3, 0x1100, 16, 1, 4);
	desc(&s, 0x100, 4, 0x2200, 512, 1, 5);
	desc(&s, 0x100, 5, 0x3100, 1, 2, 0);
	avail(&s, 0x900, 2);
	uint16_t ring[2] = {0, 3};
	memcpy(s.area + 0x900 + 4, ring, 4);
	cmd(&s, 3, 0, 0, 0, 0, 0, 0);
	queue(&s, 0, 0, 0x01);
	cmd(&s, 4, 0, 0, 0, 0, 0, 0);
	cmd(&s, 5, 0, 100, 0, 0, 0, 0);
	write_seed(dir, "seed-blk", &s);
}

static void seed_net(const char *dir)
{
	static struct seed s;
	memset(&s, 0, sizeof(s));
	/* An ARP request for 10.0.0.2 from 10.0.0.1, after a 12-byte header. */
	static const uint8_t arp[42] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0x12, 0x34,
		0,    8,    6,	  0,	1,    8,    0,	  6,	4, 0,	 1,
		0x52, 0x54, 0,	  0x12, 0x34, 0,    10,	  0,	0, 1,	 0,
		0,    0,    0,	  0,	0,    10,   0,	  0,	2};
	memcpy(s.area + 0x1000 + 12, arp, sizeof(arp));
	desc(&s, 0x5000, 0, 0x1000, 12 + sizeof(arp), 0, 0);
	avail(&s, 0x5800, 1);
	desc(&s, 0x6000, 0, 0x7000, 1600, 2, 0);
	avail(&s, 0x6800, 1);
	cmd(&s, 3, 1, 0, 0, 0, 0, 0);
	queue(&s, 1, 0, 0x60);
	queue(&s, 1, 1, 0x50);
	cmd(&s, 4, 1, 1, 0, 0, 0, 0);
	cmd(&s, 5, 0, 100, 0, 0, 0, 0);
	cmd(&s, 7, 0, 0, 0, 0, 0, 0);
	cmd(&s, 4, 1, 0, 0, 0, 0, 0);
	cmd(&s, 5, 0, 100, 0, 0, 0, 0);
	write_seed(dir, "seed-net", &s);
}

static void seed_rng(const char *dir)
{
	static struct seed s;
	memset(&s, 0, sizeof(s));
	desc(&s, 0x8000, 0, 0x9000, 64, 2, 0);
	avail(&s, 0x8800, 1);
	cmd(&s, 3, 2, 0, 0, 0, 0, 0);
	queue(&s, 2, 0, 0x80);
	cmd(&s, 4, 2, 0, 0, 0, 0, 0);
	cmd(&s, 5, 0, 100, 0, 0, 0, 0);
	write_seed(dir, "seed-rng", &s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* The first non-flag argument is the corpus directory. */
	for (int i = 1; i < *argc; i++) {
		if ((*argv)[i][0] == '-')
			continue;
		seed_blk((*argv)[i]);
		seed_net((*argv)[i]);
		seed_rng((*argv)[i]);
		break;
	}
	return 0;
}

static void drive(const uint8_t *data, size_t size)
{
	if (size < 2)
		return;
	size_t l = (size_t)(data[0] | data[1] << 8);
	data += 2;
	size -= 2;
	if (l > size)
		l = size;
	if (l > AREA)
		l = AREA;
	memcpy(mem.host + AREA_GPA, data, l);
	for (size_t i = l; i + 8 <= size; i += 8)
		command(data + i);
	poll_all();
	if (cc_virtio_mmio_state_check(&blk.t, &blk.t.s) ||
	    cc_virtio_mmio_state_check(&net.t, &net.t.s) ||
	    cc_virtio_mmio_state_check(&rng.t, &rng.t.s) ||
	    cc_net_port_check(&net.port))
		abort(); /* state a snapshot restore would refuse */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!mem.host)
		setup();
	fresh();
	drive(data, size);
	cc_virtio_blk_free(&blk);
	return 0;
}
