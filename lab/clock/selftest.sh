#!/usr/bin/env bash
# selftest.sh - proves the lab's per-host clock on a scratch pair of namespaces.
#
# A chronyd NTP server (-x, local stratum 8) in clk-ntp-PID and a skewed host in
# clk-host-PID, joined by a veth (198.18.250.0/30, inside the namespaces only).
# The host's clock is real time + the offset file (clockshim.so);
# a real chronyd on the host, with CAP_SYS_TIME dropped, selects the server and
# `chronyc makestep` steps the host's emulated clock, i.e. rewrites its offset
# file.  Prints `RESULT key=value` lines (read by tests/lab/test_clock.py) and
# exits non-zero if a check fails.  Run as root; cleans up everything on exit;
# also removes what a killed earlier run left (namespaces whose PID is gone).
#
# Env: CLOCK_SELFTEST_SKEW (default -86400),
#      CLOCK_SELFTEST_LOGDIR (copy the configs, offset files and chronyd logs there).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SKEW=${CLOCK_SELFTEST_SKEW:--86400}
NTP_NS=clk-ntp-$$
HOST_NS=clk-host-$$
VETH_N=ckn$$            # interface names: at most 15 characters
VETH_H=ckh$$
NTP_IP=198.18.250.1
HOST_IP=198.18.250.2
TMP=/tmp/clk-selftest-$$
PIDS=()
FAILED=0

log() { printf '%s\n' "$*" >&2; }
result() { printf 'RESULT %s=%s\n' "$1" "$2"; }
check() {  # check NAME CONDITION-AS-AWK-EXPR : records pass/fail
    if awk "BEGIN { exit !($2) }"; then result "$1" ok; else result "$1" FAIL; FAILED=1; fi
}

cleanup() {
    local rc=$? p i
    trap - EXIT INT TERM
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for i in $(seq 20); do
        local alive=0
        for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$NTP_NS" 2>/dev/null || true
    ip netns del "$HOST_NS" 2>/dev/null || true
    if [ -n "${CLOCK_SELFTEST_LOGDIR:-}" ] && [ -d "$TMP" ]; then
        mkdir -p "$CLOCK_SELFTEST_LOGDIR" && cp -r "$TMP"/. "$CLOCK_SELFTEST_LOGDIR"/ || true
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Remove what an earlier, killed run left behind (its PID no longer exists).
remove_stale() {
    local ns pid p d
    for ns in $(ip netns list | awk '{print $1}' | grep -E '^clk-(ntp|host)-[0-9]+$' || true); do
        pid=${ns##*-}
        [ "$pid" != $$ ] && ! kill -0 "$pid" 2>/dev/null || continue
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
    for d in /tmp/clk-selftest-[0-9]*; do
        [ -d "$d" ] || continue
        pid=${d##*-}
        kill -0 "$pid" 2>/dev/null || rm -rf "$d"
    done
}

# host_cmd NS OFFSET_FILE : sets HCMD to the prefix of a lab-host process
# (in NS, no CAP_SYS_TIME, under clockshim with that offset file).
host_cmd() {
    HCMD=(ip netns exec "$1" setpriv --bounding-set=-sys_time --inh-caps=-sys_time
        env LD_PRELOAD="$HERE/clockshim.so" LABCLOCK_OFFSET_FILE="$2")
}
run_in() { local ns=$1 off=$2; shift 2; host_cmd "$ns" "$off"; "${HCMD[@]}" "$@"; }
# start_in NS OFFSET_FILE LOG CMD... : in the background; a simple command, so
# $! is the pid that ip/setpriv/env exec into (the daemon itself).
start_in() {
    local ns=$1 off=$2 logf=$3; shift 3
    host_cmd "$ns" "$off"
    "${HCMD[@]}" "$@" >"$logf" 2>&1 &
    PIDS+=($!)
    STARTED=$!
}
real_now() { date +%s.%N; }                 # the machine's clock, not faked
boot_now() { awk '{print $1}' /proc/uptime; }   # CLOCK_BOOTTIME, never stepped
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }

[ "$(id -u)" = 0 ] || { log "selftest.sh: must run as root"; exit 2; }
for c in ip setpriv chronyd chronyc make cc awk; do
    command -v "$c" >/dev/null || { log "selftest.sh: $c not found"; exit 2; }
done

remove_stale
REAL0=$(real_now)
BOOT0=$(boot_now)
make -s -C "$HERE"

mkdir -m 0700 "$TMP" "$TMP/ntp" "$TMP/host"
echo "+0" >"$TMP/ntp/offset"
echo "$SKEW" >"$TMP/host/offset"

# Network: two namespaces, one veth, addresses only inside them.
ip netns add "$NTP_NS"
ip netns add "$HOST_NS"
ip link add "$VETH_N" type veth peer name "$VETH_H"
ip link set "$VETH_N" netns "$NTP_NS"
ip link set "$VETH_H" netns "$HOST_NS"
ip -n "$NTP_NS" addr add "$NTP_IP/30" dev "$VETH_N"
ip -n "$HOST_NS" addr add "$HOST_IP/30" dev "$VETH_H"
for ns in "$NTP_NS" "$HOST_NS"; do ip -n "$ns" link set lo up; done
ip -n "$NTP_NS" link set "$VETH_N" up
ip -n "$HOST_NS" link set "$VETH_H" up

# Private pid file and command socket, no UDP command port, no drift file:
# nothing clashes with another chronyd on this machine.
cat >"$TMP/ntp/chrony.conf" <<EOF
local stratum 8
allow
pidfile $TMP/ntp/chronyd.pid
bindcmdaddress $TMP/ntp/chronyd.sock
cmdport 0
EOF
cat >"$TMP/host/chrony.conf" <<EOF
server $NTP_IP iburst
pidfile $TMP/host/chronyd.pid
bindcmdaddress $TMP/host/chronyd.sock
cmdport 0
EOF

# The NTP server: -x (never touches a clock), still a lab-host process.
start_in "$NTP_NS" "$TMP/ntp/offset" "$TMP/ntp/chronyd.log" \
    chronyd -d -x -u root -F 0 -f "$TMP/ntp/chrony.conf"

# Before: the host's clock is skewed by SKEW; CAP_SYS_TIME is gone.
log "offset file before: $(cat "$TMP/host/offset")"
result offset_file_before "$(cat "$TMP/host/offset")"
R=$(real_now); H=$(run_in "$HOST_NS" "$TMP/host/offset" date +%s.%N); R2=$(real_now)
SKEW0=$(calc "$H - ($R + $R2) / 2")
result initial_skew "$SKEW0"
check initial_skew_matches "($SKEW0) - ($SKEW) < 2 && ($SKEW) - ($SKEW0) < 2"
CAPBND=$(run_in "$HOST_NS" "$TMP/host/offset" awk '/^CapBnd/ {print $2}' /proc/self/status)
result host_capbnd "$CAPBND"
CAP_SYS_TIME=$((1 << 25))
check cap_sys_time_dropped "$(( 0x$CAPBND & CAP_SYS_TIME )) == 0"

# Sleeping on CLOCK_MONOTONIC works under the preload (Python's time.sleep uses an
# absolute clock_nanosleep, which libfaketime 0.9.10 used to break with EINVAL).
if command -v python3 >/dev/null; then
    if run_in "$HOST_NS" "$TMP/host/offset" python3 -c 'import time; time.sleep(0.01)' 2>&1 >/dev/null; then
        result python_sleep ok
    else
        result python_sleep FAIL; FAILED=1
    fi
fi

# The host's chronyd: real chronyd, not -x, as root (so it does not try to keep
# CAP_SYS_TIME for a dropped user, which would fail), no seccomp filter.
start_in "$HOST_NS" "$TMP/host/offset" "$TMP/host/chronyd.log" \
    chronyd -d -u root -F 0 -f "$TMP/host/chrony.conf"
CHRONYD=$STARTED
hchronyc() { run_in "$HOST_NS" "$TMP/host/offset" chronyc -h "$TMP/host/chronyd.sock" "$@"; }

# Wait until chronyd has selected the lab NTP server ("^*").
selected=0
for i in $(seq 60); do
    kill -0 "$CHRONYD" 2>/dev/null || break
    if hchronyc -n sources 2>/dev/null | grep -q "^\^\* *$NTP_IP"; then selected=1; break; fi
    sleep 1
done
result source_selected "$selected"
result chronyd_comm "$(cat "/proc/$CHRONYD/comm" 2>/dev/null || echo gone)"
CHRONYD_CAPEFF=$(awk '/^CapEff/ {print $2}' "/proc/$CHRONYD/status" 2>/dev/null || echo 0)
result chronyd_capeff "$CHRONYD_CAPEFF"
check chronyd_without_cap_sys_time "$(( 0x$CHRONYD_CAPEFF & CAP_SYS_TIME )) == 0"
hchronyc -n sources >&2 || true
[ "$selected" = 1 ] || { result selftest FAIL; cat "$TMP/host/chronyd.log" >&2; exit 1; }

# The step, from inside the host, the way an administrator would do it.
hchronyc makestep >&2
sleep 0.5
log "offset file after: $(cat "$TMP/host/offset")"
result offset_file_after "$(cat "$TMP/host/offset")"

# After: host clock vs NTP server clock (server read before and after).
N1=$(run_in "$NTP_NS" "$TMP/ntp/offset" date +%s.%N)
H=$(run_in "$HOST_NS" "$TMP/host/offset" date +%s.%N)
N2=$(run_in "$NTP_NS" "$TMP/ntp/offset" date +%s.%N)
DIFF=$(calc "$H - ($N1 + $N2) / 2")
result final_host_minus_ntp "$DIFF"
check host_matches_ntp "($DIFF) < 1 && ($DIFF) > -1"
hchronyc -n tracking >&2 || true

# The real clock did not move: its advance equals CLOCK_BOOTTIME's advance.
REAL1=$(real_now)
BOOT1=$(boot_now)
result real_elapsed "$(calc "$REAL1 - $REAL0")"
result boot_elapsed "$(calc "$BOOT1 - $BOOT0")"
DRIFT=$(calc "($REAL1 - $REAL0) - ($BOOT1 - $BOOT0)")
result real_clock_drift "$DRIFT"
check real_clock_untouched "($DRIFT) < 0.5 && ($DRIFT) > -0.5"

log "--- host chronyd log (excerpt)"
grep -E 'wrong|step|Selected|ADJ_SETOFFSET|adjtimex|frequency|Fatal|Could not' \
    "$TMP/host/chronyd.log" >&2 || true
grep -q "System clock was stepped" "$TMP/host/chronyd.log" && stepped=1 || stepped=0
result chronyd_logged_step "$stepped"

if [ "$FAILED" = 0 ]; then result selftest ok; else result selftest FAIL; exit 1; fi
