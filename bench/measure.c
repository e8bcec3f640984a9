/*
 * measure.c - modlife-measure: run one driver on one workload and report
 * its wall time and peak memory.
 *
 *     modlife-measure DRIVER MODDIR SCRIPT
 *
 * The driver is started as `DRIVER MODDIR` in a process group of its own,
 * with SCRIPT (one protocol command per line, spec/PROTOCOL.md) as its
 * stdin and its stderr thrown away. Its stdout is read through a pipe and
 * checked as it comes: the greeting `modlife 1`, then one result line per
 * command. The run counts only when every command got a result line and
 * every result line is `ok`: a workload whose run failed somewhere is a
 * broken measurement, never a fast one.
 *
 * One line is printed on stdout:
 *
 *     wall=SECONDS maxrss=KIB commands=N ok=N fail=N raise=N bad=N lines=N status=S
 *
 * `wall` is from fork() to the driver's reaping (monotonic clock);
 * `maxrss` is ru_maxrss of the driver process as wait4() reports it: the
 * largest resident set of the driver and of any child it reaped. A
 * driver that is a shell wrapper exec'ing its interpreter (the Prosody
 * adapter) is that interpreter by then: same process, so its peak is
 * what is measured. `lines` counts every output line after the greeting.
 * The exit status is 0 when the run was clean, 1 when it was not (the
 * line says why on stderr), 2 for a usage or system error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What the output stream held: result lines by kind, everything else. */
struct tally {
    long lines;                 /* output lines after the greeting */
    long ok, fail, raise, bad;
    int greeted;                /* first line was `modlife 1...` */
    int greeting_bad;
};

/* Count the commands of the script: its non-empty lines. Returns -1 when
 * it cannot be read. */
static long count_commands(const char *path)
{
    FILE *f = fopen(path, "r");
    long n = 0;
    int c, last = '\n';

    if (!f)
        return -1;
    while ((c = getc(f)) != EOF) {
        if (c == '\n' && last != '\n')
            n++;
        last = c;
    }
    if (last != '\n')
        n++;
    fclose(f);
    return n;
}

/* Classify one complete output line (without its newline). */
static void tally_line(struct tally *t, const char *line, size_t len)
{
    if (!t->greeted) {
        t->greeted = 1;
        t->greeting_bad = !(len >= 9 && memcmp(line, "modlife 1", 9) == 0 &&
                            (len == 9 || line[9] == ' '));
        return;
    }
    t->lines++;
    if ((len == 2 || (len > 2 && line[2] == ' ')) && memcmp(line, "ok", 2) == 0)
        t->ok++;
    else if (len >= 5 && memcmp(line, "fail ", 5) == 0)
        t->fail++;
    else if (len >= 6 && memcmp(line, "raise ", 6) == 0)
        t->raise++;
    else if (len >= 4 && memcmp(line, "bad ", 4) == 0)
        t->bad++;
}

/* Read the driver's stdout to its end, classifying lines. Only the first
 * bytes of a long line are kept: classification needs six. */
static void read_output(int fd, struct tally *t)
{
    static char buf[1 << 16];
    char head[16];
    size_t headlen = 0;
    ssize_t n;

    for (;;) {
        char *p, *end;

        n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        p = buf;
        end = buf + n;
        while (p < end) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            char *stop = nl ? nl : end;

            while (p < stop && headlen < sizeof head)
                head[headlen++] = *p++;
            if (!nl)
                break;
            tally_line(t, head, headlen);
            headlen = 0;
            p = nl + 1;
        }
    }
    if (headlen > 0)
        tally_line(t, head, headlen);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    struct tally t = { 0, 0, 0, 0, 0, 0, 0 };
    struct rusage ru;
    int out[2], in, status;
    long commands;
    double start, wall;
    pid_t pid;
    char why[128] = "";

    if (argc != 4) {
        fprintf(stderr, "usage: %s DRIVER MODDIR SCRIPT\n", argv[0]);
        return 2;
    }
    commands = count_commands(argv[3]);
    in = open(argv[3], O_RDONLY | O_CLOEXEC);
    if (commands < 0 || in < 0) {
        fprintf(stderr, "modlife-measure: %s: %s\n", argv[3], strerror(errno));
        return 2;
    }
    if (pipe2(out, O_CLOEXEC) != 0) {
        perror("modlife-measure: pipe");
        return 2;
    }
    start = now();
    pid = fork();
    if (pid < 0) {
        perror("modlife-measure: fork");
        return 2;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);

        setpgid(0, 0);
        if (null < 0 || dup2(in, 0) < 0 || dup2(out[1], 1) < 0 ||
            dup2(null, 2) < 0)
            _exit(127);
        execl(argv[1], argv[1], argv[2], (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    close(in);
    read_output(out[0], &t);
    close(out[0]);
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("modlife-measure: wait4");
            return 2;
        }
    }
    wall = now() - start;
    kill(-pid, SIGKILL);        /* anything the driver left behind */

    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        snprintf(why, sizeof why, "driver %s %d",
                 WIFEXITED(status) ? "exited" : "killed by signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    else if (!t.greeted || t.greeting_bad)
        snprintf(why, sizeof why, "no `modlife 1` greeting");
    else if (t.ok + t.fail + t.raise + t.bad != commands)
        snprintf(why, sizeof why, "%ld result lines for %ld commands",
                 t.ok + t.fail + t.raise + t.bad, commands);
    else if (t.ok != commands)
        snprintf(why, sizeof why, "%ld result lines are not ok",
                 commands - t.ok);
    printf("wall=%.6f maxrss=%ld commands=%ld ok=%ld fail=%ld raise=%ld "
           "bad=%ld lines=%ld status=%s\n", wall, ru.ru_maxrss, commands,
           t.ok, t.fail, t.raise, t.bad, t.lines, why[0] ? "broken" : "clean");
    if (why[0]) {
        fprintf(stderr, "modlife-measure: %s %s < %s: %s\n", argv[1], argv[2],
                argv[3], why);
        return 1;
    }
    return 0;
}
