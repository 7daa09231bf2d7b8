/* 64-byte-payload UDP datagrams as fast as one core sends them, spread over
 * FLOWS flows (flow i: source port 10000 + i % 50000, destination port
 * 5000 + i / 50000, in turn), for SECONDS; prints how many it sent.
 * A raw socket (IP_HDRINCL) so that 100000 flows need no 100000 sockets;
 * sendmmsg() 64 at a time so that the sender's syscalls cost little beside
 * the stack's per-packet work, which is what the bench compares.
 *
 *   udpflood SRC DST SECONDS FLOWS        (built by bench/smallpkt.py)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define BATCH 64
#define PAYLOAD 64

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static unsigned char pkt[BATCH][sizeof(struct iphdr) + sizeof(struct udphdr) + PAYLOAD];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in dst = {.sin_family = AF_INET};
	unsigned long sent = 0, flow = 0, flows;
	double end;
	int fd, one = 1, i, n;

	if (argc != 5)
		return fprintf(stderr, "usage: udpflood SRC DST SECONDS FLOWS\n"), 2;
	flows = strtoul(argv[4], NULL, 10);
	if (!flows || inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1)
		return fprintf(stderr, "udpflood: bad DST or FLOWS\n"), 2;
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)))
		return perror("udpflood: raw socket"), 1;
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; i++) {
		struct iphdr *ip = (struct iphdr *)pkt[i];
		struct udphdr *udp = (struct udphdr *)(ip + 1);

		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		inet_pton(AF_INET, argv[1], &ip->saddr);
		ip->daddr = dst.sin_addr.s_addr;    /* tot_len, id, check: the kernel's */
		udp->len = htons(sizeof(struct udphdr) + PAYLOAD);
		iov[i].iov_base = pkt[i];
		iov[i].iov_len = sizeof(pkt[i]);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &dst;
		msgs[i].msg_hdr.msg_namelen = sizeof(dst);
	}
	end = now() + atof(argv[3]);
	while (now() < end) {
		for (i = 0; i < BATCH; i++) {
			struct udphdr *udp = (struct udphdr *)(pkt[i] + sizeof(struct iphdr));

			udp->source = htons(10000 + flow % 50000);
			udp->dest = htons(5000 + flow / 50000);
			if (++flow == flows)
				flow = 0;
		}
		n = sendmmsg(fd, msgs, BATCH, 0);
		if (n > 0)
			sent += n;
	}
	printf("%lu\n", sent);
	return 0;
}
