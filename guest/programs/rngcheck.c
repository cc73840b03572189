/*
 * rngcheck [N]: reads N bytes (default 32) from /dev/hwrng - the
 * virtio-rng device - and prints them as hex on one line.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 32;
	unsigned char buf[256];
	if (n < 1 || n > (int)sizeof(buf))
		n = 32;
	int fd = open("/dev/hwrng", O_RDONLY);
	int got = 0;
	while (fd >= 0 && got < n) {
		ssize_t r = read(fd, buf + got, (size_t)(n - got));
		if (r <= 0)
			break;
		got += (int)r;
	}
	if (got < n) {
		printf("rngcheck: /dev/hwrng gave %d of %d bytes\n", got, n);
		return 1;
	}
	printf("rngcheck: ");
	for (int i = 0; i < n; i++)
		printf("%02x", buf[i]);
	printf("\n");
	return 0;
}
