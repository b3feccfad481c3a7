"""The running lab: namespaces, links, host processes, and commands inside hosts.

Everything the lab creates is named so that teardown finds it even without the state file:
network namespaces `vpnlab-*`, the management bridge `vlmgmt` and its ports `vlm*` in the root
namespace, and the tmpfs at RUN_DIR holding every host's root overlay.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time

from lab.errors import LabError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_DIR = "/run/vpnops-lab"
STATE_FILE = os.path.join(RUN_DIR, "state.json")
NS_PREFIX = "vpnlab-"
SWITCH_NS = "vpnlab-sw"
MGMT_BRIDGE = "vlmgmt"
MGMT_PORT_PREFIX = "vlm"
LIBRESWAN_DIR = os.path.join(REPO, "lab", ".cache", "libreswan")
CLOCK_BUILD = os.path.join(REPO, "lab", "clock")
HOST_CLOCK_DIR = "/usr/local/lib/labclock"          # inside each host
OFFSET_FILE = "/etc/labclock.offset"                # inside each host
HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def clock_env() -> dict[str, str]:
    """The environment every process of a host runs with: that host's emulated clock."""
    return {"LD_PRELOAD": f"{HOST_CLOCK_DIR}/clockshim.so", "LABCLOCK_OFFSET_FILE": OFFSET_FILE}


def run(cmd: list[str], check: bool = True, input_text: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(cmd, input=input_text, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise LabError(f"command timed out after {timeout:.0f} s: {' '.join(cmd)}") from None
    except FileNotFoundError:
        raise LabError(f"command not found: {cmd[0]} (run scripts/setup.sh)") from None
    if check and proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip().splitlines()
        raise LabError(f"{' '.join(cmd)} failed: {msg[-1] if msg else 'exit %d' % proc.returncode}")
    return proc


def ip_batch(lines: list[str], netns: str | None = None) -> None:
    if not lines:
        return
    cmd = ["ip"] + (["-n", netns] if netns else []) + ["-batch", "-"]
    run(cmd, input_text="\n".join(lines) + "\n")


# -- state --------------------------------------------------------------------------------

def load_state() -> dict | None:
    try:
        with open(STATE_FILE, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def save_state(state: dict) -> None:
    tmp = STATE_FILE + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(state, handle, indent=1)
    os.replace(tmp, STATE_FILE)


def ensure_run_dir() -> None:
    os.makedirs(RUN_DIR, exist_ok=True)
    if not os.path.ismount(RUN_DIR):
        run(["mount", "-t", "tmpfs", "-o", "mode=0700,size=4g", "vpnops-lab", RUN_DIR])


def host_dir(name: str) -> str:
    return os.path.join(RUN_DIR, "hosts", name)


# -- processes inside hosts ---------------------------------------------------------------

def host_exec_argv(init_pid: int, cmd: list[str], env: dict[str, str] | None = None) -> list[str]:
    """argv that runs cmd inside a host: all its namespaces, its root, its clock, no CAP_SYS_TIME."""
    full_env = {"PATH": HOST_PATH, "HOME": "/root", "LANG": "C.UTF-8", "TERM": os.environ.get("TERM", "dumb")}
    full_env.update(clock_env())
    full_env.update(env or {})
    return (["nsenter", "-t", str(init_pid), "-a", "-r", "-w", "--",
             "/usr/bin/setpriv", "--bounding-set=-sys_time", "--inh-caps=-sys_time", "--",
             "/usr/bin/env", "-i"] + [f"{k}={v}" for k, v in full_env.items()] + cmd)


def host_run(init_pid: int, cmd: list[str], check: bool = True, timeout: float = 60,
             input_text: str | None = None) -> subprocess.CompletedProcess:
    return run(host_exec_argv(init_pid, cmd), check=check, timeout=timeout, input_text=input_text)


def boot_host(name: str) -> tuple[int, int]:
    """Starts the host's namespaces and init; returns (unshare pid, init pid in the root namespace)."""
    d = host_dir(name)
    for sub in ("upper", "work", "root"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    log = open(os.path.join(d, "boot.log"), "ab")
    boot = os.path.join(REPO, "lab", "templates", "boot.sh")
    proc = subprocess.Popen(
        ["ip", "netns", "exec", NS_PREFIX + name, "unshare", "--mount", "--uts", "--pid", "--fork",
         "--propagation", "private", "/bin/sh", boot, d, name],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, env={"PATH": HOST_PATH})
    log.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        init = _init_pid_of(proc.pid)
        if init:
            return proc.pid, init
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    with open(os.path.join(d, "boot.log"), encoding="utf-8", errors="replace") as handle:
        tail = handle.read().strip().splitlines()
    raise LabError(f"host {name} did not boot: {tail[-1] if tail else 'no output'}")


def _init_pid_of(unshare_pid: int) -> int | None:
    """The root-namespace pid of the host's labinit (the unshare's child, once it exec'd)."""
    try:
        for task in os.listdir(f"/proc/{unshare_pid}/task"):
            with open(f"/proc/{unshare_pid}/task/{task}/children", encoding="ascii") as handle:
                for child in handle.read().split():
                    with open(f"/proc/{child}/comm", encoding="ascii") as comm:
                        if comm.read().strip() == "labinit":
                            return int(child)
    except OSError:
        return None
    return None


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def netns_pids(netns: str) -> list[int]:
    proc = run(["ip", "netns", "pids", netns], check=False)
    return [int(p) for p in proc.stdout.split() if p.isdigit()]


def lab_namespaces() -> list[str]:
    proc = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in proc.stdout.splitlines() if line.startswith(NS_PREFIX)]


def kill_pids(pids: list[int], timeout: float = 5.0) -> None:
    """SIGTERM, then SIGKILL what is left; only pids the lab started (found in its namespaces)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(alive(p) for p in pids):
            time.sleep(0.05)
        pids = [p for p in pids if alive(p)]
        if not pids:
            return


def teardown() -> list[str]:
    """Removes every trace of the lab; works on a half-built lab and without a state file."""
    done = []
    state = load_state() or {}
    namespaces = lab_namespaces()
    pids: list[int] = []
    for info in state.get("hosts", {}).values():
        pids += [p for p in (info.get("init_pid"), info.get("unshare_pid")) if p]
    for ns in namespaces:
        pids += netns_pids(ns)
    pids = sorted(set(p for p in pids if alive(p)))
    if pids:
        kill_pids(pids)
        done.append(f"stopped {len(pids)} processes")
    for ns in namespaces:
        run(["ip", "netns", "del", ns], check=False)
    if namespaces:
        done.append(f"deleted {len(namespaces)} namespaces")
    links = run(["ip", "-o", "link", "show"], check=False).stdout
    stale = [line.split(":")[1].strip().split("@")[0] for line in links.splitlines()
             if line.split(":")[1].strip().startswith((MGMT_BRIDGE, MGMT_PORT_PREFIX))]
    for link in stale:
        run(["ip", "link", "del", link], check=False)
    if stale:
        done.append(f"deleted {len(stale)} links")
    if os.path.isdir(RUN_DIR):
        if os.path.ismount(RUN_DIR):
            if run(["umount", RUN_DIR], check=False).returncode != 0:
                run(["umount", "-l", RUN_DIR], check=False)
        shutil.rmtree(RUN_DIR, ignore_errors=True)
        done.append(f"removed {RUN_DIR}")
    inventory = os.path.join(REPO, "inventories", "lab", "hosts.yml")
    if os.path.exists(inventory):
        os.unlink(inventory)
        done.append("removed inventories/lab/hosts.yml")
    return done


def leftovers() -> list[str]:
    """What of the lab is still on the machine (empty after a clean teardown)."""
    found = [f"namespace {ns}" for ns in lab_namespaces()]
    links = run(["ip", "-o", "link", "show"], check=False).stdout
    found += [f"link {line.split(':')[1].strip()}" for line in links.splitlines()
              if line.split(":")[1].strip().startswith((MGMT_BRIDGE, MGMT_PORT_PREFIX))]
    if os.path.exists(RUN_DIR):
        found.append(f"directory {RUN_DIR}")
    with open("/proc/mounts", encoding="utf-8") as handle:
        found += [f"mount {line.split()[1]}" for line in handle if "vpnops-lab" in line or "/netns/" + NS_PREFIX in line]
    return found
