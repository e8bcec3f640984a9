/*
 * zygote.c - the Lua module behind `modlife-prosody --serve SOCKET`: a
 * fork server, so that Prosody starts once and serves many cases.
 *
 *     local zygote = package.loadlib(SO, "luaopen_modlife_zygote")()
 *     local moddir, seed = zygote.serve(SOCKET)   -- returns in children only
 *     ...                                          -- run the case
 *     zygote.finish(status)                        -- never returns
 *
 * serve() listens on the Unix socket SOCKET. Each client (connect.c,
 * started by the runner as the driver `modlife-prosody MODDIR`) sends its
 * MODDIR and, as SCM_RIGHTS, its stdin, stdout and stderr. The server
 * forks; the child makes those descriptors its own (stdin 0; stdout 3,
 * the protocol stream; stderr 1 and 2, as the modlife-prosody wrapper
 * does) and returns to Lua with MODDIR and a seed for its heap and
 * math.random. Every case thus starts from the same state: Prosody just
 * started, no host, no module (the per-case isolation of a fresh driver).
 *
 * The server watches each child through a pidfd and sends its exit status
 * (the wait status: 0-255 for an exit, 128 + N for signal N) to its
 * client; a client that goes away (the runner killed it at its timeout)
 * gets its child killed, so a hanging case never outlives its runner. serve() never
 * returns in the server: it ends on SIGTERM or when SOCKET is removed.
 *
 * Built by mk/prosody-server.mk; Lua's symbols come from lua5.4 itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <lua.h>
#include <lauxlib.h>

#define MAX_CLIENTS 256
#define MODDIR_MAX 4096

struct client {
	int conn;
	int pidfd;
	pid_t pid;
};

/* The child's wait status as a driver exit status. */
static unsigned char exit_byte(int status)
{
	if (WIFEXITED(status))
		return (unsigned char)WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return (unsigned char)(128 + WTERMSIG(status));
	return 70;
}

/*
 * Reads one request: MODDIR (the message's bytes) and three descriptors.
 * Returns 0, or -1 on a malformed request (the connection is dropped).
 */
static int read_request(int conn, char *moddir, int fds[3])
{
	char control[CMSG_SPACE(3 * sizeof(int))];
	struct iovec iov = { moddir, MODDIR_MAX - 1 };
	struct msghdr msg;
	struct cmsghdr *c;
	ssize_t n;

	memset(&msg, 0, sizeof msg);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control;
	msg.msg_controllen = sizeof control;
	do
		n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	moddir[n] = '\0';
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(3 * sizeof(int)))
		return -1;
	memcpy(fds, CMSG_DATA(c), 3 * sizeof(int));
	return 0;
}

/* In the child: the client's descriptors become this process's. */
static void adopt(int fds[3])
{
	if (dup2(fds[0], 0) < 0 || dup2(fds[1], 3) < 0 ||
	    dup2(fds[2], 1) < 0 || dup2(fds[2], 2) < 0)
		_exit(70);
	close(fds[0]);
	close(fds[1]);
	close(fds[2]);
}

static int l_serve(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct sockaddr_un addr;
	struct pollfd pfd[2 * MAX_CLIENTS + 1];
	struct client clients[MAX_CLIENTS];
	int nclients = 0;
	int lfd;

	if (strlen(path) >= sizeof addr.sun_path)
		return luaL_error(L, "socket path too long: %s", path);
	memset(&addr, 0, sizeof addr);
	addr.sun_family = AF_UNIX;
	strcpy(addr.sun_path, path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return luaL_error(L, "socket: %s", strerror(errno));
	unlink(path);
	if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
	    listen(lfd, 64) < 0)
		return luaL_error(L, "%s: %s", path, strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	fflush(NULL);

	for (;;) {
		int i, n;
		struct stat st;

		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		for (i = 0; i < nclients; i++) {
			pfd[2 * i + 1].fd = clients[i].conn;
			pfd[2 * i + 1].events = POLLIN;
			pfd[2 * i + 2].fd = clients[i].pidfd;
			pfd[2 * i + 2].events = POLLIN;
		}
		n = poll(pfd, 2 * (nfds_t)nclients + 1, 1000);
		if (n < 0 && errno != EINTR)
			return luaL_error(L, "poll: %s", strerror(errno));
		/* Whoever started the server removes the socket to stop it. */
		if (stat(path, &st) < 0)
			_exit(0);
		if (n <= 0)
			continue;
		/*
		 * A child that ended: its status goes to its client. A
		 * connection that becomes readable has hung up (a client
		 * writes only its request): kill its child, then reap it.
		 */
		for (i = nclients - 1; i >= 0; i--) {
			int status = 0;
			unsigned char byte;

			if (!pfd[2 * i + 1].revents && !pfd[2 * i + 2].revents)
				continue;
			if (!pfd[2 * i + 2].revents)
				kill(clients[i].pid, SIGKILL);
			if (waitpid(clients[i].pid, &status, 0) < 0)
				status = 70 << 8;
			byte = exit_byte(status);
			/* A client that is gone cannot be told: ignore EPIPE. */
			if (write(clients[i].conn, &byte, 1) < 0)
				errno = 0;
			close(clients[i].conn);
			close(clients[i].pidfd);
			clients[i] = clients[--nclients];
		}
		if (pfd[0].revents & POLLIN) {
			char moddir[MODDIR_MAX];
			int fds[3];
			int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			pid_t pid;

			if (conn < 0)
				continue;
			if (nclients == MAX_CLIENTS ||
			    read_request(conn, moddir, fds) < 0) {
				close(conn);
				continue;
			}
			fflush(NULL);
			pid = fork();
			if (pid == 0) {
				signal(SIGPIPE, SIG_DFL);
				close(lfd);
				close(conn);
				for (i = 0; i < nclients; i++) {
					close(clients[i].conn);
					close(clients[i].pidfd);
				}
				adopt(fds);
				lua_pushstring(L, moddir);
				lua_pushinteger(L, (lua_Integer)getpid() ^
						(lua_Integer)time(NULL) << 16);
				return 2;
			}
			close(fds[0]);
			close(fds[1]);
			close(fds[2]);
			clients[nclients].pidfd = pid < 0 ? -1 :
				(int)syscall(SYS_pidfd_open, pid, 0);
			if (clients[nclients].pidfd < 0) {
				if (pid > 0) {
					kill(pid, SIGKILL);
					waitpid(pid, NULL, 0);
				}
				close(conn);
				continue;
			}
			clients[nclients].conn = conn;
			clients[nclients].pid = pid;
			nclients++;
		}
	}
}

/*
 * finish(status): exit without closing the Lua state (no __gc runs); the
 * server reports the status to the client.
 */
static int l_finish(lua_State *L)
{
	int status = (int)luaL_checkinteger(L, 1);

	fflush(NULL);
	_exit(status);
	return 0;
}

int luaopen_modlife_zygote(lua_State *L);

int luaopen_modlife_zygote(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "serve", l_serve },
		{ "finish", l_finish },
		{ NULL, NULL },
	};

	luaL_newlib(L, fns);
	return 1;
}
