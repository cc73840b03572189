/*
 * What every cluster program needs: its node index and eth0 up.
 *
 * VM i of a simulation has MAC 52:54:00:12:34:<i> (the VMM's virtio-net
 * gives it), so a program learns its index from its own MAC and every
 * node can run the same command line.  Node i is 10.0.0.<i+1>/24.
 */
#ifndef CC_GUEST_CLUSTER_H
#define CC_GUEST_CLUSTER_H

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void cluster_ifreq(int fd, unsigned long req, struct ifreq *ifr,
			  const char *what)
{
	strcpy(ifr->ifr_name, "eth0");
	if (ioctl(fd, req, ifr) < 0)
		printf("cluster: %s: %s\n", what, strerror(errno));
}

static void cluster_set_ip(int fd, unsigned long req, uint32_t ip)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(ip);
	cluster_ifreq(fd, req, &ifr, "set address");
}

/* The address of node i, host order. */
static inline uint32_t cluster_ip(unsigned i)
{
	return 0x0a000001u + i; /* 10.0.0.<i+1> */
}

/* Brings eth0 up as this node's address; returns the node index. */
static unsigned cluster_up(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	cluster_ifreq(fd, SIOCGIFHWADDR, &ifr, "read MAC");
	unsigned self = (uint8_t)ifr.ifr_hwaddr.sa_data[5];
	cluster_set_ip(fd, SIOCSIFADDR, cluster_ip(self));
	cluster_set_ip(fd, SIOCSIFNETMASK, 0xffffff00u);
	memset(&ifr, 0, sizeof(ifr));
	cluster_ifreq(fd, SIOCGIFFLAGS, &ifr, "read flags");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	cluster_ifreq(fd, SIOCSIFFLAGS, &ifr, "bring eth0 up");
	close(fd);
	return self;
}

/* The guest's monotonic clock in ms (virtual time, skew and jumps
 * included). */
static inline int64_t cluster_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline struct sockaddr_in cluster_addr(unsigned node, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(cluster_ip(node));
	return a;
}

#endif
