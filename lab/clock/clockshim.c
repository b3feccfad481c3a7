/*
 * clockshim.c - LD_PRELOAD library that gives a lab host its own settable clock.
 *
 *   LD_PRELOAD=/path/clockshim.so  LABCLOCK_OFFSET_FILE=<host offset file>
 *
 * (a lab host lists the shim in its /etc/ld.so.preload, so every process of the host loads it
 * whatever its environment; without LABCLOCK_OFFSET_FILE the file is /etc/labclock.offset)
 *
 * The offset file holds seconds, such as "-86400" or "+0.25".  Every read of the
 * wall clock (clock_gettime on CLOCK_REALTIME, _COARSE and CLOCK_TAI,
 * gettimeofday, time, timespec_get) returns real time plus that offset; the
 * monotonic and boot clocks stay real, so timers and sleeps are untouched.  The
 * file is looked at again at most every 100 ms (a stat, and a read when it
 * changed), so a step made by one process reaches every other process of the
 * host within 100 ms, and a new process sees it at once.
 *
 * The clock *setters* work on that emulated clock instead of the machine's: a
 * step (clock_settime(CLOCK_REALTIME), settimeofday, or
 * adjtimex/ntp_adjtime/clock_adjtime with ADJ_SETOFFSET) becomes a new offset
 * (new time - real time) written atomically (temp file + rename) to the offset
 * file.  The kernel's setters are never called, so the real clock cannot move
 * even if the process still held CAP_SYS_TIME (the lab drops it as well).
 *
 * (An earlier version read the clock through libfaketime 0.9.10.  It was dropped:
 * with FAKETIME_NO_CACHE it reopens the offset file on every time read, and
 * charon's scheduler thread then spun on it, a few percent of a core per idle
 * daemon; its shared-memory segments were left behind by every process.)
 *
 * Read-only and slewing adjtimex calls are answered from a small per-process
 * state that looks like an idle kernel clock: frequency 0, tick 10000 (USER_HZ
 * 100), no pending offset.  ADJ_OFFSET/ADJ_FREQUENCY are accepted and ignored:
 * the emulated clock runs exactly at the real clock's rate, and that truth is
 * what the caller reads back.  A tick set with ADJ_TICK is echoed back together
 * with a frequency that cancels it (freq = (10000 - tick) * 100 ppm), again an
 * effective rate of 0: chronyd slews large offsets through the tick and does
 * not read the tick back, only the frequency, so a plain "tick 10000, freq 0"
 * would make it believe its slew ran.  ADJ_STATUS, ADJ_MAXERROR, ADJ_ESTERROR,
 * ADJ_TIMECONST and ADJ_TAI are remembered; a step resets maxerror/esterror to
 * 16 s and sets STA_UNSYNC as the kernel does, which is how chronyd detects
 * working ADJ_SETOFFSET support.
 *
 * Kernel packet timestamps (SO_TIMESTAMP, SO_TIMESTAMPNS, SO_TIMESTAMPING,
 * ioctl SIOCGSTAMP/SIOCGSTAMPNS) are real time, which libfaketime cannot fake;
 * setsockopt refuses them with ENOPROTOOPT and the ioctls fail with ENOENT (as
 * when no timestamp is there), so programs fall back to (emulated) user-space
 * timestamps.  Without this chronyd uses them whenever they look plausible
 * (host clock less than 1 s off) and then cannot see nor correct a sub-second
 * skew, and ping prints round trips of a day on a skewed host.
 *
 * clock_nanosleep on clocks other than CLOCK_REALTIME goes straight to the
 * kernel: libfaketime 0.9.10 shifts an absolute CLOCK_MONOTONIC deadline by the
 * offset even with FAKETIME_DONT_FAKE_MONOTONIC=1 (EINVAL for a negative
 * offset), which breaks Python's time.sleep and everything built on it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

#define NTP_PHASE_LIMIT 16000000L      /* us: kernel's maxerror/esterror ceiling */
#define MAXERR_GROWTH   500L           /* us per second, as the kernel adds */

/* Per-process NTP state (the kernel's is global; ours is emulated). */
static int st_status = STA_UNSYNC;
static long st_maxerror = NTP_PHASE_LIMIT, st_esterror = NTP_PHASE_LIMIT;
static long st_constant = 2, st_tai = 0, st_tick = 10000;
static time_t st_maxerror_since;       /* real second when maxerror was last set */

/* Real time straight from the kernel, bypassing libfaketime (and the vDSO). */
static int real_now(struct timespec *ts)
{
    return syscall(SYS_clock_gettime, CLOCK_REALTIME, ts);
}

static double ts2d(const struct timespec *ts)
{
    return ts->tv_sec + ts->tv_nsec / 1e9;
}

/* ---- reading the emulated clock ------------------------------------------ */

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);
static clock_gettime_fn real_clock_gettime;
static const char *offset_path;
static long long offset_ns;            /* cached offset, nanoseconds */
static long long checked_ns;           /* CLOCK_MONOTONIC_COARSE of the last look */
static long long seen_mtime_ns = -1;   /* the offset file as last read */
static ino_t seen_ino;

#define RECHECK_NS 100000000LL         /* look at the offset file every 100 ms */
#define DEFAULT_OFFSET_FILE "/etc/labclock.offset"

static clock_gettime_fn next_clock_gettime(void)
{
    clock_gettime_fn f = __atomic_load_n(&real_clock_gettime, __ATOMIC_ACQUIRE);
    if (!f) {
        f = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
        __atomic_store_n(&real_clock_gettime, f, __ATOMIC_RELEASE);
    }
    return f;
}

static long long parse_offset_ns(const char *text)
{
    char *end;
    double sec = strtod(text, &end);
    if (end == text || sec != sec || sec > 3.2e9 || sec < -3.2e9)
        return 0;                      /* unreadable: the real clock */
    return (long long)(sec * 1e9);
}

/* Re-reads the offset file if it changed since the last look. */
static void refresh_offset(void)
{
    struct stat st;
    char buf[64];
    ssize_t n;
    int fd;

    if (!offset_path || stat(offset_path, &st) != 0) {
        __atomic_store_n(&offset_ns, 0, __ATOMIC_RELAXED);
        return;
    }
    long long mtime = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    if (mtime == __atomic_load_n(&seen_mtime_ns, __ATOMIC_RELAXED) && st.st_ino == seen_ino)
        return;
    fd = open(offset_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0)
        return;
    buf[n] = 0;
    __atomic_store_n(&offset_ns, parse_offset_ns(buf), __ATOMIC_RELAXED);
    seen_ino = st.st_ino;
    __atomic_store_n(&seen_mtime_ns, mtime, __ATOMIC_RELAXED);
}

static long long current_offset_ns(void)
{
    struct timespec mono;
    next_clock_gettime()(CLOCK_MONOTONIC_COARSE, &mono);
    long long now = mono.tv_sec * 1000000000LL + mono.tv_nsec;
    long long last = __atomic_load_n(&checked_ns, __ATOMIC_RELAXED);
    if (last == 0 || now - last >= RECHECK_NS) {
        __atomic_store_n(&checked_ns, now ? now : 1, __ATOMIC_RELAXED);
        refresh_offset();
    }
    return __atomic_load_n(&offset_ns, __ATOMIC_RELAXED);
}

__attribute__((constructor)) static void clockshim_init(void)
{
    /* The environment may be gone (service(8) runs init scripts under env -i): a lab host
     * loads the shim from /etc/ld.so.preload and keeps its offset in the default place. */
    offset_path = getenv("LABCLOCK_OFFSET_FILE");
    if (!offset_path || !*offset_path)
        offset_path = DEFAULT_OFFSET_FILE;
    next_clock_gettime();
    current_offset_ns();
}

static void add_offset(struct timespec *ts, long long off)
{
    long long ns = ts->tv_nsec + off % 1000000000LL;
    ts->tv_sec += off / 1000000000LL + ns / 1000000000LL;
    ns %= 1000000000LL;
    if (ns < 0) {
        ns += 1000000000LL;
        ts->tv_sec -= 1;
    }
    ts->tv_nsec = ns;
}

static int is_wall_clock(clockid_t clk)
{
    return clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE || clk == CLOCK_TAI;
}

int clock_gettime(clockid_t clk, struct timespec *ts)
{
    int rc = next_clock_gettime()(clk, ts);
    if (rc == 0 && is_wall_clock(clk))
        add_offset(ts, current_offset_ns());
    return rc;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    struct timespec ts;
    if (tz)
        memset(tz, 0, sizeof(struct timezone));
    clock_gettime(CLOCK_REALTIME, &ts);
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
    return 0;
}

time_t time(time_t *t)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (t)
        *t = ts.tv_sec;
    return ts.tv_sec;
}

int timespec_get(struct timespec *ts, int base)
{
    if (base != TIME_UTC)
        return 0;
    clock_gettime(CLOCK_REALTIME, ts);
    return base;
}

/* ---- setting the emulated clock ------------------------------------------ */

/* Write "<new - real>" to the offset file: temp file + rename, same directory. */
static int set_emulated_time(double new_time)
{
    const char *path = offset_path;
    char tmp[4096], buf[64];
    struct timespec real;
    int fd, n;

    if (!path || !*path) {
        errno = EPERM;                 /* no emulated clock: behave as unprivileged */
        return -1;
    }
    real_now(&real);
    n = snprintf(buf, sizeof buf, "%+.9f\n", new_time - ts2d(&real));
    if (snprintf(tmp, sizeof tmp, "%s.shim%d", path, (int)getpid()) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (write(fd, buf, n) != n || close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    /* This process sees its own step at once; the others at their next look. */
    __atomic_store_n(&offset_ns, (long long)((new_time - ts2d(&real)) * 1e9), __ATOMIC_RELAXED);
    __atomic_store_n(&checked_ns, 0, __ATOMIC_RELAXED);
    /* The clock was stepped: the kernel would clear its NTP error estimates. */
    st_status |= STA_UNSYNC;
    st_maxerror = st_esterror = NTP_PHASE_LIMIT;
    st_maxerror_since = real.tv_sec;
    return 0;
}

/* Emulated "now" as the caller sees it. */
static double emulated_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts2d(&ts);
}

int clock_settime(clockid_t clk, const struct timespec *tp)
{
    if (clk != CLOCK_REALTIME || tp->tv_nsec < 0 || tp->tv_nsec >= 1000000000L) {
        errno = EINVAL;
        return -1;
    }
    return set_emulated_time(ts2d(tp));
}

int settimeofday(const struct timeval *tv, const struct timezone *tz)
{
    (void)tz;                          /* the kernel timezone is ignored */
    if (!tv)
        return 0;
    if (tv->tv_usec < 0 || tv->tv_usec >= 1000000L) {
        errno = EINVAL;
        return -1;
    }
    return set_emulated_time(tv->tv_sec + tv->tv_usec / 1e6);
}

/* The common adjtimex implementation; returns the clock state like the kernel. */
static int shim_adjtimex(struct timex *tx)
{
    unsigned int m = tx->modes;
    struct timespec real;
    double now;
    long grown;

    if ((m & ADJ_OFFSET_SINGLESHOT) == ADJ_OFFSET_SINGLESHOT) {
        /* Old adjtime(): accept and ignore the slew, nothing is outstanding. */
        tx->offset = 0;
        m = 0;
    } else {
        if (m & ADJ_SETOFFSET) {       /* validate exactly as the kernel does */
            long lim = (m & ADJ_NANO) ? 1000000000L : 1000000L;
            if (tx->time.tv_usec < 0 || tx->time.tv_usec >= lim) {
                errno = EINVAL;
                return -1;
            }
        }
        if ((m & ADJ_TICK) && (tx->tick < 9000 || tx->tick > 11000)) {
            errno = EINVAL;
            return -1;
        }
        if (m & ADJ_SETOFFSET) {
            double delta = tx->time.tv_sec +
                tx->time.tv_usec / ((m & ADJ_NANO) ? 1e9 : 1e6);
            if (delta != 0 && set_emulated_time(emulated_now() + delta) != 0)
                return -1;
            st_status |= STA_UNSYNC;   /* even a zero step clears the estimates */
            st_maxerror = st_esterror = NTP_PHASE_LIMIT;
        }
        if (m & ADJ_NANO)   st_status |= STA_NANO;
        if (m & ADJ_MICRO)  st_status &= ~STA_NANO;
        if (m & ADJ_STATUS) st_status = (st_status & STA_RONLY) | (tx->status & ~STA_RONLY);
        if (m & ADJ_MAXERROR) {
            st_maxerror = tx->maxerror;
            real_now(&real);
            st_maxerror_since = real.tv_sec;
        }
        if (m & ADJ_ESTERROR)  st_esterror = tx->esterror;
        if (m & ADJ_TIMECONST) st_constant = tx->constant;
        if (m & ADJ_TAI)       st_tai = tx->constant;
        if (m & ADJ_TICK)      st_tick = tx->tick;  /* echoed, cancelled below */
        /* ADJ_OFFSET, ADJ_FREQUENCY: accepted, not applied. */
    }

    /* Fill in the (emulated) clock state, as the kernel does on every call. */
    real_now(&real);
    grown = st_maxerror + MAXERR_GROWTH * (long)(real.tv_sec - st_maxerror_since);
    if (st_maxerror_since == 0 || grown > NTP_PHASE_LIMIT || grown < st_maxerror)
        grown = NTP_PHASE_LIMIT;
    if (grown >= NTP_PHASE_LIMIT)
        st_status |= STA_UNSYNC;       /* the kernel does this in second_overflow */
    tx->offset = 0;
    tx->freq = (10000 - st_tick) * 100L * 65536L;  /* tick + freq = rate 0 */
    tx->maxerror = grown;
    tx->esterror = st_esterror;
    tx->status = st_status;
    tx->constant = st_constant;
    tx->precision = 1;
    tx->tolerance = 500L << 16;        /* MAXFREQ_SCALED: 500 ppm */
    tx->tick = st_tick;                /* normally 10000 = 1e6 / USER_HZ(100) */
    tx->ppsfreq = tx->jitter = tx->stabil = 0;
    tx->shift = 0;
    tx->calcnt = tx->errcnt = tx->jitcnt = tx->stbcnt = 0;
    tx->tai = st_tai;
    now = emulated_now();
    tx->time.tv_sec = (time_t)now;
    tx->time.tv_usec = (long)((now - (double)tx->time.tv_sec) *
                              ((st_status & STA_NANO) ? 1e9 : 1e6));

    if (st_status & STA_UNSYNC)
        return TIME_ERROR;
    if (st_status & STA_INS)
        return TIME_INS;
    if (st_status & STA_DEL)
        return TIME_DEL;
    return TIME_OK;
}

/* glibc's adjtimex/ntp_adjtime call clock_adjtime internally (not through the
 * PLT), so each public entry point is wrapped separately. */
int adjtimex(struct timex *tx)   { return shim_adjtimex(tx); }
int __adjtimex(struct timex *tx) { return shim_adjtimex(tx); }
int ntp_adjtime(struct timex *tx) { return shim_adjtimex(tx); }

int clock_adjtime(clockid_t clk, struct timex *tx)
{
    if (clk != CLOCK_REALTIME) {
        errno = EINVAL;
        return -1;
    }
    return shim_adjtimex(tx);
}

/* Refuse kernel packet timestamps (real time); everything else passes through. */
int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    static int (*real_setsockopt)(int, int, int, const void *, socklen_t);

    if (level == SOL_SOCKET &&
        (name == SO_TIMESTAMP_OLD || name == SO_TIMESTAMPNS_OLD ||
         name == SO_TIMESTAMPING_OLD || name == SO_TIMESTAMP_NEW ||
         name == SO_TIMESTAMPNS_NEW || name == SO_TIMESTAMPING_NEW)) {
        errno = ENOPROTOOPT;
        return -1;
    }
    if (!real_setsockopt)
        real_setsockopt = (int (*)(int, int, int, const void *, socklen_t))
            dlsym(RTLD_NEXT, "setsockopt");
    return real_setsockopt(fd, level, name, val, len);
}

/* Refuse the ioctls that read a packet's kernel timestamp; the rest pass through. */
int ioctl(int fd, unsigned long req, ...)
{
    static int (*real_ioctl)(int, unsigned long, void *);
    va_list ap;
    void *arg;

    if (req == SIOCGSTAMP_OLD || req == SIOCGSTAMPNS_OLD ||
        req == SIOCGSTAMP_NEW || req == SIOCGSTAMPNS_NEW) {
        errno = ENOENT;
        return -1;
    }
    va_start(ap, req);
    arg = va_arg(ap, void *);
    va_end(ap);
    if (!real_ioctl)
        real_ioctl = (int (*)(int, unsigned long, void *))dlsym(RTLD_NEXT, "ioctl");
    return real_ioctl(fd, req, arg);
}

/* An absolute sleep on the wall clock waits for an emulated deadline. */
int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
                    struct timespec *rem)
{
    struct timespec real_req = *req;

    if (is_wall_clock(clk) && (flags & TIMER_ABSTIME))
        add_offset(&real_req, -current_offset_ns());
    if (syscall(SYS_clock_nanosleep, clk, flags, &real_req, rem) == 0)
        return 0;
    return errno;                      /* clock_nanosleep returns the error */
}
