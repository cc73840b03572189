/*
 * netcheck: brings up eth0 (virtio-net) as 10.0.0.1/24 and exchanges
 * data with 10.0.0.2 port 7 over UDP and TCP using the ordinary socket
 * API.  Whatever answers there (`run --net-echo`'s mirror, or a peer VM)
 * must send each message back unchanged.
 *
 *   netcheck [ROUNDS]   ROUNDS UDP datagrams and ROUNDS TCP messages
 *                       (default 3); exit 0 when every one came back
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define SELF "10.0.0.1"
#define PEER "10.0.0.2"
#define PORT 7

static void set_addr(int fd, unsigned long req, const char *ip)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "eth0");
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &sin->sin_addr);
	if (ioctl(fd, req, &ifr) < 0)
		printf("netcheck: ioctl %#lx: %s\n", req, strerror(errno));
}

static void up(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	set_addr(fd, SIOCSIFADDR, SELF);
	set_addr(fd, SIOCSIFNETMASK, "255.255.255.0");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "eth0");
	ioctl(fd, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		printf("netcheck: eth0 up: %s\n", strerror(errno));
	close(fd);
}

static int connect_peer(int type)
{
	int fd = socket(AF_INET, type, 0);
	struct timeval tv = {2, 0}; /* guest time: virtual seconds */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(PORT)};
	inet_pton(AF_INET, PEER, &a.sin_addr);
	int one = 1; /* one round trip per message, no Nagle/delayed-ACK wait */
	if (type == SOCK_STREAM)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		printf("netcheck: connect (%s): %s\n",
		       type == SOCK_STREAM ? "tcp" : "udp", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends msg and reads the same number of bytes back. */
static int exchange(int fd, const char *msg, int stream)
{
	size_t len = strlen(msg), got = 0;
	char buf[256];
	if (send(fd, msg, len, 0) != (ssize_t)len)
		return 0;
	while (got < len) {
		ssize_t n = recv(fd, buf + got, sizeof(buf) - got, 0);
		if (n <= 0)
			return 0;
		got += (size_t)n;
		if (!stream)
			break;
	}
	return got == len && !memcmp(buf, msg, len);
}

static int rounds(int type, int n)
{
	int fd = connect_peer(type), ok = 0;
	for (int i = 0; fd >= 0 && i < n; i++) {
		char msg[64];
		snprintf(msg, sizeof(msg), "%s message %d",
			 type == SOCK_STREAM ? "tcp" : "udp", i);
		ok += exchange(fd, msg, type == SOCK_STREAM);
	}
	if (fd >= 0)
		close(fd);
	printf("netcheck: %s %d/%d echoed\n",
	       type == SOCK_STREAM ? "tcp" : "udp", ok, n);
	return ok == n;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	setvbuf(stdout, NULL, _IOLBF, 0);
	up();
	int udp = rounds(SOCK_DGRAM, n);
	int tcp = rounds(SOCK_STREAM, n);
	return udp && tcp ? 0 : 1;
}
