"""The lab's wiring: one network namespace per host, a switch namespace with the data segments,
and a management bridge in the root namespace that reaches every host's sshd.

Link names: inside a host `mgmt0` (management), `eth0` (WAN, or LAN behind a NAT router) and, on
NAT routers, `eth1` (their LAN). Ports in the switch namespace are `p<index>e<n>`; management ports
in the root namespace are `vlm<index>`.
"""

from __future__ import annotations

from lab import runtime
from lab.topology import MGMT_GATEWAY, Host, Topology


def build_switch(topo: Topology) -> None:
    """The switch namespace with one bridge per segment, and the management bridge."""
    existing = runtime.lab_namespaces()
    if runtime.SWITCH_NS not in existing:
        runtime.run(["ip", "netns", "add", runtime.SWITCH_NS])
    links = runtime.run(["ip", "-n", runtime.SWITCH_NS, "-o", "link", "show"]).stdout
    lines = []
    for seg in ["wan"] + [f"lan{h.nat_number}" for h in topo.by_role("nat")]:
        if f" br-{seg}:" not in links:
            lines += [f"link add br-{seg} type bridge", f"link set br-{seg} up"]
    lines.append("link set lo up")
    runtime.ip_batch(lines, runtime.SWITCH_NS)
    root_links = runtime.run(["ip", "-o", "link", "show"]).stdout
    if f" {runtime.MGMT_BRIDGE}:" not in root_links:
        runtime.ip_batch([f"link add {runtime.MGMT_BRIDGE} type bridge",
                          f"addr add {MGMT_GATEWAY}/16 dev {runtime.MGMT_BRIDGE}",
                          f"link set {runtime.MGMT_BRIDGE} up"])


def wire_host(topo: Topology, host: Host) -> None:
    """The host's namespace, its links into the switch and the management bridge, addresses, routes."""
    ns = runtime.NS_PREFIX + host.name
    if ns not in runtime.lab_namespaces():
        runtime.run(["ip", "netns", "add", ns])
    have = runtime.run(["ip", "-n", ns, "-o", "link", "show"]).stdout
    root = []
    if " mgmt0@" not in have:
        root += [f"link add mgmt0 netns {ns} type veth peer name {runtime.MGMT_PORT_PREFIX}{host.index}",
                 f"link set {runtime.MGMT_PORT_PREFIX}{host.index} master {runtime.MGMT_BRIDGE} up"]
    wan_seg, wan_addr = ("wan", host.wan_addr) if host.wan_addr else (None, None)
    if host.role == "client" and host.behind:
        nat = topo.hosts[host.behind]
        wan_seg, wan_addr = f"lan{nat.nat_number}", host.lan_addr
    sw = []
    if " eth0@" not in have:
        root.append(f"link add eth0 netns {ns} type veth peer name p{host.index}e0 netns {runtime.SWITCH_NS}")
        sw.append(f"link set p{host.index}e0 master br-{wan_seg} up")
    if host.role == "nat" and " eth1@" not in have:
        root.append(f"link add eth1 netns {ns} type veth peer name p{host.index}e1 netns {runtime.SWITCH_NS}")
        sw.append(f"link set p{host.index}e1 master br-lan{host.nat_number} up")
    runtime.ip_batch(root)
    runtime.ip_batch(sw, runtime.SWITCH_NS)
    inside = ["link set lo up", "link set mgmt0 up", "link set eth0 up",
              f"addr replace {host.mgmt_addr}/16 dev mgmt0",
              f"addr replace {wan_addr}/{16 if wan_seg == 'wan' else 24} dev eth0"]
    if host.role == "nat":
        inside += ["link set eth1 up", f"addr replace {host.lan_addr}/24 dev eth1"]
    if host.role == "gateway":
        # The gateway's protected network lives on lo, inside its local traffic selector.
        inside.append(f"addr replace {host.protected_addr}/24 dev lo")
    if host.role == "client" and host.behind:
        inside.append(f"route replace default via {topo.hosts[host.behind].lan_addr} dev eth0")
    runtime.ip_batch(inside, ns)
    sysctls = ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]
    if host.role == "nat":
        sysctls.append("net.ipv4.ip_forward=1")
    runtime.run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w"] + sysctls)


def set_link(host: Host, up: bool) -> None:
    """Data link of a host up or down (the unreachable-peer fault)."""
    runtime.run(["ip", "-n", runtime.SWITCH_NS, "link", "set", f"p{host.index}e0", "up" if up else "down"])
