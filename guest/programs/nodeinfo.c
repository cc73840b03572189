/*
 * nodeinfo: prints what init set up around the program (its identity,
 * network, files, file systems), one fact per line, so the tests can
 * read a node's system from its console:
 *
 *   nodeinfo [--wait] [PEER_NAME...]
 *
 * resolves each name through /etc/hosts.  With an ext4 disk on /data it
 * also prints /data/seed.txt, counts its own runs in /data/runs (written
 * and fsync'ed), then says whether /data/unsynced exists and writes it
 * without a sync: a restart shows that the disk kept what the node
 * flushed and lost what it did not.  --wait stays up afterwards (init
 * syncs every disk when the program exits).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <net/if.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#define TMPFS_MAGIC 0x01021994
#define EXT4_MAGIC  0xEF53

static void address(int fd, const char *dev)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	int up = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
	char ip[INET_ADDRSTRLEN] = "none";
	if (ioctl(fd, SIOCGIFADDR, &ifr) == 0) {
		struct sockaddr_in sin;
		memcpy(&sin, &ifr.ifr_addr, sizeof(sin));
		inet_ntop(AF_INET, &sin.sin_addr, ip, sizeof(ip));
	}
	unsigned char mac[6] = {0};
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	printf("nodeinfo: %s %s %s mac %02x:%02x:%02x:%02x:%02x:%02x\n", dev,
	       up ? "up" : "down", ip, mac[0], mac[1], mac[2], mac[3], mac[4],
	       mac[5]);
}

static const char *fs_kind(const char *path)
{
	struct statfs s;
	if (statfs(path, &s) < 0)
		return "missing";
	if (s.f_type == TMPFS_MAGIC)
		return "tmpfs";
	if (s.f_type == EXT4_MAGIC)
		return "ext4";
	return "other";
}

static void resolve(const char *name)
{
	struct addrinfo hints = {.ai_family = AF_INET}, *res = NULL;
	char ip[INET_ADDRSTRLEN] = "unresolved";
	if (getaddrinfo(name, NULL, &hints, &res) == 0 && res) {
		struct sockaddr_in sin;
		memcpy(&sin, res->ai_addr, sizeof(sin));
		inet_ntop(AF_INET, &sin.sin_addr, ip, sizeof(ip));
		freeaddrinfo(res);
	}
	printf("nodeinfo: resolve %s %s\n", name, ip);
}

/* /data/seed.txt as the host wrote it (tests/linux/mkdisk.sh), and one more run
 * in /data/runs. */
static void data_disk(void)
{
	char buf[128] = {0};
	int fd = open("/data/seed.txt", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	printf("nodeinfo: /data/seed.txt %s\n", n > 0 ? buf : "(none)");
	long runs = 0;
	fd = open("/data/runs", O_RDWR | O_CREAT, 0644);
	if (fd < 0) {
		printf("nodeinfo: /data/runs cannot be opened\n");
		return;
	}
	memset(buf, 0, sizeof(buf));
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		runs = atol(buf);
	int len = snprintf(buf, sizeof(buf), "%ld\n", runs + 1);
	if (pwrite(fd, buf, (size_t)len, 0) != len || fsync(fd) < 0)
		printf("nodeinfo: /data/runs cannot be written\n");
	close(fd);
	printf("nodeinfo: /data/runs %ld\n", runs + 1);
	printf("nodeinfo: /data/unsynced %s\n",
	       access("/data/unsynced", F_OK) ? "absent" : "present");
	fd = open("/data/unsynced", O_WRONLY | O_CREAT, 0644);
	if (fd < 0 || write(fd, "not flushed\n", 12) != 12)
		printf("nodeinfo: /data/unsynced cannot be written\n");
	if (fd >= 0)
		close(fd);
}

int main(int argc, char **argv)
{
	char host[64] = {0};
	gethostname(host, sizeof(host) - 1);
	printf("nodeinfo: host %s\n", host);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	printf("nodeinfo: wall %lld ms\n",
	       (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	address(fd, "lo");
	address(fd, "eth0");
	close(fd);
	int wait = argc > 1 && !strcmp(argv[1], "--wait");
	for (int i = 1 + wait; i < argc; i++)
		resolve(argv[i]);
	struct passwd *pw = getpwnam("root");
	printf("nodeinfo: user root %s\n", pw ? pw->pw_dir : "unknown");
	printf("nodeinfo: /tmp %s, /dev/shm %s, /data %s\n", fs_kind("/tmp"),
	       fs_kind("/dev/shm"), fs_kind("/data"));
	static const char *const devs[] = {"/dev/null", "/dev/zero",
					   "/dev/urandom"};
	for (int i = 0; i < 3; i++) {
		int d = open(devs[i], O_RDWR);
		printf("nodeinfo: %s %s\n", devs[i], d >= 0 ? "ok" : "missing");
		if (d >= 0)
			close(d);
	}
	if (!strcmp(fs_kind("/data"), "ext4"))
		data_disk();
	fflush(stdout);
	while (wait)
		pause();
	return 0;
}
