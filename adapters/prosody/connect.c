/*
 * connect.c - modlife-prosody-connect SOCKET MODDIR: the driver a runner
 * starts when a Prosody fork server is running (modlife-prosody with
 * MODLIFE_PROSODY_SERVER set; zygote.c is the server).
 *
 * Sends MODDIR and this process's stdin, stdout and stderr to the server,
 * whose forked child then speaks the protocol on them directly (no
 * relaying: the runner reads the child's own writes). Waits for the
 * child's exit status and exits with it; exits 70 if the child ended
 * without one (it crashed or was killed). When the runner kills this
 * process (timeout), the server sees the connection close and kills the
 * child.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un addr;
	int fds[3] = { 0, 1, 2 };
	char control[CMSG_SPACE(sizeof fds)];
	struct iovec iov;
	struct msghdr msg;
	struct cmsghdr *c;
	unsigned char status;
	ssize_t n;
	int s;

	if (argc != 3) {
		fprintf(stderr, "usage: modlife-prosody-connect SOCKET MODDIR\n");
		return 2;
	}
	if (strlen(argv[1]) >= sizeof addr.sun_path || !argv[2][0]) {
		fprintf(stderr, "modlife-prosody-connect: bad socket or MODDIR\n");
		return 2;
	}
	memset(&addr, 0, sizeof addr);
	addr.sun_family = AF_UNIX;
	strcpy(addr.sun_path, argv[1]);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) {
		fprintf(stderr, "modlife-prosody-connect: %s: %s\n", argv[1],
			strerror(errno));
		return 70;
	}
	memset(&msg, 0, sizeof msg);
	iov.iov_base = argv[2];
	iov.iov_len = strlen(argv[2]);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control;
	msg.msg_controllen = sizeof control;
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof fds);
	memcpy(CMSG_DATA(c), fds, sizeof fds);
	if (sendmsg(s, &msg, 0) < 0) {
		fprintf(stderr, "modlife-prosody-connect: sendmsg: %s\n",
			strerror(errno));
		return 70;
	}
	/* The child has our descriptors now; ours only wait. */
	do
		n = read(s, &status, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		fprintf(stderr, "modlife-prosody-connect: the driver ended without an exit status\n");
		return 70;
	}
	return status;
}
