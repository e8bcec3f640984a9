/*
 * tmpdir.c - the per-case module directory (PROTOCOL.md §1: MODDIR).
 *
 * Removal is recursive and does not trust the contents: the driver
 * may have written anything into the directory, including symbolic
 * links (never followed) and directories it made unreadable.
 */
#include "mlr.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Makes a fresh directory $TMPDIR/ml.XXXXXX and returns its absolute
 * path, which the caller frees after mlr_tmpdir_remove. When TMPDIR is
 * unset, relative, so long that the path would exceed MLR_MODDIR_MAX, or
 * has bytes other than A-Z a-z 0-9 / . _ (PROTOCOL.md §1: Prosody turns
 * '-' into ' ' in some error messages, which would defeat normalisation),
 * /tmp is used instead. Returns NULL with the reason in why.
 */
char *mlr_tmpdir_create(struct mlr_buf *why)
{
	static const char leaf[] = "/ml.XXXXXX";
	const char *base = getenv("TMPDIR");
	struct mlr_buf path;

	if (!base || base[0] != '/' ||
	    strlen(base) + strlen(leaf) > MLR_MODDIR_MAX ||
	    strspn(base, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789/._") != strlen(base))
		base = "/tmp";
	mlr_buf_init(&path);
	mlr_buf_addf(&path, "%s%s", base, leaf);
	if (!mkdtemp(path.data)) {
		mlr_buf_addf(why, "cannot create a temporary directory in %s: %s",
			     base, strerror(errno));
		mlr_buf_release(&path);
		return NULL;
	}
	return mlr_buf_detach(&path);
}

/* Writes dir/name with the given bytes; a new file, never through a link. */
int mlr_tmpdir_write(const char *dir, const char *name, const char *data,
		     size_t len, struct mlr_buf *why)
{
	struct mlr_buf path;
	int fd, rc = 0;

	mlr_buf_init(&path);
	mlr_buf_addf(&path, "%s/%s", dir, name);
	fd = open(path.data, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
	if (fd < 0) {
		mlr_buf_addf(why, "cannot create %s: %s", path.data,
			     strerror(errno));
		mlr_buf_release(&path);
		return -1;
	}
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			mlr_buf_addf(why, "cannot write %s: %s", path.data,
				     strerror(errno));
			rc = -1;
			break;
		}
		data += n;
		len -= (size_t)n;
	}
	if (close(fd) && !rc) {
		mlr_buf_addf(why, "cannot write %s: %s", path.data,
			     strerror(errno));
		rc = -1;
	}
	mlr_buf_release(&path);
	return rc;
}

/*
 * Puts a new dir/name in place of the old one, if any ("! write"): the
 * old name is unlinked first so that the new file is never written
 * through whatever the driver may have left there (a link, say).
 */
int mlr_tmpdir_replace(const char *dir, const char *name, const char *data,
		       size_t len, struct mlr_buf *why)
{
	if (mlr_tmpdir_delete(dir, name, why))
		return -1;
	return mlr_tmpdir_write(dir, name, data, len, why);
}

/* Removes dir/name ("! delete"); a name already gone is not an error. */
int mlr_tmpdir_delete(const char *dir, const char *name, struct mlr_buf *why)
{
	struct mlr_buf path;
	int rc = 0;

	mlr_buf_init(&path);
	mlr_buf_addf(&path, "%s/%s", dir, name);
	if (unlink(path.data) && errno != ENOENT) {
		mlr_buf_addf(why, "cannot remove %s: %s", path.data,
			     strerror(errno));
		rc = -1;
	}
	mlr_buf_release(&path);
	return rc;
}

/*
 * Removes dir and everything in it, however deep: one directory open at
 * a time, going down into the first subdirectory left and back up
 * through "..", with the names on the way kept in a list, so neither
 * the stack nor the open files grow with the depth (a driver may build
 * a tree thousands of levels deep). The driver is dead by then, so
 * nothing moves meanwhile. Returns 0, or -1 at the first thing that
 * could not go (the caller reports it).
 */
int mlr_tmpdir_remove(const char *dir)
{
	struct mlr_lines path; /* the names below dir, outermost first */
	struct stat st;
	int cur, rc = 0;

	if (lstat(dir, &st))
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(dir);
	if ((st.st_mode & 0700) != 0700)
		chmod(dir, 0700);
	cur = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (cur < 0)
		return -1;
	mlr_lines_init(&path);
	for (;;) {
		char *sub = NULL;
		DIR *d;
		struct dirent *e;
		int fd = dup(cur);

		if (fd < 0 || !(d = fdopendir(fd))) {
			if (fd >= 0)
				close(fd);
			rc = -1;
			break;
		}
		while (!sub && (e = readdir(d)) != NULL) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			if (fstatat(cur, e->d_name, &st, AT_SYMLINK_NOFOLLOW))
				continue; /* gone meanwhile */
			if (S_ISDIR(st.st_mode))
				sub = mlr_xstrdup(e->d_name);
			else if (unlinkat(cur, e->d_name, 0))
				rc = -1;
		}
		closedir(d);
		if (rc) {
			free(sub);
			break;
		}
		if (sub) {
			/* A directory the driver made unreadable must still go. */
			if ((st.st_mode & 0700) != 0700)
				fchmodat(cur, sub, 0700, 0);
			fd = openat(cur, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
			if (fd < 0) {
				free(sub);
				rc = -1;
				break;
			}
			close(cur);
			cur = fd;
			mlr_lines_push(&path, sub);
			continue;
		}
		/* cur is empty: remove it from its parent, and go on there. */
		if (!path.n) {
			close(cur);
			cur = -1;
			rc = rmdir(dir) ? -1 : 0;
			break;
		}
		fd = openat(cur, "..", O_RDONLY | O_DIRECTORY);
		close(cur);
		cur = fd;
		if (cur < 0 || unlinkat(cur, path.v[path.n - 1], AT_REMOVEDIR)) {
			rc = -1;
			break;
		}
		free(path.v[--path.n]);
	}
	if (cur >= 0)
		close(cur);
	mlr_lines_release(&path);
	return rc;
}
