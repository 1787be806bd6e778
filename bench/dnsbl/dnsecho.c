/*
 * dnsecho.c - the fastest DNS "server" this machine can measure: every
 * query comes back as its own answer (QR set, nothing looked up), through
 * the same recvmmsg/sendmmsg batches as bulwark's UDP loop, with the same
 * nap after a short batch (which also spares the load generator wake-ups,
 * so it matters to the ceiling).  bench/dnsbl
 * runs dnsperf against it to find the most queries per second the load
 * generator and the kernel's UDP path can carry on the cores given, so a
 * goal beyond that ceiling shows up as unmeasurable rather than as missed.
 *
 * Usage: bench_dnsecho ADDR PORT  (IPv4; runs until killed)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>

#define BATCH 64
#define MSG_MAX 1232
#define NAP_BELOW (BATCH / 8)
#define NAP_US 100

int
main(int argc, char **argv)
{
	static struct mmsghdr in[BATCH], out[BATCH];
	static struct iovec iin[BATCH], iout[BATCH];
	static struct sockaddr_in from[BATCH];
	static unsigned char buf[BATCH][MSG_MAX];
	struct sockaddr_in sa;
	int fd, rcvbuf = 8 << 20;
	char *end;
	unsigned long port;

	if (argc != 3) {
		fprintf(stderr, "usage: bench_dnsecho ADDR PORT\n");
		return 2;
	}
	port = strtoul(argv[2], &end, 10);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	if (*end || port == 0 || port > 65535 || inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "bench_dnsecho: bad address or port\n");
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("bench_dnsecho");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	prctl(PR_SET_TIMERSLACK, 10000UL, 0UL, 0UL, 0UL);
	for (;;) {
		int n, k = 0;

		for (int i = 0; i < BATCH; i++) {
			iin[i].iov_base = buf[i];
			iin[i].iov_len = MSG_MAX;
			memset(&in[i].msg_hdr, 0, sizeof(in[i].msg_hdr));
			in[i].msg_hdr.msg_name = &from[i];
			in[i].msg_hdr.msg_namelen = sizeof(from[i]);
			in[i].msg_hdr.msg_iov = &iin[i];
			in[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, in, BATCH, MSG_WAITFORONE, NULL);
		for (int i = 0; i < n; i++) {
			if (in[i].msg_len < 12)
				continue;
			buf[i][2] |= 0x80; /* QR */
			iout[k].iov_base = buf[i];
			iout[k].iov_len = in[i].msg_len;
			memset(&out[k].msg_hdr, 0, sizeof(out[k].msg_hdr));
			out[k].msg_hdr.msg_name = &from[i];
			out[k].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
			out[k].msg_hdr.msg_iov = &iout[k];
			out[k].msg_hdr.msg_iovlen = 1;
			k++;
		}
		for (int sent = 0; sent < k;) {
			int r = sendmmsg(fd, out + sent, (unsigned)(k - sent), 0);
			sent += r > 0 ? r : 1;
		}
		if (n < NAP_BELOW) {
			struct timespec ts = {.tv_sec = 0, .tv_nsec = NAP_US * 1000L};
			nanosleep(&ts, NULL);
		}
	}
}
