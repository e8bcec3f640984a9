/*
 * spawn.c - modlife-spawn, the process that starts the runner for prove
 * (tools/perl/TAP/Parser/SourceHandler/ModlifeCase.pm).
 *
 *     modlife-spawn COMMAND [ARG...]
 *
 * For each line read on stdin (a case file), runs COMMAND ARG... LINE
 * with this program's stdout and stderr and /dev/null as stdin, waits
 * for it, then writes "\001modlife-spawn-end STATUS\n" on stdout, STATUS
 * being the raw wait status. Exits 0 at the end of its input.
 *
 * Why: prove starts every test by forking itself, a Perl process of some
 * 20 MB, which on a small machine costs more CPU than the runner and the
 * driver of a case together (bench/README.md, "Suite speed"). One
 * long-lived modlife-spawn per prove job forks only itself, a process of
 * a few hundred KB.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    char **args;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int i;

    if (argc < 2) {
        fprintf(stderr, "usage: %s COMMAND [ARG...]\n", argv[0]);
        return 2;
    }
    args = calloc((size_t)argc + 1, sizeof(*args));
    if (!args) {
        perror("modlife-spawn");
        return 1;
    }
    for (i = 1; i < argc; i++)
        args[i - 1] = argv[i];
    while ((n = getline(&line, &cap, stdin)) > 0) {
        int status = 0;
        pid_t pid;

        if (line[n - 1] == '\n')
            line[--n] = '\0';
        args[argc - 1] = line;
        args[argc] = NULL;
        fflush(stdout);
        pid = fork();
        if (pid < 0) {
            perror("modlife-spawn: fork");
            status = 255 << 8;
        } else if (pid == 0) {
            int null = open("/dev/null", O_RDONLY);

            if (null >= 0)
                dup2(null, 0);
            execvp(args[0], args);
            perror(args[0]);
            _exit(127);
        } else {
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        }
        printf("\001modlife-spawn-end %d\n", status);
        fflush(stdout);
    }
    free(line);
    free(args);
    return 0;
}
