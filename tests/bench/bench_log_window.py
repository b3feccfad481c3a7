#!/usr/bin/env python3
"""Benchmark: the log part of vpnops.ikev2.ike_facts on a big charon log. Prints figures.

    .venv/bin/python tests/bench/bench_log_window.py                # 0.25 GB, quick
    .venv/bin/python tests/bench/bench_log_window.py --size-gb 2    # the issue's 2 GB case

A charon file log of the given size is generated (once; reused while its size matches) from
the real charon lines in tests/fixtures/gather/charon_log/, stamped over --days days ending now.
Figures, each measured warm (page cache) and best of --repeat:

1. finding the one-hour window (binary search) and reading its bytes, against `tail -c <same
   number of bytes>` of the same file in the same run; ratio goal <= 1.2;
2. lines -> events with the log parsers (module_utils/logs parse_lines); goal >= 200,000 lines/s;
3. the whole log part of the gather (Gatherer.logs: discovery, window, decode, parse, then the
   events serialised as the module writes them, to /dev/null) in a fresh process, wall time and
   peak RSS (VmHWM); goals < 1.5 s and < 100 MB. Run with the module's default
   line cap (--max-lines, default 20000) and once more with no cap (every line of the hour).
4. with --lab (a running lab, inventories/lab/hosts.yml): the default gather over every lab host
   (`ansible all -m vpnops.ikev2.ike_facts`) against `ansible.builtin.setup` and `ansible.builtin.ping`
   over the same hosts, interleaved, best of --repeat; goals: <= 1.0x setup and <= 2x ping.
   (--lab-only skips 1-3.)
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "collections"))

from ansible_collections.vpnops.ikev2.plugins.module_utils.facts import logwindow  # noqa: E402

FIXTURE_LOGS = [REPO / "tests/fixtures/gather/charon_log/gw-charon.log",
                REPO / "tests/fixtures/gather/charon_log/cl-charon.log"]


def generate(path, size, days, end):
    bodies = []
    for f in FIXTURE_LOGS:
        for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
            if len(line) > 16:
                bodies.append(line[16:])
    avg = sum(len(b) for b in bodies) / len(bodies) + 16
    total_lines = int(size / avg)
    start = end - days * 86400
    step = (end - start) / total_lines
    written = 0
    i = 0
    t = start
    nb = len(bodies)
    cache_sec = None
    stamp = ""
    with open(path, "wb", buffering=1 << 22) as fh:
        while written < size:
            chunk = []
            for _ in range(20000):
                sec = int(t)
                if sec != cache_sec:
                    stamp = time.strftime("%b %e %H:%M:%S", time.localtime(sec))
                    cache_sec = sec
                chunk.append("%s %s\n" % (stamp, bodies[i % nb]))
                i += 1
                t += step
            data = "".join(chunk).encode()
            fh.write(data)
            written += len(data)
    os.utime(path, (end, end))
    return i


def best(fn, repeat):
    times = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def find_and_read(path, since):
    """Binary search for the window, then read its bytes chunk by chunk, as the gather does
    (logwindow.Window(...).chunks(), before decoding); no cap. Returns the bytes read."""
    win = logwindow.Window(path, since, max_lines=10 ** 9, max_bytes=1 << 40, rotated=False)
    n = 0
    for chunk in win.chunks():
        n += len(chunk)
    return n


# peak RSS of this process image: VmHWM (ru_maxrss would carry the parent's peak across exec)
HWM = r"""
def hwm():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            return int(line.split()[1]) / 1024.0
"""

CHILD = HWM + r"""
import json, sys, time
sys.path.insert(0, %(coll)r)
t0 = time.perf_counter()
from ansible_collections.vpnops.ikev2.plugins.module_utils.facts import gather
g = gather.Gatherer({'since': %(since)r, 'max_lines': %(max_lines)d, 'log_files': [%(path)r], 'journal': False,
                     'paths': {'strongswan_conf': '/nonexistent/strongswan.conf', 'ipsec_conf': '/nonexistent/ipsec.conf'}})
import ansible_collections.vpnops.ikev2.plugins.module_utils.facts.logsources as ls
ls.SYSLOG_FILES = (); ls.DEFAULT_CHARON_LOGS = (); ls.DEFAULT_PLUTO_LOGS = ()
t1 = time.perf_counter()
c1 = time.process_time()
sect = g.logs({'name': 'strongswan', 'running': True})
t2 = time.perf_counter()
# the module's output: the events serialised (streamed when spooled), written to /dev/null
events = sect['events']
spooled = isinstance(events, ls.SpooledEvents)
with open('/dev/null', 'wb') as out:
    if spooled:
        events.write_json(out.write, binary=True)
    else:
        out.write(json.dumps(events).encode())
t3 = time.perf_counter()
c3 = time.process_time()
print(json.dumps({'import_s': t1 - t0, 'cpu_s': c3 - c1, 'logs_s': t2 - t1, 'out_s': t3 - t2, 'events': len(events),
                  'spooled': spooled, 'bytes_read': sum(f.get('bytes_read', 0) for f in sect['files']),
                  'status': sect['status'], 'parser': sect.get('parser'),
                  'maxrss_mb': hwm()}))
"""

BASELINE = HWM + r"""
import json, sys
sys.path.insert(0, %(coll)r)
from ansible_collections.vpnops.ikev2.plugins.module_utils.facts import gather
print(json.dumps({'maxrss_mb': hwm()}))
"""


def child(code, **kw):
    kw["coll"] = str(REPO / "collections")
    out = subprocess.run([sys.executable, "-c", code % kw], stdout=subprocess.PIPE, check=True).stdout
    return json.loads(out.decode().strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--path", default="/tmp/vpnops-bench/charon.log")
    ap.add_argument("--size-gb", type=float, default=0.25)
    ap.add_argument("--days", type=float, default=3.0)
    ap.add_argument("--window-s", type=float, default=3600.0)
    ap.add_argument("--max-lines", type=int, default=20000, help="the module's line cap (its default)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the generated log for the next run")
    ap.add_argument("--lab", action="store_true", help="also time the default gather over the lab against setup and ping")
    ap.add_argument("--lab-only", action="store_true", help="only the lab figures")
    args = ap.parse_args()
    if args.lab_only:
        bench_lab(args.repeat)
        return

    path = args.path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    size = int(args.size_gb * (1 << 30))
    end = time.time()
    if not (os.path.exists(path) and abs(os.path.getsize(path) - size) < (1 << 20) * 2):
        t0 = time.perf_counter()
        n = generate(path, size, args.days, end)
        print("generated %s: %.2f GB, %d lines over %.1f days in %.1f s" % (
            path, os.path.getsize(path) / (1 << 30), n, args.days, time.perf_counter() - t0))
    else:
        print("reusing %s (%.2f GB)" % (path, os.path.getsize(path) / (1 << 30)))
    # the window is the last hour of the file (the gather below gets it as an ISO 8601 'since')
    with open(path, "rb") as fh:
        fh.seek(-4096, 2)
        last = fh.read().splitlines()[-1]
    end = logwindow.line_epoch(last, logwindow.YearRef(os.stat(path).st_mtime))
    since = end - args.window_s
    since_iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since))
    fsize = os.path.getsize(path)

    # 1. find + read vs tail -c
    find_and_read(path, since)      # warm the page cache for the window
    t_ours, nbytes = best(lambda: find_and_read(path, since), args.repeat)
    # tail is timed inside its process (`time` around it would add fork/exec, which ours does not pay)
    t_tail = min(float(subprocess.run(
        ["bash", "-c", "TIMEFORMAT=%%R; time tail -c %d %s >/dev/null" % (nbytes, path)], stderr=subprocess.PIPE,
        check=True).stderr.decode().split()[-1]) for _ in range(args.repeat))
    t_search, _ = best(lambda: logwindow.find_offset(open(path, "rb"), fsize, since,
                                                     logwindow.YearRef(os.stat(path).st_mtime)), args.repeat)
    print()
    print("machine: %d CPUs, load average %.1f %.1f %.1f (figures are noisy under load)" % ((os.cpu_count() or 0,)
                                                                                         + os.getloadavg()))
    print("file: %.2f GB; window %.0f s = %.1f MB (%.2f%% of the file)" % (
        fsize / (1 << 30), args.window_s, nbytes / 1e6, 100.0 * nbytes / fsize))
    print("1. find window + read its bytes: %.4f s (of which binary search %.5f s)" % (t_ours, t_search))
    print("   tail -c %d (same bytes):  %.4f s" % (nbytes, t_tail))
    print("   ratio ours / tail -c:          %.2f   (goal <= 1.2)" % (t_ours / t_tail))

    # 2. lines -> events
    try:
        from ansible_collections.vpnops.ikev2.plugins.module_utils.logs import parse_lines
    except ImportError:
        parse_lines = None
    res = logwindow.read_window(path, since, max_lines=10 ** 8, max_bytes=1 << 40)
    lines = res["lines"]
    if parse_lines is None:
        print("2. lines -> events: module_utils/logs not present, not measured")
    else:
        from ansible_collections.vpnops.ikev2.plugins.module_utils.logs import iter_event_json_batches
        t_parse, evs = best(lambda: parse_lines(lines, fmt="charon-file"), args.repeat)
        print("2. lines -> events: %d lines -> %d events in %.3f s = %.0f lines/s   (goal >= 200,000)" % (
            len(lines), len(evs), t_parse, len(lines) / t_parse))
        del evs
        blocks = []
        for i in range(0, len(lines), 8000):       # ~1 MB blocks of whole lines, as the window yields them
            blocks.append("\n".join(lines[i:i + 8000]) + "\n")

        def stream():       # as logsources._spool_file runs it: cyclic GC off
            import gc
            gc.disable()
            try:
                n = 0
                for batch in iter_event_json_batches(blocks, "charon-file"):
                    n += len(batch)
                return n
            finally:
                gc.enable()
        t_stream, n = best(stream, args.repeat)
        print("   streamed (lines -> event JSON texts, the gather's path for big windows): %d events in %.3f s "
              "= %.0f lines/s" % (n, t_stream, len(lines) / t_stream))
        del blocks
    del lines, res

    # 3. the whole log part of the gather, fresh process
    base = child(BASELINE)
    for cap, label in ((args.max_lines, "default cap %d lines" % args.max_lines), (10 ** 8, "no cap (whole hour)")):
        runs = [child(CHILD, path=path, max_lines=cap, since=since_iso) for _ in range(args.repeat)]
        r = min(runs, key=lambda x: x["logs_s"] + x["out_s"])
        print("3. log part of the gather, %s: %.3f s (gather %.3f s + events serialised %.3f s%s; CPU time %.3f s), "
              "%d events, %.1f MB read; peak RSS %.1f MB (interpreter + imports alone %.1f MB; delta %.1f MB)   "
              "(goals < 1.5 s, < 100 MB)" % (
                  label, r["logs_s"] + r["out_s"], r["logs_s"], r["out_s"], ", streamed" if r["spooled"] else "",
                  r["cpu_s"],
                  r["events"], r["bytes_read"] / 1e6, r["maxrss_mb"], base["maxrss_mb"],
                  r["maxrss_mb"] - base["maxrss_mb"]))
    print()
    if args.keep:
        print("generated log kept at %s (remove with: rm %s)" % (path, path))
    else:
        os.unlink(path)
        print("removed %s (use --keep to reuse it)" % path)
    if args.lab:
        bench_lab(args.repeat)


def bench_lab(repeat):
    inventory = REPO / "inventories" / "lab" / "hosts.yml"
    if not inventory.exists():
        print("4. lab: no inventories/lab/hosts.yml (make lab-up), not measured")
        return
    ansible = str(pathlib.Path(sys.executable).parent / "ansible")
    runs = {"ike_facts": ["-m", "vpnops.ikev2.ike_facts"], "setup": ["-m", "ansible.builtin.setup"],
            "ping": ["-m", "ansible.builtin.ping"]}
    times = {k: [] for k in runs}
    failures = {k: 0 for k in runs}
    for _ in range(repeat):
        for name, argv in runs.items():
            t0 = time.perf_counter()
            proc = subprocess.run([ansible, "all", "-i", str(inventory), "-o"] + argv, cwd=str(REPO),
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
            times[name].append(time.perf_counter() - t0)
            failures[name] += proc.stdout.decode(errors="replace").count("FAILED!") + \
                proc.stdout.decode(errors="replace").count("UNREACHABLE!")
    hosts = sum(1 for line in inventory.read_text().splitlines() if "ansible_host:" in line)
    best_t = {k: min(v) for k, v in times.items()}
    print("4. lab, %d hosts, best of %d: ike_facts %.2f s, setup %.2f s, ping %.2f s (failed/unreachable results: %s)" % (
        hosts, repeat, best_t["ike_facts"], best_t["setup"], best_t["ping"], failures))
    print("   ike_facts / setup = %.2f   (goal <= 1.0)" % (best_t["ike_facts"] / best_t["setup"]))
    print("   ike_facts / ping  = %.2f   (goal <= 2.0)" % (best_t["ike_facts"] / best_t["ping"]))


if __name__ == "__main__":
    main()
