/*
 * What init sets up around a server (system.h).  Every system call here
 * costs VM exits on PVM, so the work is a fixed, short list: a file that
 * exists is left alone with one failed open, nothing is read back.
 */
#define _GNU_SOURCE
#include "system.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include "chaoscontrol/protocol.h"

/* 10.0.0.<i+1>/24 leaves room for this many nodes (.255 is broadcast). */
#define MAX_NODES 254

static void warn(const char *what, const char *arg)
{
	dprintf(2, "cc-init: %s %s: %s\n", what, arg, strerror(errno));
}

/* Writes path unless it exists: an image's own file always wins. */
static void default_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		if (errno != EEXIST)
			warn("cannot create", path);
		return;
	}
	size_t n = strlen(text);
	if (write(fd, text, n) != (ssize_t)n)
		warn("cannot write", path);
	close(fd);
}

static void tmpfs(const char *dir)
{
	mkdir(dir, 01777);
	if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		warn("cannot mount tmpfs on", dir);
}

/* devtmpfs makes these when the kernel has their drivers; a kernel
 * without devtmpfs still gets them. */
static void char_dev(const char *path, unsigned major, unsigned minor)
{
	if (mknod(path, S_IFCHR | 0666, makedev(major, minor)) < 0 &&
	    errno != EEXIST)
		warn("cannot create", path);
}

static int ifreq_call(int fd, unsigned long req, struct ifreq *ifr,
		      const char *dev, const char *what)
{
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", dev);
	if (ioctl(fd, req, ifr) == 0)
		return 0;
	warn(what, dev);
	return -1;
}

static void link_up(int fd, const char *dev)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	if (ifreq_call(fd, SIOCGIFFLAGS, &ifr, dev, "cannot read flags of"))
		return;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	ifreq_call(fd, SIOCSIFFLAGS, &ifr, dev, "cannot bring up");
}

void cc_system_base(void)
{
	tmpfs("/tmp");
	mkdir("/dev/shm", 01777);
	tmpfs("/dev/shm");
	char_dev("/dev/null", 1, 3);
	char_dev("/dev/zero", 1, 5);
	char_dev("/dev/urandom", 1, 9);
	mkdir("/etc", 0755);
	mkdir("/root", 0700);
	default_file("/etc/passwd",
		     "root:x:0:0:root:/root:/bin/sh\n"
		     "nobody:x:65534:65534:nobody:/:/bin/false\n");
	default_file("/etc/group", "root:x:0:\nnogroup:x:65534:\n");
	default_file("/etc/nsswitch.conf", "passwd: files\ngroup: files\n"
					   "hosts: files\n");
	/* No name server: names resolve from /etc/hosts alone. */
	default_file("/etc/resolv.conf", "");
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		warn("cannot open a socket for", "lo");
		return;
	}
	link_up(fd, "lo"); /* the kernel gives it 127.0.0.1/8 */
	close(fd);
}

static void set_ipv4(int fd, unsigned long req, uint32_t addr)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	struct sockaddr_in sin = {.sin_family = AF_INET};
	sin.sin_addr.s_addr = htonl(addr);
	memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
	ifreq_call(fd, req, &ifr, "eth0", "cannot set an address on");
}

/* eth0 as node i: the MAC the simulated network routes to VM i (set
 * here, so a VM restored from another node's boot is still itself) and
 * 10.0.0.<i+1>/24. */
static void eth0_up(unsigned i)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		warn("cannot open a socket for", "eth0");
		return;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0};
	ifr.ifr_hwaddr.sa_family = 1; /* ARPHRD_ETHER */
	memcpy(ifr.ifr_hwaddr.sa_data, mac, 5);
	ifr.ifr_hwaddr.sa_data[5] = (char)(uint8_t)i;
	if (ifreq_call(fd, SIOCSIFHWADDR, &ifr, "eth0",
		       "cannot set the MAC of")) {
		close(fd);
		return;
	}
	set_ipv4(fd, SIOCSIFADDR, 0x0a000001u + i);
	set_ipv4(fd, SIOCSIFNETMASK, 0xffffff00u);
	link_up(fd, "eth0");
	close(fd);
}

static void write_hosts(const struct cc_node *n)
{
	/* 254 lines of "10.0.0.254 node253\n" at most */
	static char text[64 + MAX_NODES * 24];
	size_t at =
		(size_t)snprintf(text, sizeof(text), "127.0.0.1 localhost\n");
	if (!n->count)
		at += (size_t)snprintf(text + at, sizeof(text) - at,
				       "127.0.1.1 node0\n");
	for (unsigned k = 0; k < n->count; k++)
		at += (size_t)snprintf(text + at, sizeof(text) - at,
				       "10.0.0.%u node%u\n", k + 1, k);
	default_file("/etc/hosts", text);
}

/* ext2, ext3 and ext4 share the superblock magic 0xEF53 at byte 1080. */
static int has_ext_fs(const char *dev)
{
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* no disk: nothing to mount */
	uint8_t m[2] = {0, 0};
	ssize_t got = pread(fd, m, 2, 1080);
	close(fd);
	return got == 2 && m[0] == 0x53 && m[1] == 0xEF;
}

static void mount_data(void)
{
	mkdir("/data", 0755);
	if (!has_ext_fs("/dev/vda")) {
		dprintf(2, "cc-init: /dev/vda holds no ext4 file system: "
			   "/data is not mounted\n");
		return;
	}
	if (mount("/dev/vda", "/data", "ext4", MS_NOATIME, NULL) < 0)
		warn("cannot mount /dev/vda on", "/data");
}

/* ---- the image disk ----------------------------------------------------
 * The user's image arrives after the ready point as a read-only ext4
 * file system on its own virtio-blk device (protocol.h), so the boot
 * cache never depends on it.  It is mounted at CC_IMAGE_MOUNT and laid
 * over the root, path by path, the way a later cpio archive would be:
 * directories are made, links copied, small files copied (a server may
 * rewrite its configuration) and the rest linked to the mounted copy,
 * so a 16 MiB server costs a few hundred system calls, not 16 MiB of
 * emulated kernel copying.  The image wins over what is already there.
 */
#define SMALL_FILE (64u << 10)

/* /dev/vdX whose virtio-blk serial is CC_IMAGE_SERIAL. */
static int find_image_disk(char *dev, size_t cap)
{
	for (char c = 'a'; c <= 'h'; c++) {
		char p[64], id[32] = "";
		snprintf(p, sizeof(p), "/sys/block/vd%c/serial", c);
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, id, sizeof(id) - 1);
		close(fd);
		if (n > 0 &&
		    !strncmp(id, CC_IMAGE_SERIAL, strlen(CC_IMAGE_SERIAL))) {
			snprintf(dev, cap, "/dev/vd%c", c);
			return 0;
		}
	}
	return -1;
}

static void copy_small(const char *from, const char *to, mode_t mode)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	unlink(to);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	static char buf[SMALL_FILE];
	ssize_t n = in < 0 ? -1 : read(in, buf, sizeof(buf));
	if (in < 0 || out < 0 || n < 0 || write(out, buf, (size_t)n) != n)
		warn("cannot copy the image's", to);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
}

static void lay_entry(const char *from, const char *to, const struct stat *st)
{
	if (S_ISLNK(st->st_mode)) {
		char target[4096];
		ssize_t n = readlink(from, target, sizeof(target) - 1);
		if (n < 0)
			return warn("cannot read the image's link", from);
		target[n] = 0;
		unlink(to);
		if (symlink(target, to) < 0)
			warn("cannot link", to);
	} else if (S_ISREG(st->st_mode) && st->st_size <= SMALL_FILE) {
		copy_small(from, to, st->st_mode & 07777);
	} else if (S_ISREG(st->st_mode)) {
		unlink(to);
		if (symlink(from, to) < 0)
			warn("cannot link", to);
	}
}

/* Lays the tree at from (inside the mount) over to; depth-bounded. */
static void lay_dir(char *from, size_t flen, char *to, size_t tlen, int depth)
{
	DIR *d = opendir(from);
	if (!d)
		return warn("cannot read the image's", from);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    (depth == 0 && !strcmp(e->d_name, "lost+found")))
			continue;
		size_t n = strlen(e->d_name);
		if (flen + n + 2 > 4096 || tlen + n + 2 > 4096)
			continue; /* the builder never makes such paths */
		snprintf(from + flen, 4096 - flen, "/%s", e->d_name);
		snprintf(to + tlen, 4096 - tlen, "/%s", e->d_name);
		struct stat st;
		if (lstat(from, &st) < 0) {
			warn("cannot stat", from);
		} else if (S_ISDIR(st.st_mode) && depth < 64) {
			if (mkdir(to, st.st_mode & 07777) < 0 &&
			    errno != EEXIST)
				warn("cannot make", to);
			lay_dir(from, flen + n + 1, to, tlen + n + 1,
				depth + 1);
		} else {
			lay_entry(from, to, &st);
		}
	}
	from[flen] = to[tlen] = 0;
	closedir(d);
}

static void mount_image(void)
{
	char dev[32];
	if (find_image_disk(dev, sizeof(dev)) < 0) {
		dprintf(2, "cc-init: no image disk (serial %s): no image\n",
			CC_IMAGE_SERIAL);
		return;
	}
	/* The boot read the device while it was still blank (the
	 * partition scan): drop those cached pages first. */
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ioctl(fd, BLKFLSBUF, 0);
		close(fd);
	}
	mkdir("/cc", 0755);
	mkdir(CC_IMAGE_MOUNT, 0755);
	if (mount(dev, CC_IMAGE_MOUNT, "ext4", MS_RDONLY | MS_NOATIME, NULL) <
	    0)
		return warn("cannot mount the image from", dev);
	static char from[4096], to[4096];
	snprintf(from, sizeof(from), "%s", CC_IMAGE_MOUNT);
	to[0] = 0;
	lay_dir(from, strlen(from), to, 0, 0);
}

void cc_system_node(const struct cc_node *node)
{
	struct cc_node n = *node;
	if (n.count > MAX_NODES || (n.count && n.index >= n.count)) {
		dprintf(2, "cc-init: bad node identity %u of %u: ignored\n",
			n.index, n.count);
		n.index = n.count = 0;
	}
	if (n.image)
		mount_image(); /* first: its /etc files win */
	char name[16];
	int len = snprintf(name, sizeof(name), "node%u", n.index);
	if (sethostname(name, (size_t)len) < 0)
		warn("cannot set the host name", name);
	write_hosts(&n);
	if (n.count)
		eth0_up(n.index);
	if (n.data_disk)
		mount_data();
}
