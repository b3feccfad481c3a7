"""labctl: bring the lab up, inject a scenario, show its state, tear it down.

    python -m lab.labctl up [--topology FILE] [--scenario NAME]
    python -m lab.labctl scenario NAME          # on a running lab ("healthy" resets it)
    python -m lab.labctl status [--json]
    python -m lab.labctl exec HOST -- CMD...    # a command inside a host
    python -m lab.labctl down
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from lab import network, render, runtime, scenario as scenarios, topology
from lab.errors import LabError
from lab.pki import LabPKI

DEFAULT_TOPOLOGY = os.path.join(runtime.REPO, "lab", "topologies", "default.yml")
INVENTORY = os.path.join(runtime.REPO, "inventories", "lab", "hosts.yml")
SSH_DIR = os.path.join(runtime.RUN_DIR, "ssh")
SSH_KEY = os.path.join(SSH_DIR, "id_ed25519")
KNOWN_HOSTS = os.path.join(SSH_DIR, "known_hosts")
# Directories the lab owns on a host: files in them that the lab did not render are removed when
# a scenario is applied, so every scenario starts from exactly its own configuration.
MANAGED_DIRS = ("etc/swanctl/x509", "etc/swanctl/x509ca", "etc/swanctl/private", "etc/swanctl/x509crl",
                "etc/swanctl/conf.d", "etc/ipsec.d/lab")
OPAQUE_DIRS = ("var/log", "etc/swanctl", "etc/ipsec.d", "etc/ssh", "root/.ssh", "srv/www")
LOGS = ("var/log/charon.log", "var/log/pluto.log")
# A client's log line after which its daemon will not try again by itself.
TERMINAL = re.compile(r"notify error|N\(AUTH_FAILED\)|giving up after|establishing IKE_SA failed|"
                      r"failed to establish CHILD_SA|no private key found|deleting IKE_SA|"
                      r"unable to resolve|initiate failed")
WORKERS = 16
LIBRESWAN_NO_XFRM = ("lab kernel: no XFRM, so pluto cannot install a CHILD_SA; "
                     "an established IKE SA is this gateway's healthy state")


def _say(msg: str) -> None:
    print(f"lab: {msg}", flush=True)


class Lab:
    def __init__(self, topo: topology.Topology, state: dict):
        self.topo = topo
        self.state = state
        self.pki = LabPKI(os.path.join(runtime.RUN_DIR, "pki"))

    # -- helpers -------------------------------------------------------------------------
    def pid(self, name: str) -> int:
        info = self.state["hosts"].get(name) or {}
        if not runtime.alive(info.get("init_pid")):
            raise LabError(f"host {name} is not running (make lab-up)")
        return info["init_pid"]

    def sh(self, name: str, script: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        return runtime.host_run(self.pid(name), ["/bin/sh", "-c", script], check=check, timeout=timeout)

    def root(self, name: str) -> str:
        """The host's / as seen from the root namespace (writes go through its overlay)."""
        return f"/proc/{self.pid(name)}/root"

    def parallel(self, fn, names) -> list:
        names = list(names)
        if not names:
            return []
        with ThreadPoolExecutor(max_workers=min(WORKERS, len(names))) as pool:
            return list(pool.map(fn, names))

    # -- files ---------------------------------------------------------------------------
    def write_files(self, name: str, files: dict, base: str) -> None:
        for rel, (content, mode) in files.items():
            path = os.path.join(base, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = path + ".lab-tmp"
            with open(tmp, "wb") as handle:
                handle.write(content)
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        for managed in MANAGED_DIRS:
            directory = os.path.join(base, managed)
            if not os.path.isdir(directory):
                continue
            for entry in os.listdir(directory):
                rel = f"{managed}/{entry}"
                if rel not in files and os.path.isfile(os.path.join(directory, entry)):
                    os.unlink(os.path.join(directory, entry))

    def prepare_upper(self, host: topology.Host, files: dict) -> None:
        """The host's upper layer before its first boot: opaque dirs, clock, keys, rendered files."""
        upper = os.path.join(runtime.host_dir(host.name), "upper")
        for rel in OPAQUE_DIRS:
            path = os.path.join(upper, rel)
            os.makedirs(path, exist_ok=True)
            os.setxattr(path, "trusted.overlay.opaque", b"y")
        for rel in ("usr/local/lib/labclock", "var/lib/chrony", "var/log/chrony", "run", "etc/ssh/sshd_config.d",
                    "var/lib/ipsec/nss", "usr/libexec/ipsec", "etc/default", "usr/sbin"):
            os.makedirs(os.path.join(upper, rel), exist_ok=True)
        for binary in ("clockshim.so", "labinit"):
            shutil.copy2(os.path.join(runtime.CLOCK_BUILD, binary), os.path.join(upper, "usr/local/lib/labclock", binary))
        env = runtime.clock_env()
        with open(os.path.join(upper, "etc/ssh/sshd_config.d/lab-clock.conf"), "w", encoding="utf-8") as handle:
            handle.write("# Sessions run on this host's emulated clock, like every process of the host.\n")
            handle.write("SetEnv " + " ".join(f"{k}={v}" for k, v in env.items()) + "\n")
        key = os.path.join(upper, "etc/ssh/ssh_host_ed25519_key")
        if not os.path.exists(key):
            runtime.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{host.name}", "-f", key])
        os.makedirs(os.path.join(upper, "root/.ssh"), mode=0o700, exist_ok=True)
        shutil.copy(SSH_KEY + ".pub", os.path.join(upper, "root/.ssh/authorized_keys"))
        opts = '"-u root -F 0 -x"' if host.role == "infra" else '"-u root -F 0"'
        with open(os.path.join(upper, "etc/default/chrony"), "w", encoding="utf-8") as handle:
            handle.write(f"# chronyd runs as root: CAP_SYS_TIME is not in this host's bounding set.\nDAEMON_OPTS={opts}\n")
        if host.daemon == "libreswan":
            os.makedirs(os.path.join(runtime.host_dir(host.name), "libreswan"), exist_ok=True)
            src = os.path.join(runtime.LIBRESWAN_DIR, "usr")
            dst = os.path.join(runtime.host_dir(host.name), "libreswan", "usr")
            if not os.path.exists(dst):
                os.symlink(src, dst)
            shutil.copy2(os.path.join(runtime.LIBRESWAN_DIR, "usr/sbin/ipsec"), os.path.join(upper, "usr/sbin/ipsec"))
        self.write_files(host.name, files, upper)

    # -- bring-up ------------------------------------------------------------------------
    def boot(self, name: str) -> None:
        host = self.topo.hosts[name]
        info = self.state["hosts"].get(name) or {}
        if runtime.alive(info.get("init_pid")):
            return
        network.wire_host(self.topo, host)
        self.prepare_upper(host, self.render(name))
        unshare_pid, init_pid = runtime.boot_host(name)
        self.state["hosts"][name] = {"init_pid": init_pid, "unshare_pid": unshare_pid, "files": []}
        with open(os.path.join(runtime.host_dir(name), "upper/etc/ssh/ssh_host_ed25519_key.pub"), encoding="utf-8") as handle:
            self.state["hosts"][name]["hostkey"] = handle.read().split()[:2]

    def render(self, name: str) -> dict:
        return render.render_host(self.topo, self.topo.hosts[name], self.state["settings"][name], self.pki)

    def start_base_services(self, name: str) -> None:
        host = self.topo.hosts[name]
        script = "/etc/init.d/nftables start && /etc/init.d/ssh start && /etc/init.d/chrony start"
        if host.role == "infra":
            script += " && /etc/init.d/httpd start"
        self.sh(name, script)

    def provision_libreswan(self, name: str) -> None:
        """The NSS database of a libreswan host, built from the lab's CA and host certificates."""
        self.sh(name, (
            "set -e; rm -rf /var/lib/ipsec/nss; mkdir -p /var/lib/ipsec/nss; "
            "ipsec initnss --nssdir /var/lib/ipsec/nss >/dev/null; "
            "for ca in /etc/ipsec.d/lab/*.pem; do "
            '  certutil -A -d sql:/var/lib/ipsec/nss -n "lab-$(basename $ca .pem)" -t "CT,," -i "$ca"; done; '
            f"pk12util -i /etc/ipsec.d/lab/host.p12 -d sql:/var/lib/ipsec/nss -W {render.PKCS12_PASSWORD.decode()} >/dev/null; "
            # pk12util names the key's certificate by the p12 friendly name; pluto looks it up by host name.
            f"nick=$(certutil -L -d sql:/var/lib/ipsec/nss | awk '/u,u,u/ {{sub(/ +u,u,u.*/, \"\"); print}}'); "
            f'[ "$nick" = "{name}" ] || certutil --rename -d sql:/var/lib/ipsec/nss -n "$nick" --new-n "{name}"'))

    def ike(self, name: str, action: str) -> None:
        host = self.topo.hosts[name]
        if not host.daemon:
            return
        script = "/etc/init.d/strongswan" if host.daemon == "strongswan" else "/etc/init.d/ipsec"
        if action == "start" and not self.state["settings"][name]["services"]["ike"]:
            return
        self.sh(name, f"{script} {action} >/dev/null", timeout=60)

    def write_inventory(self) -> None:
        os.makedirs(os.path.dirname(INVENTORY), exist_ok=True)
        groups: dict[str, list] = {"gateways": [], "clients": [], "infra_servers": [], "nat_routers": []}
        role_group = {"gateway": "gateways", "client": "clients", "infra": "infra_servers", "nat": "nat_routers"}
        hostvars = {}
        for h in self.topo.hosts.values():
            groups[role_group[h.role]].append(h.name)
            hv = {"ansible_host": h.mgmt_addr, "lab_role": h.role, "lab_data_addr": h.data_addr}
            if h.daemon:
                hv["lab_daemon"] = h.daemon
            if h.gateway:
                hv["lab_gateway"] = h.gateway
            if h.daemon == "libreswan":
                # This kernel cannot install XFRM SAs; pluto has no userspace ESP to fall back on.
                hv["ikev2_acknowledged"] = [{"rule": "IKE-RES-004", "reason": LIBRESWAN_NO_XFRM}]
            hostvars[h.name] = hv
        lines = ["# Generated by `make lab-up` for the running lab; removed by `make lab-down`.", "all:",
                 "  vars:", "    ansible_user: root",
                 f"    ansible_ssh_private_key_file: {SSH_KEY}",
                 f"    ansible_ssh_common_args: -o UserKnownHostsFile={KNOWN_HOSTS} -o StrictHostKeyChecking=yes -o ControlPath={SSH_DIR}/cp-%C",
                 "  children:"]
        for group, members in groups.items():
            lines.append(f"    {group}:")
            lines.append("      hosts:" if members else "      hosts: {}")
            for m in members:
                hv = ", ".join(f"{k}: {json.dumps(v)}" for k, v in hostvars[m].items())
                lines.append(f"        {m}: {{{hv}}}")
        with open(INVENTORY, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        with open(KNOWN_HOSTS, "w", encoding="utf-8") as handle:
            for name, info in self.state["hosts"].items():
                handle.write(f"{self.topo.hosts[name].mgmt_addr} {' '.join(info['hostkey'])}\n")

    # -- scenarios -----------------------------------------------------------------------
    def apply(self, scen: dict | None) -> None:
        """Resets every host to the healthy configuration, injects the scenario's faults, restarts
        the daemons on fresh logs and waits until every tunnel has come up or failed."""
        settings = render.host_settings(self.topo, self.state["psk"])
        if scen:
            scenarios.apply_faults(settings, scen)
        self.state["settings"] = settings
        self.state["scenario"] = scen["name"] if scen else "healthy"
        names = list(self.topo.hosts)
        ike_hosts = [n for n in names if self.topo.hosts[n].daemon]
        self.parallel(lambda n: self.ike(n, "stop"), [n for n in ike_hosts if self.topo.hosts[n].role == "client"])
        self.parallel(lambda n: self.ike(n, "stop"), [n for n in ike_hosts if self.topo.hosts[n].role == "gateway"])

        def refresh(name):
            root = self.root(name)
            self.write_files(name, self.render(name), root)
            for log in LOGS:
                if os.path.exists(os.path.join(root, log)):
                    open(os.path.join(root, log), "w").close()
            # Fresh firewall state too: flows of the previous scenario must not slip past new rules.
            chrony = "restart" if settings[name]["services"]["chronyd"] else "stop"
            self.sh(name, f"/etc/init.d/nftables reload && conntrack -F 2>/dev/null; /etc/init.d/chrony {chrony} >/dev/null")
            host = self.topo.hosts[name]
            if host.role in ("gateway", "client"):
                network.set_link(host, settings[name]["link_up"])
            if host.daemon == "libreswan":
                self.provision_libreswan(name)
        t0 = time.monotonic()
        self.parallel(refresh, names)
        t1 = time.monotonic()
        self.parallel(lambda n: self.ike(n, "start"), [n for n in ike_hosts if self.topo.hosts[n].role == "gateway"])
        self.parallel(lambda n: self.ike(n, "start"), [n for n in ike_hosts if self.topo.hosts[n].role == "client"])
        t2 = time.monotonic()
        runtime.save_state(self.state)
        self.settle(scen)
        self.wait_ntp()
        for step in (scen or {}).get("after", []):
            self.sh(step["host"], step["run"], check=False)
        if scen and scen.get("linger"):
            time.sleep(scen["linger"])
        if os.environ.get("LAB_TIMING"):
            _say(f"apply: files {t1 - t0:.1f} s, daemons {t2 - t1:.1f} s, settle {time.monotonic() - t2:.1f} s")

    def client_state(self, name: str) -> dict:
        """A client's tunnel as its daemon reports it: up (CHILD_SA installed) or not, and its log."""
        out = self.sh(name, "swanctl --list-sas 2>/dev/null; echo ---LOG---; tail -c 20000 /var/log/charon.log 2>/dev/null",
                      check=False).stdout
        sas, _, log = out.partition("---LOG---")
        return {"up": "INSTALLED" in sas and "ESTABLISHED" in sas, "sas": sas, "log": log,
                "failed": bool(TERMINAL.search(log))}

    def wait_ntp(self, timeout: float = 15) -> None:
        """Waits (bounded) until every host whose chronyd runs has synchronised to the lab's server."""
        hosts = [n for n, h in self.topo.hosts.items()
                 if h.role != "infra" and self.state["settings"][n]["services"]["chronyd"]]
        tries = max(1, int(timeout / 0.5))
        self.parallel(lambda n: self.sh(n, f"chronyc waitsync {tries} 0 0 0.5 >/dev/null 2>&1", check=False,
                                        timeout=timeout + 10), hosts)

    def settle(self, scen: dict | None, timeout: float | None = None) -> dict:
        clients = [h.name for h in self.topo.by_role("client")]
        timeout = timeout or float((scen or {}).get("settle", 25))
        deadline = time.monotonic() + timeout
        states: dict = {}
        while True:
            states = dict(zip(clients, self.parallel(self.client_state, clients)))
            pending = [c for c, s in states.items() if not s["up"] and not s["failed"]]
            if not pending or time.monotonic() > deadline:
                return states
            time.sleep(0.5)


# -- commands ---------------------------------------------------------------------------

def _need_root() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces, mounts); run as root")


def _check_built() -> None:
    for path in (os.path.join(runtime.CLOCK_BUILD, "labinit"), os.path.join(runtime.CLOCK_BUILD, "clockshim.so"),
                 os.path.join(runtime.LIBRESWAN_DIR, "usr/libexec/ipsec/pluto"), "/usr/lib/ipsec/charon"):
        if not os.path.exists(path):
            raise LabError(f"{path} is missing; run scripts/setup.sh (make setup) first")


def cmd_up(args) -> int:
    _need_root()
    _check_built()
    topo = topology.load(args.topology)
    scen = scenarios.load(args.scenario, topo) if args.scenario and args.scenario != "healthy" else None
    state = runtime.load_state()
    if state and state.get("topology_file") != os.path.abspath(args.topology):
        _say(f"a lab of {state.get('topology_file')} is up; replacing it")
        runtime.teardown()
        state = None
    fresh = not state
    started = time.monotonic()
    try:
        runtime.ensure_run_dir()
        if fresh:
            state = {"topology_file": os.path.abspath(args.topology), "hosts": {},
                     "psk": {h.name: secrets.token_urlsafe(18) for h in topo.by_role("client") if h.auth == "psk"}}
        state.setdefault("settings", render.host_settings(topo, state["psk"]))
        os.makedirs(SSH_DIR, exist_ok=True)
        if not os.path.exists(SSH_KEY):
            runtime.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "vpnops-lab", "-f", SSH_KEY])
        lab = Lab(topo, state)
        for client in topo.by_role("client"):
            if client.auth == "cert":        # issued up front, so the CRL lists it from the start
                lab.pki.leaf(client.fqdn, "client", "revoked")
        network.build_switch(topo)
        lab.parallel(lab.boot, list(topo.hosts))
        runtime.save_state(state)
        _say(f"{len(topo.hosts)} hosts booted in {time.monotonic() - started:.1f} s")
        lab.parallel(lab.start_base_services, list(topo.hosts))
        lab.write_inventory()
        _say(f"base services up in {time.monotonic() - started:.1f} s")
        lab.apply(scen)
    except BaseException:
        if fresh and not os.environ.get("LAB_KEEP_ON_ERROR"):
            runtime.teardown()
        raise
    _say(f"up in {time.monotonic() - started:.1f} s: {len(topo.hosts)} hosts, scenario {state['scenario']}")
    print_status(lab)
    return 0


def _running_lab() -> Lab:
    state = runtime.load_state()
    if not state:
        raise LabError("no lab is up (make lab-up)")
    return Lab(topology.load(state["topology_file"]), state)


def cmd_scenario(args) -> int:
    _need_root()
    lab = _running_lab()
    scen = None if args.name == "healthy" else scenarios.load(args.name, lab.topo)
    started = time.monotonic()
    lab.apply(scen)
    _say(f"scenario {lab.state['scenario']} applied in {time.monotonic() - started:.1f} s")
    print_status(lab)
    return 0


def print_status(lab: Lab, as_json: bool = False) -> None:
    rows = {}
    clients = [h.name for h in lab.topo.by_role("client") if runtime.alive(lab.state["hosts"].get(h.name, {}).get("init_pid"))]
    tunnels = dict(zip(clients, lab.parallel(lab.client_state, clients)))
    for name, host in lab.topo.hosts.items():
        info = lab.state["hosts"].get(name) or {}
        row = {"role": host.role, "daemon": host.daemon, "mgmt": host.mgmt_addr, "addr": host.data_addr,
               "running": runtime.alive(info.get("init_pid"))}
        if name in tunnels:
            st = tunnels[name]
            row["tunnel"] = "up" if st["up"] else ("failed" if st["failed"] else "down")
        rows[name] = row
    if as_json:
        print(json.dumps({"scenario": lab.state.get("scenario"), "hosts": rows}, indent=1))
        return
    print(f"scenario: {lab.state.get('scenario')}")
    for name, r in rows.items():
        extra = f" -> {lab.topo.hosts[name].gateway}: {r.get('tunnel')}" if r["role"] == "client" else ""
        print(f"  {name:8} {r['role']:8} {r['daemon'] or '-':11} {r['addr']:15} mgmt {r['mgmt']:14} "
              f"{'running' if r['running'] else 'DOWN'}{extra}")


def cmd_status(args) -> int:
    state = runtime.load_state()
    if not state:
        left = runtime.leftovers()
        print("no lab is up" + (f"; leftovers: {', '.join(left)}" if left else ""))
        return 1 if left else 0
    print_status(_running_lab(), args.json)
    return 0


def cmd_down(args) -> int:
    _need_root()
    done = runtime.teardown()
    left = runtime.leftovers()
    _say("down: " + ("; ".join(done) if done else "nothing was up"))
    if left:
        _say("still present: " + ", ".join(left))
        return 1
    return 0


def cmd_exec(args) -> int:
    _need_root()
    lab = _running_lab()
    cmd = args.cmd[1:] if args.cmd and args.cmd[0] == "--" else args.cmd
    argv = runtime.host_exec_argv(lab.pid(args.host), cmd or ["/bin/bash", "-l"])
    return subprocess.call(argv)


def cmd_capture(args) -> int:
    """Applies each scenario and saves what the real daemons logged, as test fixtures."""
    _need_root()
    lab = _running_lab()
    names = args.names or scenarios.names()
    for name in names:
        scen = None if name == "healthy" else scenarios.load(name, lab.topo)
        lab.apply(scen)
        time.sleep(args.linger)
        out = os.path.join(args.out, name)
        os.makedirs(out, exist_ok=True)
        meta = {"scenario": name, "topology": os.path.relpath(lab.state["topology_file"], runtime.REPO),
                "captured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "hosts": {}}
        for host in lab.topo.hosts.values():
            if not host.daemon:
                continue
            log = "/var/log/charon.log" if host.daemon == "strongswan" else "/var/log/pluto.log"
            text = lab.sh(host.name, f"cat {log}", check=False).stdout
            with open(os.path.join(out, f"{host.name}.log"), "w", encoding="utf-8") as handle:
                handle.write(text)
            meta["hosts"][host.name] = {"role": host.role, "daemon": host.daemon, "log": log,
                                        "addr": host.data_addr, "gateway": host.gateway,
                                        "clock_offset": lab.state["settings"][host.name]["clock_offset"]}
        if scen:
            meta["expected"] = scen["expected"]
        with open(os.path.join(out, "meta.json"), "w", encoding="utf-8") as handle:
            json.dump(meta, handle, indent=1)
        _say(f"captured {name} into {out}")
    lab.apply(None)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="labctl", description="The vpnops IKEv2 lab of real daemons.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("up", help="bring the lab up (or converge a running one)")
    p.add_argument("--topology", default=DEFAULT_TOPOLOGY)
    p.add_argument("--scenario", default=None)
    p.set_defaults(func=cmd_up)
    p = sub.add_parser("scenario", help="apply a scenario to the running lab ('healthy' resets it)")
    p.add_argument("name")
    p.set_defaults(func=cmd_scenario)
    p = sub.add_parser("status", help="hosts and tunnels")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("down", help="tear the lab down, leaving nothing behind")
    p.set_defaults(func=cmd_down)
    p = sub.add_parser("exec", help="run a command inside a host (a shell without one)")
    p.add_argument("host")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_exec)
    p = sub.add_parser("capture", help="apply scenarios and save the daemons' logs as fixtures")
    p.add_argument("--out", default=os.path.join(runtime.REPO, "tests", "fixtures", "lab"))
    p.add_argument("--linger", type=float, default=2.0, help="seconds to wait after settling")
    p.add_argument("names", nargs="*")
    p.set_defaults(func=cmd_capture)
    p = sub.add_parser("scenarios", help="list the scenarios")
    p.set_defaults(func=lambda a: print("\n".join(scenarios.names())) or 0)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except LabError as exc:
        print(f"lab: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"lab: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except BrokenPipeError:                 # output piped into head: not an error of the lab
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("lab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
