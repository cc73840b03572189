/*
 * The system a server expects around it, set up by init (cc-init):
 * file systems, device nodes, the files under /etc, the network and the
 * node's name.  Split in two so the boot cache keeps the part that is
 * the same for every node (before the ready point) and only a node's
 * identity is applied after it.
 */
#ifndef CC_INIT_SYSTEM_H
#define CC_INIT_SYSTEM_H

/* Who this node is (protocol.h, CC_DOORBELL_NODE); count 0: a VM on its
 * own, no network identity. */
struct cc_node {
	unsigned index, count;
	int data_disk; /* mount /dev/vda at /data */
	int image;     /* lay the image disk over the root */
};

/* Before the ready point: /tmp, /dev/shm, /dev/{null,zero,urandom},
 * /etc/{passwd,group,nsswitch.conf,resolv.conf} where the image has
 * none, and lo up. */
void cc_system_base(void);

/* After it: the image disk, when there is one, mounted at /cc/image and
 * laid over the root; hostname node<i>, /etc/hosts naming every node (unless
 * the image brings one), eth0 as 10.0.0.<i+1>/24 with MAC 52:54:00:12:34:<i>,
 * and, when asked, the ext4 disk on /dev/vda mounted at /data. Problems are
 * printed, never fatal: the program decides. */
void cc_system_node(const struct cc_node *node);

#endif
