/*
 * sandbox.c - keeping the driver in: the bubblewrap sandbox, the file
 * descriptors it inherits, and (sandbox off) orphans and parent death.
 *
 * A pass must mean that the driver computed its lines (issue 11): a
 * driver that could read the case file (through the runner's command
 * line in /proc, or the corpus on disk) or write to the runner's stdout
 * (/proc/PPID/fd/1) could pass without implementing anything. So by
 * default the driver runs under bwrap (Debian's bubblewrap):
 *   - its own PID namespace: /proc shows the sandbox's processes only,
 *     and every descendant dies with the namespace, setsid() or not;
 *   - no network; --die-with-parent; a new session;
 *   - a filesystem of the system folders read-only (/usr, /etc, /lib*,
 *     /bin, /sbin, /opt, /sys), a private /tmp and /dev, the driver's
 *     own folder and the paths on its command line read-only, MODDIR
 *     read-write, and nothing else: no home, no other checkout;
 *   - the case's folder, the expectations file's folder and the corpus
 *     folders of a modlife tree (cases/, spec/, expectations/, ...)
 *     hidden under empty tmpfs even where the driver's folder holds them;
 *   - only fds 0, 1, 2.
 * The bwrap options go through a pipe (--args), so that the sandbox's
 * /proc/1/cmdline names no hidden path.
 *
 * With the sandbox off (MODLIFE_SANDBOX=0, make's SANDBOX=0), the runner
 * is a child subreaper and kills the orphans that come back to it, and
 * the driver gets PR_SET_PDEATHSIG: nothing outlives a case, but the
 * driver can read anything its user can (README.md, "Sandbox").
 */
#define _GNU_SOURCE
#include "mlr.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static bool sandbox_off;
static bool off_decided;
static char *case_path;   /* hidden: its folder, and the tree above */
static char *expect_path; /* hidden: its folder */
static struct mlr_lines extra_rw; /* --sandbox-bind: read-write binds */

/* Is the sandbox on? MODLIFE_SANDBOX=0 or --no-sandbox turn it off. */
bool mlr_sandbox_on(void)
{
	if (!off_decided) {
		const char *e = getenv("MODLIFE_SANDBOX");

		off_decided = true;
		if (e && !strcmp(e, "0"))
			sandbox_off = true;
	}
	return !sandbox_off;
}

void mlr_sandbox_disable(void)
{
	off_decided = true;
	sandbox_off = true;
}

static void release_all(void)
{
	free(case_path);
	free(expect_path);
	case_path = expect_path = NULL;
	mlr_lines_release(&extra_rw);
}

/* The case run next: its folder and its tree are hidden from the driver. */
void mlr_sandbox_set_case(const char *path)
{
	static bool registered;

	if (!registered && !atexit(release_all))
		registered = true;
	free(case_path);
	case_path = path ? mlr_xstrdup(path) : NULL;
}

void mlr_sandbox_set_expect(const char *path)
{
	free(expect_path);
	expect_path = path ? mlr_xstrdup(path) : NULL;
}

/* A folder bound read-write (self-tests: where a fake driver reports). */
void mlr_sandbox_bind(const char *path)
{
	if (!extra_rw.v)
		mlr_lines_init(&extra_rw);
	mlr_lines_pushdup(&extra_rw, path);
}

/* Finds PROGRAM in PATH as execvp would; malloc'd path or NULL. */
static char *find_in_path(const char *prog)
{
	const char *p = getenv("PATH");
	struct mlr_buf b;

	if (strchr(prog, '/'))
		return access(prog, X_OK) ? NULL : mlr_xstrdup(prog);
	if (!p)
		p = "/usr/local/bin:/usr/bin:/bin";
	mlr_buf_init(&b);
	while (*p) {
		size_t n = strcspn(p, ":");

		b.len = 0;
		mlr_buf_addf(&b, "%.*s/%s", (int)n, n ? p : ".", prog);
		if (!access(b.data, X_OK))
			return mlr_buf_detach(&b);
		p += n;
		if (*p)
			p++;
	}
	mlr_buf_release(&b);
	return NULL;
}

/* The absolute, symlink-free form of path, or NULL if it does not exist. */
static char *real(const char *path)
{
	char *r = realpath(path, NULL);

	return r;
}

static char *dir_of(const char *path)
{
	char *d = mlr_xstrdup(path), *slash = strrchr(d, '/');

	if (slash == d)
		d[1] = '\0';
	else if (slash)
		*slash = '\0';
	else {
		free(d);
		d = mlr_xstrdup(".");
	}
	return d;
}

/* Is a equal to b or inside it? */
static bool under(const char *a, const char *b)
{
	size_t n = strlen(b);

	if (!strcmp(b, "/"))
		return true;
	return !strncmp(a, b, n) && (a[n] == '\0' || a[n] == '/');
}

/* Adds one NUL-terminated word to the --args data. */
static void word(struct mlr_buf *b, const char *w)
{
	mlr_buf_add(b, w, strlen(w) + 1);
}

static void word2(struct mlr_buf *b, const char *opt, const char *path)
{
	word(b, opt);
	word(b, path);
}

static void word3(struct mlr_buf *b, const char *opt, const char *a,
		  const char *c)
{
	word(b, opt);
	word(b, a);
	word(b, c);
}

/*
 * What the sandbox hides: the case's folder, the expectations file's
 * folder and, when the case lies in a modlife tree (a folder above it
 * holds spec/PROTOCOL.md), that tree's folders that hold or describe
 * cases. Real paths, pushed on hide.
 */
static void hidden_paths(struct mlr_lines *hide)
{
	static const char *const tree_parts[] = {
		"cases", "spec", "expectations", "runner", "fuzz", "examples",
		"results", "mutants", ".git",
	};
	char *r, *d;
	int up;
	size_t i;

	/*
	 * make install puts the corpus in PREFIX/share/modlife, under /usr
	 * by default: hide the usual places and the one next to this runner.
	 */
	{
		static const char *const installed[] = {
			"/usr/share/modlife", "/usr/local/share/modlife",
			"/opt/modlife/share/modlife",
		};
		char *exe = real("/proc/self/exe");
		struct stat st;

		for (i = 0; i < sizeof installed / sizeof installed[0]; i++)
			if (!stat(installed[i], &st) && S_ISDIR(st.st_mode))
				mlr_lines_pushdup(hide, installed[i]);
		if (exe) {
			char *bin = dir_of(exe), *share;
			struct mlr_buf p;

			mlr_buf_init(&p);
			mlr_buf_addf(&p, "%s/../share/modlife", bin);
			share = real(p.data);
			if (share && !stat(share, &st) && S_ISDIR(st.st_mode))
				mlr_lines_push(hide, share);
			else
				free(share);
			mlr_buf_release(&p);
			free(bin);
			free(exe);
		}
	}
	if (expect_path && (r = real(expect_path)) != NULL) {
		mlr_lines_push(hide, dir_of(r));
		free(r);
	}
	if (!case_path || !(r = real(case_path)))
		return;
	d = dir_of(r);
	free(r);
	mlr_lines_pushdup(hide, d);
	for (up = 0; up < 4 && strcmp(d, "/"); up++) {
		struct mlr_buf probe;
		struct stat st;
		char *parent = dir_of(d);

		free(d);
		d = parent;
		mlr_buf_init(&probe);
		mlr_buf_addf(&probe, "%s/spec/PROTOCOL.md", d);
		if (!stat(probe.data, &st)) {
			for (i = 0; i < sizeof tree_parts / sizeof tree_parts[0];
			     i++) {
				probe.len = 0;
				mlr_buf_addf(&probe, "%s/%s", d, tree_parts[i]);
				if (!lstat(probe.data, &st))
					mlr_lines_pushdup(hide, probe.data);
			}
			mlr_buf_release(&probe);
			break;
		}
		mlr_buf_release(&probe);
	}
	free(d);
}

/* Binds path read-only at the same place; a folder, or a single file. */
static void expose(struct mlr_buf *b, const char *path)
{
	word3(b, "--ro-bind", path, path);
}

static void mask(struct mlr_buf *b, const char *file)
{
	word3(b, "--ro-bind", "/dev/null", file);
}

/*
 * The driver's own folder is shown although it is a hidden one: every
 * *.case file right in it, and the case and expectations files if they
 * are below it, read as empty.
 */
static void mask_secrets(struct mlr_buf *b, const char *dir)
{
	const char *secret[2];
	struct stat st;
	DIR *d;
	struct dirent *e;
	size_t i;

	secret[0] = case_path;
	secret[1] = expect_path;
	for (i = 0; i < 2; i++) {
		char *r = secret[i] ? real(secret[i]) : NULL;

		if (r && under(r, dir) && strcmp(r, dir))
			mask(b, r);
		free(r);
	}
	if (stat(dir, &st) || !S_ISDIR(st.st_mode) || !(d = opendir(dir)))
		return;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		if (n > 5 && !strcmp(e->d_name + n - 5, ".case")) {
			struct mlr_buf p;

			mlr_buf_init(&p);
			mlr_buf_addf(&p, "%s/%s", dir, e->d_name);
			mask(b, p.data);
			mlr_buf_release(&p);
		}
	}
	closedir(d);
}

/*
 * The bwrap options (NUL-separated words for --args) that run argv
 * (DRIVER [ARG ...] MODDIR) in the sandbox. MODDIR is the last word.
 */
static void options(struct mlr_buf *b, char *const *argv)
{
	static const char *const system_dirs[] = {
		"/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64",
		"/libx32", "/opt", "/sys", "/nix", "/gnu",
	};
	struct mlr_lines hide, shown;
	char cwd[PATH_MAX];
	const char *moddir;
	size_t n = 0, i, j;

	while (argv[n])
		n++;
	moddir = argv[n - 1];
	mlr_lines_init(&hide);
	mlr_lines_init(&shown);
	hidden_paths(&hide);

	word(b, "--unshare-pid");
	word(b, "--unshare-net");
	word(b, "--unshare-ipc");
	word(b, "--unshare-uts");
	word(b, "--die-with-parent");
	word(b, "--new-session");
	for (i = 0; i < sizeof system_dirs / sizeof system_dirs[0]; i++) {
		char target[PATH_MAX];
		ssize_t len = readlink(system_dirs[i], target,
				       sizeof target - 1);

		/* Merged /usr: /bin -> usr/bin stays a link. */
		if (len > 0) {
			target[len] = '\0';
			word3(b, "--symlink", target, system_dirs[i]);
		} else {
			word3(b, "--ro-bind-try", system_dirs[i],
			      system_dirs[i]);
		}
	}
	word2(b, "--dev", "/dev");
	word2(b, "--proc", "/proc");
	word2(b, "--tmpfs", "/tmp");
	word2(b, "--tmpfs", "/var/tmp");
	word2(b, "--tmpfs", "/run");

	/* The driver's folder, and every path on its command line. */
	for (i = 0; i + 1 < n; i++) {
		char *r = NULL, *w;

		if (i == 0 && !strchr(argv[0], '/')) {
			char *found = find_in_path(argv[0]);

			if (found) {
				r = real(found);
				free(found);
			}
		} else if (strchr(argv[i], '/') || i > 0) {
			struct stat st;

			if (!stat(argv[i], &st))
				r = real(argv[i]);
		}
		if (!r)
			continue;
		w = i == 0 ? dir_of(r) : mlr_xstrdup(r);
		free(r);
		mlr_lines_push(&shown, w);
	}
	/* MODLIFE_SANDBOX_EXPOSE=DIR:DIR... (make's SANDBOX_EXPOSE). */
	{
		const char *e = getenv("MODLIFE_SANDBOX_EXPOSE");

		while (e && *e) {
			size_t len = strcspn(e, ":");
			char *p = mlr_xstrndup(e, len), *r = real(p);

			if (r)
				mlr_lines_push(&shown, r);
			free(p);
			e += len;
			if (*e)
				e++;
		}
	}
	for (i = 0; i < shown.n; i++)
		expose(b, shown.v[i]);
	for (i = 0; i < hide.n; i++)
		word2(b, "--tmpfs", hide.v[i]);
	/*
	 * What a hidden folder holds that the driver needs comes back; where
	 * that is a folder of case files or the expectations file itself
	 * (a driver kept next to its cases), those files read as empty.
	 */
	for (i = 0; i < shown.n; i++)
		for (j = 0; j < hide.n; j++)
			if (under(shown.v[i], hide.v[j])) {
				expose(b, shown.v[i]);
				mask_secrets(b, shown.v[i]);
				break;
			}
	for (i = 0; i < extra_rw.n; i++)
		word3(b, "--bind", extra_rw.v[i], extra_rw.v[i]);
	word3(b, "--bind", moddir, moddir);
	/*
	 * The runner's working directory, so that a relative driver path
	 * still works (PROTOCOL.md §1): empty unless something is bound in.
	 */
	if (getcwd(cwd, sizeof cwd)) {
		word2(b, "--dir", cwd);
		word2(b, "--chdir", cwd);
	}
	mlr_lines_release(&hide);
	mlr_lines_release(&shown);
}

/*
 * Prepares the command that runs argv in the sandbox: fills *wrapped
 * (free with free(), the words themselves belong to argv or are static)
 * and *args_fd, a pipe holding the options, to become the child's fd 3.
 * Returns 0, or -1 with the reason in why.
 */
int mlr_sandbox_prepare(char *const *argv, char ***wrapped, int *args_fd,
			struct mlr_buf *why)
{
	static char bwrap_name[] = "bwrap", args_opt[] = "--args",
		    three[] = "3", dashes[] = "--";
	struct mlr_buf b;
	char *bwrap = find_in_path("bwrap");
	char **w;
	size_t n = 0, i;
	int p[2];

	if (!bwrap) {
		mlr_buf_adds(why, "the sandbox needs bubblewrap ('bwrap' is not "
			     "in PATH): install Debian's bubblewrap "
			     "(tools/need sandbox), or set MODLIFE_SANDBOX=0 "
			     "(make ... SANDBOX=0) to run the driver "
			     "unsandboxed");
		return -1;
	}
	free(bwrap);
	/* As execvp would say it, rather than bwrap on the driver's stderr. */
	bwrap = find_in_path(argv[0]);
	if (!bwrap) {
		mlr_buf_addf(why, "cannot run driver '%s': %s", argv[0],
			     strerror(errno ? errno : ENOENT));
		return -1;
	}
	free(bwrap);
	mlr_buf_init(&b);
	options(&b, argv);
	/* The pipe must take all of it at once: nobody reads before exec. */
	if (b.len > 60000) {
		mlr_buf_addf(why, "the sandbox's options are too long (%zu "
			     "bytes)", b.len);
		mlr_buf_release(&b);
		return -1;
	}
	if (pipe(p)) {
		mlr_buf_addf(why, "cannot create a pipe: %s", strerror(errno));
		mlr_buf_release(&b);
		return -1;
	}
	if (write(p[1], b.data, b.len) != (ssize_t)b.len) {
		mlr_buf_addf(why, "cannot write the sandbox's options: %s",
			     strerror(errno));
		close(p[0]);
		close(p[1]);
		mlr_buf_release(&b);
		return -1;
	}
	close(p[1]);
	mlr_buf_release(&b);
	fcntl(p[0], F_SETFD, FD_CLOEXEC);

	while (argv[n])
		n++;
	w = mlr_xcalloc(n + 5, sizeof *w);
	w[0] = bwrap_name;
	w[1] = args_opt;
	w[2] = three;
	w[3] = dashes;
	for (i = 0; i < n; i++)
		w[4 + i] = argv[i];
	*wrapped = w;
	*args_fd = p[0];
	return 0;
}

/*
 * A failed case whose stderr starts with bwrap's own "bwrap: " message:
 * the sandbox could not start, which the reason says first, in one line.
 */
void mlr_sandbox_explain(struct mlr_buf *message, const struct mlr_buf *err)
{
	const char *s = mlr_buf_str(err);
	struct mlr_buf m;

	if (strncmp(s, "bwrap: ", 7))
		return;
	mlr_buf_init(&m);
	mlr_buf_addf(&m, "the sandbox could not start (%.*s); "
		     "MODLIFE_SANDBOX=0 (make ... SANDBOX=0) runs the driver "
		     "unsandboxed", (int)strcspn(s, "\n"), s);
	if (message->len)
		mlr_buf_addf(&m, "; %s", message->data);
	mlr_buf_release(message);
	*message = m;
}

/*
 * In the child, before exec: closes every fd from `from` up but keep
 * (the exec-status pipe, close-on-exec), so that only 0, 1, 2 and,
 * sandboxed, bwrap's options on 3 reach the driver. close_range first;
 * the /proc scan is the fallback of kernels before 5.9.
 */
void mlr_close_fds_from(int from, int keep)
{
	DIR *d;
	struct dirent *e;
	int i;

#ifdef SYS_close_range
	if ((keep <= from ||
	     syscall(SYS_close_range, (unsigned)from, (unsigned)keep - 1, 0u) == 0) &&
	    syscall(SYS_close_range, (unsigned)(keep < from ? from : keep + 1),
		    ~0u, 0u) == 0)
		return;
#endif
	d = opendir("/proc/self/fd");
	if (d) {
		while ((e = readdir(d)) != NULL) {
			int fd = atoi(e->d_name);

			if (fd >= from && fd != keep && fd != dirfd(d))
				close(fd);
		}
		closedir(d);
		return;
	}
	for (i = from; i < 65536; i++)
		if (i != keep)
			close(i);
}

/*
 * In the child, sandbox off: dies with the runner. parent is the runner's
 * pid, taken before fork: if it died already, do not start at all.
 */
void mlr_child_die_with_parent(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
}

/*
 * Orphans of the driver (a setsid() double fork) come back to the runner
 * instead of init, to be killed with the case (sandbox off; sandboxed,
 * the PID namespace already holds them).
 */
void mlr_become_subreaper(void)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1);
}

/* The children of this process other than keep, from /proc. */
static size_t children(pid_t *out, size_t max, pid_t keep)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t me = getpid();
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL && n < max) {
		char path[64], buf[512], *close_paren;
		long pid = atol(e->d_name), ppid;
		ssize_t len;
		int fd;

		if (pid <= 0 || pid == keep)
			continue;
		snprintf(path, sizeof path, "/proc/%ld/stat", pid);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		len = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		/* "PID (COMM) S PPID ...": COMM may hold anything, ')' too. */
		close_paren = strrchr(buf, ')');
		if (!close_paren || sscanf(close_paren + 1, " %*c %ld", &ppid) != 1)
			continue;
		if (ppid == me)
			out[n++] = (pid_t)pid;
	}
	closedir(d);
	return n;
}

/*
 * Sandbox off, after the driver was reaped: kills and reaps every other
 * child but keep (orphans handed back to the subreaper), until none is
 * left; each death hands its own children back in turn.
 */
void mlr_reap_orphans(pid_t keep)
{
	pid_t pids[256];
	size_t n, i;
	int rounds = 0;

	if (mlr_sandbox_on())
		return;
	while ((n = children(pids, sizeof pids / sizeof pids[0], keep)) > 0 &&
	       rounds++ < 10000) {
		for (i = 0; i < n; i++) {
			kill(-pids[i], SIGKILL);
			kill(pids[i], SIGKILL);
		}
		for (i = 0; i < n; i++)
			while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
				;
	}
}

/*
 * The janitor: a small child of the runner that outlives it only to
 * clean up. Forked before the case is loaded (so that it holds next to
 * nothing of the runner's memory), it is told what to clean through a
 * pipe ("W PGID MODDIR" lines) and waits for "D"; if the runner dies
 * before (SIGKILL, the OOM killer, a driver that killed it with the
 * sandbox off), it sees the pipe's end, kills the driver's process group
 * and removes MODDIR, so that nothing of the case is left behind.
 */
static pid_t janitor_pid;
static int janitor_fd = -1;

static void janitor(int in)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE,
				    SIGQUIT };
	char line[PATH_MAX + 64], dir[PATH_MAX];
	long pgid = 0;
	size_t got = 0, i;
	ssize_t n;

	dir[0] = '\0';
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		signal(sigs[i], SIG_IGN);
	setpgid(0, 0); /* out of the terminal's ^C and of kill(-runner) */
	for (;;) {
		char *nl;

		n = read(in, line + got, sizeof line - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		line[got] = '\0';
		while ((nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			if (line[0] == 'D')
				_exit(0);
			if (sscanf(line, "W %ld %4095s", &pgid, dir) != 2)
				dir[0] = '\0';
			got -= (size_t)(nl + 1 - line);
			memmove(line, nl + 1, got + 1);
		}
		if (got == sizeof line - 1)
			got = 0; /* no such line from the runner */
	}
	if (pgid > 0) {
		kill(-(pid_t)pgid, SIGKILL);
		kill((pid_t)pgid, SIGKILL);
	}
	if (dir[0] == '/')
		mlr_tmpdir_remove(dir);
	_exit(0);
}

/* Starts the janitor; call before loading the case. */
void mlr_janitor_start(void)
{
	int p[2];
	pid_t pid;

	if (janitor_pid || pipe(p))
		return;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		/* Nothing of the runner's output stays open in the janitor. */
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		mlr_close_fds_from(3, p[0]);
		janitor(p[0]);
	}
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		return;
	}
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	janitor_pid = pid;
	janitor_fd = p[1];
}

/* What the janitor cleans if the runner dies: driver (0: none yet), dir. */
void mlr_janitor_watch(pid_t driver, const char *dir)
{
	char msg[PATH_MAX + 64];
	int n;

	if (janitor_fd < 0)
		return;
	n = snprintf(msg, sizeof msg, "W %ld %s\n", (long)driver, dir);
	if (n > 0 && (size_t)n < sizeof msg)
		(void)!write(janitor_fd, msg, (size_t)n);
}

/* The case is cleaned up: the janitor may go. */
void mlr_janitor_done(void)
{
	if (!janitor_pid)
		return;
	(void)!write(janitor_fd, "D\n", 2);
	close(janitor_fd);
	janitor_fd = -1;
	while (waitpid(janitor_pid, NULL, 0) < 0 && errno == EINTR)
		;
	janitor_pid = 0;
}

pid_t mlr_janitor(void)
{
	return janitor_pid;
}
