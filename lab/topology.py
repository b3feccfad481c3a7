"""Lab topology: load a topology file, validate it, and derive every host's addresses.

A topology names the hosts and their roles; everything else (addresses, networks, pools) is
derived from the order of hosts so that two runs of the same file give the same lab.

    >>> topo = parse({"name": "t", "gateways": [{"name": "gw1"}],
    ...               "clients": [{"name": "cl1", "gateway": "gw1"}]}, "t.yml")
    >>> topo.hosts["gw1"].wan_addr, topo.hosts["gw1"].protected_net, topo.hosts["cl1"].gateway
    ('198.19.0.12', '10.1.0.0/24', 'gw1')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

from lab.errors import LabError

MGMT_PREFIX = "198.18"      # management network, bridge in the root namespace
MGMT_GATEWAY = "198.18.0.1"
WAN_PREFIX = "198.19"       # the lab's "internet"
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,11}$")
DAEMONS = ("strongswan", "libreswan")
AUTHS = ("cert", "psk")


@dataclass
class Host:
    name: str
    role: str                      # infra | gateway | client | nat
    index: int                     # position in the lab, drives addresses
    daemon: str | None = None      # strongswan | libreswan for gateways and clients
    gateway: str | None = None     # clients: the gateway they connect to
    auth: str | None = None        # clients: cert | psk
    behind: str | None = None      # clients: the NAT router in front of them
    gw_number: int = 0             # gateways: 1-based, drives the protected net and pool
    nat_number: int = 0            # NAT routers: 1-based, drives the LAN
    mgmt_addr: str = ""
    wan_addr: str | None = None    # None for clients behind NAT
    lan_addr: str | None = None    # NAT routers: LAN side; NATed clients: their address

    @property
    def fqdn(self) -> str:
        return f"{self.name}.lab"

    @property
    def protected_net(self) -> str | None:
        return f"10.{self.gw_number}.0.0/24" if self.role == "gateway" else None

    @property
    def protected_addr(self) -> str | None:
        return f"10.{self.gw_number}.0.1" if self.role == "gateway" else None

    @property
    def pool(self) -> str | None:
        return f"10.{100 + self.gw_number}.0.0/24" if self.role == "gateway" else None

    @property
    def data_addr(self) -> str:
        """The address the host uses on its data network (WAN, or LAN behind NAT)."""
        return self.wan_addr or self.lan_addr or ""


@dataclass
class Topology:
    name: str
    source: str
    hosts: dict[str, Host] = field(default_factory=dict)

    def by_role(self, role: str) -> list[Host]:
        return [h for h in self.hosts.values() if h.role == role]

    def clients_of(self, gateway: str) -> list[Host]:
        return [h for h in self.by_role("client") if h.gateway == gateway]


def _fail(source: str, where: str, msg: str) -> LabError:
    return LabError(f"{source}: {where}: {msg}")


def _expect(source: str, where: str, value, kind, allowed: str):
    if not isinstance(value, kind):
        raise _fail(source, where, f"got {value!r}; expected {allowed}")
    return value


def _check_keys(source: str, where: str, item: dict, allowed: tuple[str, ...]) -> None:
    for key in item:
        if key not in allowed:
            raise _fail(source, f"{where}.{key}", f"unknown field; allowed: {', '.join(allowed)}")


def load(path: str) -> Topology:
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except OSError as exc:
        raise LabError(f"{path}: cannot read topology file: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "file"
        raise LabError(f"{path}: {where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    return parse(data, path)


def parse(data, source: str) -> Topology:
    _expect(source, "top level", data, dict, "a mapping with name, gateways, clients")
    _check_keys(source, "top level", data,
                ("name", "infra", "gateways", "clients", "nat_routers", "generate"))
    if "generate" in data:
        data = _generate(data, source)
    topo = Topology(name=str(data.get("name") or "lab"), source=source)
    index = 0

    def add(host: Host, where: str) -> None:
        nonlocal index
        if not isinstance(host.name, str) or not NAME_RE.match(host.name):
            raise _fail(source, f"{where}.name",
                        f"{host.name!r} is not a host name (lowercase letters, digits, '-', at most 12)")
        if host.name in topo.hosts:
            raise _fail(source, f"{where}.name", f"{host.name!r} is defined twice")
        index += 1
        host.index = index
        topo.hosts[host.name] = host

    add(Host(name=data.get("infra") or "infra", role="infra", index=0), "infra")
    for i, item in enumerate(_expect(source, "nat_routers", data.get("nat_routers") or [], list, "a list")):
        where = f"nat_routers[{i}]"
        _expect(source, where, item, dict, "a mapping with name")
        _check_keys(source, where, item, ("name",))
        add(Host(name=item.get("name"), role="nat", index=0, nat_number=i + 1), where)
    gateways = _expect(source, "gateways", data.get("gateways"), list, "a non-empty list of gateways")
    if not gateways:
        raise _fail(source, "gateways", "empty; at least one gateway is needed")
    for i, item in enumerate(gateways):
        where = f"gateways[{i}]"
        _expect(source, where, item, dict, "a mapping with name and daemon")
        _check_keys(source, where, item, ("name", "daemon"))
        daemon = item.get("daemon", "strongswan")
        if daemon not in DAEMONS:
            raise _fail(source, f"{where}.daemon", f"{daemon!r} is not allowed; allowed: {', '.join(DAEMONS)}")
        add(Host(name=item.get("name"), role="gateway", index=0, daemon=daemon, gw_number=i + 1), where)
    if len(gateways) > 99:
        raise _fail(source, "gateways", "at most 99 gateways")
    for i, item in enumerate(_expect(source, "clients", data.get("clients") or [], list, "a list of clients")):
        where = f"clients[{i}]"
        _expect(source, where, item, dict, "a mapping with name and gateway")
        _check_keys(source, where, item, ("name", "gateway", "auth", "behind"))
        gw = item.get("gateway")
        if gw not in topo.hosts or topo.hosts[gw].role != "gateway":
            known = ", ".join(h.name for h in topo.by_role("gateway"))
            raise _fail(source, f"{where}.gateway", f"{gw!r} is not a gateway of this topology; gateways: {known}")
        auth = item.get("auth", "cert")
        if auth not in AUTHS:
            raise _fail(source, f"{where}.auth", f"{auth!r} is not allowed; allowed: {', '.join(AUTHS)}")
        behind = item.get("behind")
        if behind is not None and (behind not in topo.hosts or topo.hosts[behind].role != "nat"):
            known = ", ".join(h.name for h in topo.by_role("nat")) or "none defined"
            raise _fail(source, f"{where}.behind", f"{behind!r} is not a NAT router of this topology; NAT routers: {known}")
        if auth == "psk" and topo.hosts[gw].daemon != "strongswan":
            raise _fail(source, f"{where}.auth", "psk clients are supported on strongSwan gateways only")
        add(Host(name=item.get("name"), role="client", index=0, daemon="strongswan",
                 gateway=gw, auth=auth, behind=behind), where)
    if len(topo.hosts) > 1000:
        raise _fail(source, "top level", f"{len(topo.hosts)} hosts; at most 1000")
    _assign_addresses(topo)
    return topo


def _generate(data: dict, source: str) -> dict:
    gen = _expect(source, "generate", data["generate"], dict, "a mapping")
    allowed = ("gateways", "clients_per_gateway", "extra_clients", "nat_routers", "nat_every", "psk_every")
    _check_keys(source, "generate", gen, allowed)
    for key in allowed:
        value = gen.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise _fail(source, f"generate.{key}", f"got {value!r}; expected a whole number >= 0")
    n_gw = gen.get("gateways", 1) or 1
    nats = [{"name": f"nat{i + 1}"} for i in range(gen.get("nat_routers", 0))]
    gateways = [{"name": f"gw{i + 1:02d}", "daemon": "strongswan"} for i in range(n_gw)]
    total = n_gw * gen.get("clients_per_gateway", 1) + gen.get("extra_clients", 0)
    clients = []
    for i in range(total):
        item = {"name": f"cl{i + 1:03d}", "gateway": gateways[i % n_gw]["name"], "auth": "cert"}
        if gen.get("psk_every") and i % gen["psk_every"] == gen["psk_every"] - 1:
            item["auth"] = "psk"
        if nats and gen.get("nat_every") and i % gen["nat_every"] == 0:
            item["behind"] = nats[(i // gen["nat_every"]) % len(nats)]["name"]
        clients.append(item)
    return {"name": data.get("name"), "infra": data.get("infra"), "nat_routers": nats,
            "gateways": gateways, "clients": clients}


def _assign_addresses(topo: Topology) -> None:
    lan_counts: dict[str, int] = {}
    for host in topo.hosts.values():
        i = host.index
        host.mgmt_addr = f"{MGMT_PREFIX}.{i // 200 + 1}.{i % 200 + 10}"
        if host.role == "nat":
            host.wan_addr = f"{WAN_PREFIX}.{i // 200}.{i % 200 + 10}"
            host.lan_addr = f"192.168.{host.nat_number}.1"
        elif host.role == "client" and host.behind:
            nat = topo.hosts[host.behind]
            lan_counts[nat.name] = lan_counts.get(nat.name, 0) + 1
            host.lan_addr = f"192.168.{nat.nat_number}.{lan_counts[nat.name] + 9}"
        else:
            host.wan_addr = f"{WAN_PREFIX}.{i // 200}.{i % 200 + 10}"
