"""Per-host files of the lab: what each host's /etc holds, from the topology and the faults.

`host_settings` gives the healthy settings of every host; a scenario's faults change those
settings (lab/scenario.py); `render_host` turns one host's settings into a map of
path -> (bytes, mode). Nothing here starts or touches a process.
"""

from __future__ import annotations

import os

from lab.pki import LabPKI
from lab.topology import Host, Topology

TEMPLATES = os.path.join(os.path.dirname(__file__), "templates")

# The golden proposals of the lab; scenarios move one end away from them.
IKE_PROPOSALS = "aes256gcm16-prfsha384-ecp384,aes256-sha256-ecp256"
ESP_PROPOSALS = "aes256gcm16,aes256-sha256"
LIBRESWAN_IKE = "aes_gcm256-sha2_384;dh20"
LIBRESWAN_ESP = "aes_gcm256"
PKCS12_PASSWORD = b"lab-nss"


def host_settings(topo: Topology, psk_secrets: dict[str, str]) -> dict[str, dict]:
    """The healthy settings of every host (plain data, so a fault is an assignment)."""
    out: dict[str, dict] = {}
    for host in topo.hosts.values():
        s = {
            "clock_offset": 0,
            "firewall": {"udp500": True, "udp4500": True, "esp": True, "ssh": True},
            "services": {"sshd": True, "chronyd": True, "ike": host.daemon is not None},
            "link_up": True,
            "charon": {"retransmit_tries": 3, "retransmit_timeout": 1.0, "retransmit_base": 1.4},
        }
        if host.role == "gateway":
            s.update(ike_proposals=IKE_PROPOSALS, esp_proposals=ESP_PROPOSALS,
                     lsw_ike=LIBRESWAN_IKE, lsw_esp=LIBRESWAN_ESP,
                     local_ts=host.protected_net, local_addrs=None,
                     ca_files=["root", "intermediate"], cert_variant="good", has_cert=True,
                     psk={c.name: psk_secrets[c.name] for c in topo.clients_of(host.name) if c.auth == "psk"})
        elif host.role == "client":
            gw = topo.hosts[host.gateway]
            s.update(ike_proposals=IKE_PROPOSALS, esp_proposals=ESP_PROPOSALS,
                     remote_ts=gw.protected_net, ca_files=["root", "intermediate"],
                     ike_rekey="4h", child_rekey="1h", dpd_delay="30s",
                     cert_variant="good", has_cert=host.auth == "cert",
                     psk=psk_secrets.get(host.name))
            if gw.daemon == "libreswan":
                s.update(ike_proposals="aes256gcm16-prfsha384-ecp384", esp_proposals="aes256gcm16")
        out[host.name] = s
    return out


def _template(name: str) -> str:
    with open(os.path.join(TEMPLATES, name), encoding="utf-8") as handle:
        return handle.read()


def _hosts_file(topo: Topology, me: Host) -> str:
    lines = ["127.0.0.1\tlocalhost", f"127.0.1.1\t{me.fqdn} {me.name}", "::1\tlocalhost ip6-localhost ip6-loopback"]
    for h in topo.hosts.values():
        if h.data_addr and h.name != me.name:
            lines.append(f"{h.data_addr}\t{h.fqdn} {h.name}")
    return "\n".join(lines) + "\n"


def _nftables(host: Host, s: dict) -> str:
    fw = s["firewall"]
    rules = ["ct state established,related accept", "ct state invalid drop", 'iif "lo" accept',
             "ip protocol icmp accept"]
    if fw["ssh"]:
        rules.append("tcp dport 22 accept")
    if host.daemon:
        if fw["udp500"]:
            rules.append("udp dport 500 accept")
        if fw["udp4500"]:
            rules.append("udp dport 4500 accept")
        else:
            rules.append("udp dport 4500 drop")
        if fw["esp"]:
            rules.append("ip protocol esp accept")
    if host.role == "gateway":
        rules.append('iifname "ipsec0" accept')
    if host.role == "infra":
        rules += ["udp dport 123 accept", "tcp dport 80 accept"]
    if host.role == "nat":
        rules.append("udp dport 123 accept")
    body = "\n".join(f"\t\t{r}" for r in rules)
    text = ("#!/usr/sbin/nft -f\n\nflush ruleset\n\n"
            "table inet filter {\n"
            "\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n"
            f"{body}\n\t}}\n"
            "\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n\t}\n"
            "\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n\t}\n"
            "}\n")
    if host.role == "nat":
        # Masquerade with source-port rewrite, so the gateways see a translated port and NAT-T is real.
        text += ("\ntable ip nat {\n\tchain postrouting {\n"
                 "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
                 f'\t\toifname "eth0" ip saddr {host.lan_addr.rsplit(".", 1)[0]}.0/24 meta l4proto udp masquerade to :40000-49999 random\n'
                 f'\t\toifname "eth0" ip saddr {host.lan_addr.rsplit(".", 1)[0]}.0/24 masquerade\n'
                 "\t}\n}\n")
    return text


def _chrony(topo: Topology, host: Host) -> str:
    if host.role == "infra":
        return ("# The lab's time server: serves its clock, never changes the real one (chronyd -x).\n"
                "local stratum 8\nallow all\ndriftfile /var/lib/chrony/chrony.drift\n"
                "logdir /var/log/chrony\n")
    infra = next(h for h in topo.hosts.values() if h.role == "infra")
    return (f"server {infra.fqdn} iburst minpoll 4 maxpoll 6\n"
            "driftfile /var/lib/chrony/chrony.drift\nmakestep 1 3\nlogdir /var/log/chrony\n")


def _strongswan_d(host: Host, s: dict) -> dict[str, str]:
    c = s["charon"]
    limits = "".join(f"\t{k} = {c[k]}\n" for k in ("ikesa_limit", "init_limit_half_open", "init_limit_job_load")
                     if c.get(k) is not None)
    return {
        "etc/strongswan.d/charon-logging.conf": (
            "charon {\n\tfilelog {\n\t\tcharon {\n\t\t\tpath = /var/log/charon.log\n"
            "\t\t\ttime_format = %b %e %T\n\t\t\tike_name = yes\n\t\t\tappend = yes\n"
            "\t\t\tdefault = 1\n\t\t\tflush_line = yes\n\t\t}\n\t}\n}\n"),
        "etc/strongswan.d/charon/kernel-libipsec.conf": (
            "# ESP in userspace: this kernel cannot install XFRM SAs.\nkernel-libipsec {\n\tload = yes\n}\n"),
        "etc/strongswan.d/charon-lab.conf": (
            "charon {\n"
            f"\tretransmit_tries = {c['retransmit_tries']}\n"
            f"\tretransmit_timeout = {c['retransmit_timeout']}\n"
            f"\tretransmit_base = {c['retransmit_base']}\n"
            f"{limits}}}\n"),
    }


def _swanctl_gateway(topo: Topology, host: Host, s: dict) -> str:
    local_addrs = f"\t\tlocal_addrs = {s['local_addrs']}\n" if s.get("local_addrs") else ""
    common = (f"\t\tversion = 2\n{local_addrs}\t\tproposals = {s['ike_proposals']}\n"
              f"\t\tpools = pool-{host.name}\n\t\tencap = yes\n\t\tfragmentation = yes\n"
              "\t\tdpd_delay = 30s\n\t\trekey_time = 4h\n")
    child = (f"\t\tchildren {{\n\t\t\tnet {{\n\t\t\t\tlocal_ts = {s['local_ts']}\n"
             f"\t\t\t\tesp_proposals = {s['esp_proposals']}\n\t\t\t\trekey_time = 1h\n"
             "\t\t\t\tdpd_action = clear\n\t\t\t}\n\t\t}\n")
    local_cert = f"\t\t\tcerts = {host.name}.pem\n" if s["has_cert"] else ""
    text = ("# Road-warrior gateway: certificate clients and PSK clients, virtual IPs from a pool.\n"
            "connections {\n\trw-cert {\n" + common +
            f"\t\tlocal {{\n\t\t\tauth = pubkey\n{local_cert}\t\t\tid = {host.fqdn}\n\t\t}}\n"
            "\t\tremote {\n\t\t\tauth = pubkey\n\t\t\tid = %any\n\t\t}\n" + child + "\t}\n")
    for client in sorted(s["psk"]):
        text += (f"\trw-psk-{client} {{\n" + common +
                 f"\t\tlocal {{\n\t\t\tauth = psk\n\t\t\tid = {host.fqdn}\n\t\t}}\n"
                 f"\t\tremote {{\n\t\t\tauth = psk\n\t\t\tid = {client}.lab\n\t\t}}\n" + child + "\t}\n")
    text += f"}}\n\npools {{\n\tpool-{host.name} {{\n\t\taddrs = {host.pool}\n\t}}\n}}\n"
    if s["psk"]:
        text += "\nsecrets {\n"
        for client, secret in sorted(s["psk"].items()):
            text += f"\tike-{client} {{\n\t\tid-1 = {client}.lab\n\t\tsecret = \"{secret}\"\n\t}}\n"
        text += "}\n"
    return text


def _swanctl_client(topo: Topology, host: Host, s: dict) -> str:
    gw = topo.hosts[host.gateway]
    if host.auth == "psk":
        local = f"\t\tlocal {{\n\t\t\tauth = psk\n\t\t\tid = {host.fqdn}\n\t\t}}\n"
        remote = f"\t\tremote {{\n\t\t\tauth = psk\n\t\t\tid = {gw.fqdn}\n\t\t}}\n"
    else:
        certs = f"\t\t\tcerts = {host.name}.pem\n" if s["has_cert"] else ""
        local = f"\t\tlocal {{\n\t\t\tauth = pubkey\n{certs}\t\t\tid = {host.fqdn}\n\t\t}}\n"
        remote = f"\t\tremote {{\n\t\t\tauth = pubkey\n\t\t\tid = {gw.fqdn}\n\t\t}}\n"
    text = ("connections {\n"
            f"\t{gw.name} {{\n\t\tversion = 2\n\t\tremote_addrs = {gw.fqdn}\n\t\tvips = 0.0.0.0\n"
            f"\t\tproposals = {s['ike_proposals']}\n\t\tencap = yes\n\t\tfragmentation = yes\n"
            f"\t\tdpd_delay = {s['dpd_delay']}\n\t\trekey_time = {s['ike_rekey']}\n" + local + remote +
            f"\t\tchildren {{\n\t\t\t{gw.name}-net {{\n\t\t\t\tremote_ts = {s['remote_ts']}\n"
            f"\t\t\t\tesp_proposals = {s['esp_proposals']}\n\t\t\t\trekey_time = {s['child_rekey']}\n"
            "\t\t\t\tstart_action = start\n\t\t\t\tdpd_action = restart\n\t\t\t}\n\t\t}\n\t}\n}\n")
    if host.auth == "psk":
        text += (f"\nsecrets {{\n\tike-{gw.name} {{\n\t\tid-1 = {host.fqdn}\n\t\tid-2 = {gw.fqdn}\n"
                 f"\t\tsecret = \"{s['psk']}\"\n\t}}\n}}\n")
    return text


def _libreswan(topo: Topology, host: Host, s: dict) -> dict[str, str]:
    ipsec_conf = (
        "# libreswan gateway of the lab\nconfig setup\n\tlogfile=/var/log/pluto.log\n\tlogtime=yes\n"
        "\tlogappend=yes\n\tplutodebug=none\n\tuniqueids=yes\n\n"
        "include /etc/ipsec.d/*.conf\n")
    local_addr = s.get("local_addrs") or host.wan_addr
    conn = (
        "conn rw-cert\n"
        f"\tleft={local_addr}\n\tleftid=@{host.fqdn}\n\tleftcert={host.name}\n\tleftauth=ecdsa\n"
        f"\tleftsubnet={s['local_ts']}\n\tleftsendcert=always\n"
        "\tright=%any\n\trightid=%fromcert\n\trightauth=ecdsa\n\trightca=%same\n"
        f"\trightaddresspool={host.pool.rsplit('.', 2)[0]}.0.10-{host.pool.rsplit('.', 2)[0]}.0.250\n"
        "\trightmodecfgclient=yes\n\tnarrowing=yes\n"
        "\tikev2=insist\n\tencapsulation=yes\n\tfragmentation=yes\n"
        f"\tike={s['lsw_ike']}\n\tesp={s['lsw_esp']}\n"
        "\tdpddelay=30\n\tdpdtimeout=120\n\tikelifetime=4h\n\tsalifetime=1h\n\tauto=add\n")
    return {"etc/ipsec.conf": ipsec_conf, "etc/ipsec.d/rw.conf": conn,
            "etc/ipsec.secrets": "# Certificate keys live in the NSS database; PSKs would go here.\n"}


def render_host(topo: Topology, host: Host, s: dict, pki: LabPKI) -> dict[str, tuple[bytes, int]]:
    """Every file the lab writes for one host, as path (relative to /) -> (content, mode)."""
    files: dict[str, tuple[bytes, int]] = {}

    def put(path: str, content, mode: int = 0o644) -> None:
        files[path] = (content.encode() if isinstance(content, str) else content, mode)

    put("etc/hostname", host.name + "\n")
    put("etc/hosts", _hosts_file(topo, host))
    put("etc/nftables.conf", _nftables(host, s), 0o755)
    put("etc/chrony/chrony.conf", _chrony(topo, host))
    put("etc/labclock.offset", f"{int(s['clock_offset']):+d}\n")
    # Every process of the host runs on the host's clock, whatever environment it was started with.
    put("etc/ld.so.preload", "/usr/local/lib/labclock/clockshim.so\n")
    for name in ("ssh", "chrony", "nftables", "strongswan", "ipsec", "httpd"):
        put(f"etc/init.d/{name}", _template(f"init.d/{name}"), 0o755)
    put("etc/ssh/sshd_config", _template("sshd_config"))
    if host.daemon == "strongswan":
        for path, text in _strongswan_d(host, s).items():
            put(path, text)
        for ca in s["ca_files"]:
            put(f"etc/swanctl/x509ca/{ca}.pem", pki.pem(pki.root if ca == "root" else pki.intermediate))
        role = "server" if host.role == "gateway" else "client"
        if s["has_cert"] and (host.role == "gateway" or host.auth == "cert"):
            key, cert = pki.leaf(host.fqdn, role, s["cert_variant"], host.wan_addr)
            put(f"etc/swanctl/x509/{host.name}.pem", pki.pem(cert))
            put(f"etc/swanctl/private/{host.name}.key", pki.key_pem(key), 0o600)
        swanctl = _swanctl_gateway(topo, host, s) if host.role == "gateway" else _swanctl_client(topo, host, s)
        put("etc/swanctl/swanctl.conf", swanctl, 0o600)
    elif host.daemon == "libreswan":
        for path, text in _libreswan(topo, host, s).items():
            put(path, text, 0o600 if "secrets" in path else 0o644)
        key, cert = pki.leaf(host.fqdn, "server", s["cert_variant"], host.wan_addr)
        put("etc/ipsec.d/lab/host.p12", pki.pkcs12(key, cert, PKCS12_PASSWORD), 0o600)
        for ca in s["ca_files"]:
            put(f"etc/ipsec.d/lab/{ca}.pem", pki.pem(pki.root if ca == "root" else pki.intermediate))
    if host.role == "infra":
        put("srv/www/crl/intermediate.crl", pki.crl("intermediate"))
        put("srv/www/crl/root.crl", pki.crl("root"))
    return files
