/*
 * spawn.c - the driver process: start, talk, time out, kill, reap.
 *
 * The driver runs in its own session (so its own process group) and
 * everything it starts is killed with the group when the case ends,
 * however it ends. All pipes are non-blocking and every wait goes
 * through one poll() against the case deadline, so no driver behaviour
 * (silence, endless output, a closed pipe, a stopped process) can hang
 * the runner. SIGCHLD and the termination signals write to a self-pipe
 * that wakes the poll.
 *
 * A driver that has exited is kept as a zombie until mlr_driver_stop:
 * while it is unreaped its pid cannot be reused, so killing its process
 * group can never hit an unrelated process.
 */
#include "mlr.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK 65536

static int sig_pipe[2] = { -1, -1 };
static volatile sig_atomic_t got_signal;
static struct mlr_driver *active; /* for mlr_kill_active */

static void on_signal(int sig)
{
	int saved = errno;

	if (sig != SIGCHLD)
		got_signal = sig;
	if (sig_pipe[1] >= 0)
		(void)!write(sig_pipe[1], "x", 1);
	errno = saved;
}

static void set_flags(int fd, bool nonblock)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl >= 0)
		fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
	if (nonblock) {
		fl = fcntl(fd, F_GETFL);
		if (fl >= 0)
			fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	}
}

/*
 * Prepares the process for running drivers: fds 0-2 open (else a pipe
 * could land on one of them and be lost in the child's dup2 dance),
 * SIGPIPE ignored (a driver that closed its stdin shows as EPIPE),
 * SIGCHLD and SIGINT/SIGTERM/SIGHUP noted through the self-pipe. Call
 * once before anything else.
 */
void mlr_spawn_init(void)
{
	static const int sigs[] = { SIGCHLD, SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;
	size_t i;
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
	if (pipe(sig_pipe) == 0) {
		set_flags(sig_pipe[0], true);
		set_flags(sig_pipe[1], true);
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_signal;
	/*
	 * SIGCHLD restarts what it interrupts (a write to stdout must not
	 * fail because a driver exited); a termination signal does not, so
	 * that it can stop a runner blocked anywhere (issue 11).
	 */
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		sa.sa_flags = sigs[i] == SIGCHLD ? SA_RESTART | SA_NOCLDSTOP : 0;
		sigaction(sigs[i], &sa, NULL);
	}
	mlr_become_subreaper();
}

/* The termination signal the runner received, or 0. */
int mlr_interrupted(void)
{
	return got_signal;
}

/* Monotonic seconds: deadlines must not move with the wall clock. */
double mlr_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Notes the driver's exit without reaping it (see the top comment). */
static void check_exit(struct mlr_driver *d)
{
	siginfo_t si;

	if (d->exited || !d->pid)
		return;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)d->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	    si.si_pid == d->pid) {
		d->exited = true;
		d->exit_code = si.si_code;
		d->exit_status = si.si_status;
	}
}

static void keep_stderr(struct mlr_driver *d, const char *data, size_t n)
{
	size_t room = d->err.len < MLR_STDERR_KEEP
			      ? MLR_STDERR_KEEP - d->err.len : 0;
	size_t take = n < room ? n : room;

	mlr_buf_add(&d->err, data, take);
	d->err_dropped += n - take;
}

/*
 * One read from fd. Returns 1 when bytes came, 0 when none are there now,
 * -1 at end of file.
 */
static int read_some(struct mlr_driver *d, int fd, bool is_err)
{
	char chunk[READ_CHUNK];
	ssize_t n;

	do
		n = read(fd, chunk, sizeof chunk);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		if (is_err)
			keep_stderr(d, chunk, (size_t)n);
		else
			mlr_buf_add(&d->out, chunk, (size_t)n);
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	return -1;
}

/*
 * Reads what a driver that has exited left behind. Once its pipes are
 * empty nothing more will come from it, even when a descendant still
 * holds them open, so empty counts as end of file.
 */
static void drain_after_exit(struct mlr_driver *d)
{
	int i;

	if (!d->out_eof && read_some(d, d->out_fd, false) != 1)
		d->out_eof = true;
	/* Bounded: a descendant may keep writing to stderr forever. */
	for (i = 0; i < 64 && !d->err_eof; i++)
		if (read_some(d, d->err_fd, true) != 1)
			d->err_eof = true;
	d->err_eof = true;
}

static int flush_input(struct mlr_driver *d)
{
	while (d->pending_in.len) {
		ssize_t n = write(d->in_fd, d->pending_in.data,
				  d->pending_in.len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			/* EPIPE: the driver closed its stdin or exited. */
			mlr_buf_consume(&d->pending_in, d->pending_in.len);
			return MLR_IO_GONE;
		}
		mlr_buf_consume(&d->pending_in, (size_t)n);
	}
	return 0;
}

/*
 * Waits for something to happen (output, stderr, room for input, the
 * driver's exit) or the deadline, and handles it. Callers loop on it.
 */
static int pump(struct mlr_driver *d)
{
	struct pollfd fds[4];
	nfds_t nfds = 0;
	int out_i = -1, err_i = -1, in_i = -1, rc = 0;
	double left;
	int ms;
	char sink[64];

	if (got_signal)
		return MLR_IO_INTERRUPT;
	left = d->deadline - mlr_now();
	if (left <= 0)
		return MLR_IO_TIMEOUT;
	check_exit(d);
	if (d->exited) {
		drain_after_exit(d);
		if (d->pending_in.len)
			rc = flush_input(d);
		return rc;
	}
	ms = left * 1000.0 > INT_MAX - 1 ? INT_MAX - 1 : (int)(left * 1000.0) + 1;

	fds[nfds].fd = sig_pipe[0];
	fds[nfds++].events = POLLIN;
	if (!d->out_eof) {
		out_i = (int)nfds;
		fds[nfds].fd = d->out_fd;
		fds[nfds++].events = POLLIN;
	}
	if (!d->err_eof) {
		err_i = (int)nfds;
		fds[nfds].fd = d->err_fd;
		fds[nfds++].events = POLLIN;
	}
	if (d->pending_in.len && d->in_fd >= 0) {
		in_i = (int)nfds;
		fds[nfds].fd = d->in_fd;
		fds[nfds++].events = POLLOUT;
	}
	if (poll(fds, nfds, ms) < 0)
		return errno == EINTR ? 0 : MLR_IO_TIMEOUT;

	if (fds[0].revents)
		while (read(sig_pipe[0], sink, sizeof sink) > 0)
			;
	if (err_i >= 0 && fds[err_i].revents &&
	    read_some(d, d->err_fd, true) < 0)
		d->err_eof = true;
	if (out_i >= 0 && fds[out_i].revents &&
	    read_some(d, d->out_fd, false) < 0)
		d->out_eof = true;
	if (in_i >= 0 && fds[in_i].revents)
		rc = flush_input(d);
	return rc;
}

/*
 * Starts argv (argv[0] looked up in PATH) in a new session with pipes
 * on its stdin, stdout and stderr; the case deadline is timeout seconds
 * from now. Returns 0, or -1 with the reason in why (nothing is left
 * running then).
 */
int mlr_driver_start(struct mlr_driver *d, char *const *argv, double timeout,
		     struct mlr_buf *why)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int ex[2] = { -1, -1 };
	int child_errno = 0, args_fd = -1;
	size_t last = 0;
	char **wrapped = NULL;
	pid_t runner = getpid();
	ssize_t n;
	pid_t pid;

	memset(d, 0, sizeof *d);
	d->in_fd = d->out_fd = d->err_fd = -1;
	mlr_buf_init(&d->pending_in);
	mlr_buf_init(&d->out);
	mlr_buf_init(&d->err);
	/* sandbox.c: argv runs under bwrap, which reads its options on fd 3. */
	if (mlr_sandbox_on()) {
		if (mlr_sandbox_prepare(argv, &wrapped, &args_fd, why))
			return -1;
		d->sandboxed = true;
	}

	if (pipe(in) || pipe(out) || pipe(err) || pipe(ex)) {
		mlr_buf_addf(why, "cannot create pipes: %s", strerror(errno));
		goto out_close_pipes;
	}
	set_flags(in[0], false);
	set_flags(in[1], false);
	set_flags(out[0], false);
	set_flags(out[1], false);
	set_flags(err[0], false);
	set_flags(err[1], false);
	set_flags(ex[0], false);
	set_flags(ex[1], false);

	/* sandbox.c: cleans up if the runner dies (MODDIR is last). */
	while (argv[last + 1])
		last++;
	mlr_janitor_watch(0, argv[last]);
	pid = fork();
	if (pid < 0) {
		mlr_buf_addf(why, "cannot fork: %s", strerror(errno));
		goto out_close_pipes;
	}
	if (pid == 0) {
		struct sigaction dfl;
		sigset_t none;
		int e;

		setsid();
		/* Ignored dispositions survive exec; the driver gets defaults. */
		memset(&dfl, 0, sizeof dfl);
		dfl.sa_handler = SIG_DFL;
		sigemptyset(&dfl.sa_mask);
		sigaction(SIGPIPE, &dfl, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* The driver (or bwrap) dies with the runner. */
		mlr_child_die_with_parent(runner);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 ||
		    dup2(err[1], 2) < 0 ||
		    (args_fd >= 0 && dup2(args_fd, 3) < 0))
			e = errno;
		else {
			/* Only 0, 1, 2 (and bwrap's options on 3) go on. */
			mlr_close_fds_from(args_fd >= 0 ? 4 : 3, ex[1]);
			if (wrapped)
				execvp(wrapped[0], wrapped);
			else
				execvp(argv[0], argv);
			e = errno;
		}
		(void)!write(ex[1], &e, sizeof e);
		_exit(127);
	}

	d->pid = pid;
	active = d;
	mlr_janitor_watch(pid, argv[last]);
	close_fd(&args_fd);
	free(wrapped);
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&err[1]);
	close_fd(&ex[1]);
	/* Blocks until exec succeeds (close-on-exec, EOF) or fails. */
	do
		n = read(ex[0], &child_errno, sizeof child_errno);
	while (n < 0 && errno == EINTR);
	close_fd(&ex[0]);
	d->in_fd = in[1];
	d->out_fd = out[0];
	d->err_fd = err[0];
	set_flags(d->in_fd, true);
	set_flags(d->out_fd, true);
	set_flags(d->err_fd, true);
	d->deadline = mlr_now() + timeout;
	if (n > 0) {
		mlr_buf_addf(why, "cannot run driver '%s': %s", argv[0],
			     strerror(child_errno));
		mlr_driver_stop(d);
		return -1;
	}
	return 0;

out_close_pipes:
	close_fd(&args_fd);
	free(wrapped);
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&err[0]);
	close_fd(&err[1]);
	close_fd(&ex[0]);
	close_fd(&ex[1]);
	return -1;
}

/*
 * Sends text to the driver's stdin, reading its output meanwhile so that
 * neither side can block the other. Returns 0, MLR_IO_GONE when the
 * driver no longer reads its stdin, or a timeout/interrupt code.
 */
int mlr_driver_write(struct mlr_driver *d, const char *text)
{
	int rc;

	if (d->in_fd < 0)
		return MLR_IO_GONE;
	mlr_buf_adds(&d->pending_in, text);
	rc = flush_input(d);
	while (!rc && d->pending_in.len) {
		rc = pump(d);
		if (!rc && d->exited && d->pending_in.len)
			rc = flush_input(d);
	}
	return rc;
}

/*
 * Reads the next stdout line (without its "\n") into *line, which the
 * caller frees. Returns MLR_IO_OK, or an MLR_IO_* code: for
 * MLR_IO_PARTIAL, MLR_IO_TOO_LONG and MLR_IO_NUL *line still gets the
 * offending text (cut at a NUL) so the report can show it.
 */
int mlr_driver_read_line(struct mlr_driver *d, char **line)
{
	*line = NULL;
	for (;;) {
		char *nl = d->out.len ? memchr(d->out.data, '\n', d->out.len)
				      : NULL;
		size_t len = nl ? (size_t)(nl - d->out.data) : d->out.len;
		int rc;

		if (len > MLR_MAX_LINE) {
			*line = mlr_xstrndup(d->out.data, 200);
			mlr_buf_consume(&d->out, d->out.len);
			return MLR_IO_TOO_LONG;
		}
		if (len && memchr(d->out.data, '\0', len)) {
			*line = mlr_xstrdup(d->out.data);
			mlr_buf_consume(&d->out, d->out.len);
			return MLR_IO_NUL;
		}
		if (nl) {
			*line = mlr_xstrndup(d->out.data, len);
			mlr_buf_consume(&d->out, len + 1);
			return MLR_IO_OK;
		}
		if (d->out_eof) {
			if (!d->out.len)
				return MLR_IO_EOF;
			*line = mlr_xstrndup(d->out.data, len);
			mlr_buf_consume(&d->out, len);
			return MLR_IO_PARTIAL;
		}
		rc = pump(d);
		if (rc == MLR_IO_GONE)
			rc = 0; /* stdin matters to writers, not here */
		if (rc)
			return rc;
	}
}

/* Closes the driver's stdin: the end of the transcript (PROTOCOL.md §2). */
void mlr_driver_close_input(struct mlr_driver *d)
{
	close_fd(&d->in_fd);
	mlr_buf_consume(&d->pending_in, d->pending_in.len);
}

/*
 * Waits until the driver has exited (stderr read to its end). Returns 0,
 * MLR_IO_TIMEOUT or MLR_IO_INTERRUPT.
 */
int mlr_driver_wait_exit(struct mlr_driver *d)
{
	for (;;) {
		int rc;

		check_exit(d);
		if (d->exited) {
			drain_after_exit(d);
			return 0;
		}
		rc = pump(d);
		/* Nobody reads it any more; do not let it pile up. */
		mlr_buf_consume(&d->out, d->out.len);
		if (rc && rc != MLR_IO_GONE)
			return rc;
	}
}

/*
 * Kills the driver's process group, reaps the driver and closes the
 * pipes. d->err (what stderr said) stays for the caller to take or
 * release. Safe to call twice.
 */
void mlr_driver_stop(struct mlr_driver *d)
{
	if (d->pid) {
		int status, i;

		check_exit(d);
		/*
		 * kill(pid) as well: the child may not have called setsid()
		 * yet, and then its group does not exist.
		 */
		kill(-d->pid, SIGKILL);
		kill(d->pid, SIGKILL);
		while (waitpid(d->pid, &status, 0) < 0 && errno == EINTR)
			;
		d->pid = 0;
		/* Sandbox off: what setsid() took out of the group. */
		mlr_reap_orphans(mlr_janitor());
		/* What the group wrote before it died; bounded, never blocks. */
		for (i = 0; i < 64 && !d->err_eof; i++)
			if (read_some(d, d->err_fd, true) != 1)
				d->err_eof = true;
	}
	if (active == d)
		active = NULL;
	close_fd(&d->in_fd);
	close_fd(&d->out_fd);
	close_fd(&d->err_fd);
	mlr_buf_release(&d->pending_in);
	mlr_buf_release(&d->out);
}

static const char *signal_name(int sig)
{
	static const struct {
		int sig;
		const char *name;
	} names[] = {
		{ SIGHUP, "SIGHUP" },   { SIGINT, "SIGINT" },
		{ SIGQUIT, "SIGQUIT" }, { SIGILL, "SIGILL" },
		{ SIGTRAP, "SIGTRAP" }, { SIGABRT, "SIGABRT" },
		{ SIGBUS, "SIGBUS" },   { SIGFPE, "SIGFPE" },
		{ SIGKILL, "SIGKILL" }, { SIGUSR1, "SIGUSR1" },
		{ SIGSEGV, "SIGSEGV" }, { SIGUSR2, "SIGUSR2" },
		{ SIGPIPE, "SIGPIPE" }, { SIGALRM, "SIGALRM" },
		{ SIGTERM, "SIGTERM" }, { SIGCHLD, "SIGCHLD" },
		{ SIGCONT, "SIGCONT" }, { SIGSTOP, "SIGSTOP" },
		{ SIGTSTP, "SIGTSTP" }, { SIGTTIN, "SIGTTIN" },
		{ SIGTTOU, "SIGTTOU" }, { SIGURG, "SIGURG" },
		{ SIGXCPU, "SIGXCPU" }, { SIGXFSZ, "SIGXFSZ" },
		{ SIGVTALRM, "SIGVTALRM" }, { SIGPROF, "SIGPROF" },
		{ SIGSYS, "SIGSYS" },
	};
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].sig == sig)
			return names[i].name;
	return NULL;
}

/* Appends how the driver ended: "exited with status 1", "was killed by SIGSEGV". */
void mlr_driver_describe_exit(const struct mlr_driver *d, struct mlr_buf *out)
{
	const char *name;

	if (!d->exited) {
		mlr_buf_adds(out, "was still running");
		return;
	}
	/*
	 * bwrap exits 128+N when the driver died of signal N: a failure
	 * either way, named as the signal it most likely was.
	 */
	if (d->sandboxed && d->exit_code == CLD_EXITED &&
	    d->exit_status > 128 && signal_name(d->exit_status - 128)) {
		mlr_buf_addf(out, "was killed by %s",
			     signal_name(d->exit_status - 128));
		return;
	}
	if (d->exit_code == CLD_EXITED) {
		mlr_buf_addf(out, "exited with status %d", d->exit_status);
		return;
	}
	name = signal_name(d->exit_status);
	if (name)
		mlr_buf_addf(out, "was killed by %s", name);
	else
		mlr_buf_addf(out, "was killed by signal %d", d->exit_status);
	if (d->exit_code == CLD_DUMPED)
		mlr_buf_adds(out, " (core dumped)");
}

/* Did the driver exit by itself with status 0? */
bool mlr_driver_exited_ok(const struct mlr_driver *d)
{
	return d->exited && d->exit_code == CLD_EXITED && d->exit_status == 0;
}

/* Kills the running driver's group, if any: for exits on fatal paths. */
void mlr_kill_active(void)
{
	if (active && active->pid) {
		kill(-active->pid, SIGKILL);
		kill(active->pid, SIGKILL);
		while (waitpid(active->pid, NULL, 0) < 0 && errno == EINTR)
			;
		active->pid = 0;
		mlr_reap_orphans(mlr_janitor());
	}
	active = NULL;
}
