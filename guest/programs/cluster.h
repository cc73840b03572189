/*
 * What every cluster program needs: its node index, its peers'
 * addresses and the clock.
 *
 * Init sets VM i of a simulation up as host node<i> at 10.0.0.<i+1>/24
 * (guest/init/system.c), so every node can run the same command line
 * and learn its index from its host name.
 */
#ifndef CC_GUEST_CLUSTER_H
#define CC_GUEST_CLUSTER_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The address of node i, host order. */
static inline uint32_t cluster_ip(unsigned i)
{
	return 0x0a000001u + i; /* 10.0.0.<i+1> */
}

/* This node's index: init named the host node<i> and brought eth0 up
 * as its address (guest/init/system.c). */
static inline unsigned cluster_self(void)
{
	char name[64] = {0};
	if (gethostname(name, sizeof(name) - 1) < 0 ||
	    strncmp(name, "node", 4)) {
		printf("cluster: host name \"%s\" is not node<i>\n", name);
		return 0;
	}
	return (unsigned)strtoul(name + 4, NULL, 10);
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
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(cluster_ip(node));
	return a;
}

#endif
