/*
 * labinit.c - PID 1 of a lab host's PID namespace.
 *
 *   labinit [COMMAND [ARG...]]
 *
 * Reaps every child that ends up with it (orphans are re-parented to PID 1).
 * On SIGTERM or SIGINT it sends SIGTERM to every other process of the
 * namespace (kill(-1, ...) from a namespace's init reaches exactly those),
 * waits up to GRACE_S seconds for them to go, SIGKILLs what is left, reaps
 * and exits 0.  When COMMAND is given it is run once at start in a child
 * (execvp, so PATH is searched); labinit keeps running when it exits.
 * The binary is named labinit and also sets its comm, so /proc/1/comm reads
 * "labinit" however it was invoked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GRACE_S 2

static void nothing(int sig) { (void)sig; }

/* Reap every child that has already exited; return -1 once none is left. */
static int reap(void)
{
    pid_t p;
    while ((p = waitpid(-1, NULL, WNOHANG)) > 0)
        ;
    return (p < 0 && errno == ECHILD) ? -1 : 0;
}

int main(int argc, char **argv)
{
    sigset_t set, old;
    struct sigaction sa = { .sa_handler = nothing };
    struct timespec grace = { .tv_sec = 0, .tv_nsec = 100000000L };
    int sig, i;

    prctl(PR_SET_NAME, "labinit", 0, 0, 0);

    /* Handlers (so the namespace's init does not drop the signals) plus a
     * blocked mask, so they are taken synchronously with sigwait. */
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaction(SIGCHLD, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigprocmask(SIG_BLOCK, &set, &old);

    if (argc > 1) {
        pid_t pid = fork();
        if (pid == 0) {
            struct sigaction dfl = { .sa_handler = SIG_DFL };
            sigaction(SIGCHLD, &dfl, NULL);
            sigaction(SIGTERM, &dfl, NULL);
            sigaction(SIGINT, &dfl, NULL);
            sigprocmask(SIG_SETMASK, &old, NULL);
            execvp(argv[1], argv + 1);
            fprintf(stderr, "labinit: cannot run %s: %m\n", argv[1]);
            _exit(127);
        }
        if (pid < 0)
            perror("labinit: fork");
    }

    /* Main loop: reap on SIGCHLD until told to stop. */
    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGCHLD) {
            reap();
            continue;
        }
        break;                                  /* SIGTERM or SIGINT */
    }

    /* Shutdown: TERM everyone, wait up to GRACE_S, then KILL and reap. */
    kill(-1, SIGTERM);
    for (i = 0; i < GRACE_S * 10; i++) {
        if (reap() < 0)
            return 0;                           /* nobody left */
        nanosleep(&grace, NULL);
    }
    kill(-1, SIGKILL);
    while (wait(NULL) > 0 || errno == EINTR)
        ;
    return 0;
}
