#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ike_facts
short_description: Gather IKEv2 evidence (logs, time, certificates, connections, SAs, firewall) in one pass
version_added: 0.1.0
description:
  - Gathers, in one module execution per host, the facts an operator needs to diagnose an IKEv2 tunnel
    served by strongSwan (charon) or libreswan (pluto), and returns them as C(ansible_facts.ikev2) in the
    shape described in the collection's C(docs/architecture.md).
  - Every section (O(gather_subset)) carries a C(status) (V(ok), V(partial), V(missing), V(unreadable), V(error),
    V(skipped), V(deferred)) and a C(reason) when it is not V(ok). A missing tool, an unreadable file or garbled
    bytes is recorded in its section and never fails the host.
  - A host without an IKE daemon gets C(status=no_daemon) and a reason; the other sections are still gathered.
  - The daemon's log is read as a time window (O(since), O(until)) and a line cap (O(max_lines)) by seeking from the
    end of the file; a multi-gigabyte log is never read whole. Lines become events through the collection's log
    parsers.
  - Pre-shared keys, EAP secrets and private keys never appear in the facts. Configuration files are returned with
    secret values replaced by C(<redacted>); C(ipsec.secrets) keeps only its selectors. Whether a certificate has
    its private key is answered as a boolean, from the daemon's own flag or by comparing public keys on the host.
  - The controller side (action plugin) measures the host's clock against the controller's within the same round
    trip and parses certificates on the controller when the host lacks the Python C(cryptography) library
    (the module then ships the public certificates in the same execution).
  - "Clock offset: the host's clock as the module hands its result to Ansible, minus the controller's clock when the
    result has arrived. The two legs of an SSH round trip are uneven (the forward leg holds the SSH session set-up,
    the remote shell and the interpreter start), so the round trip is not split in half: that put unskewed hosts
    0.2 to 0.6 s ahead. What remains (the process's exit, which the module makes quick, and the transport back)
    makes a host look behind, never ahead: measured on a 2-core lab sharing one machine, 0.005 to 0.008 s one host
    at a time, up to 0.05 s with ten hosts in parallel; add the one-way network latency on a real network.
    C(time.offset_bounds_s) is the interval the true offset is certain to lie in."
  - C(time.ntp.running) is always returned, true, false or null, with C(time.ntp.running_reason).
author:
  - vpnops maintainers (@vpnops)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: The module only reads; it runs the same way in check mode.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
    details: The module changes nothing, so there is no diff.
  facts:
    description: Action returns an C(ansible_facts) dictionary that will update existing host facts.
    support: full
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details: An action plugin of the same name measures the clock offset and parses certificates when needed.
options:
  gather_subset:
    description:
      - Which sections to gather, like M(ansible.builtin.setup)'s O(ansible.builtin.setup#module:gather_subset).
      - V(all) gathers every section; a name prefixed with V(!) excludes it (V(!logs)).
      - Sections not gathered are present with C(status=skipped).
    type: list
    elements: str
    default: [all]
    choices: [all, logs, time, certs, conns, sas, firewall, network, resources,
              '!logs', '!time', '!certs', '!conns', '!sas', '!firewall', '!network', '!resources']
  since:
    description:
      - Start of the log window, as a duration back from now (V(1h), V(30m), V(2d), seconds) or an ISO 8601 time
        (V(2026-11-26T22:00:00Z)).
      - Both forms are read against the host's own clock, the clock its log lines were stamped with; on a host
        whose clock is off, a duration still selects the host's last hour of log.
    type: str
    default: 1h
  until:
    description:
      - End of the log window, in the same forms as O(since). Default is now.
    type: str
  max_lines:
    description:
      - The most log lines kept per source and in total; the most recent lines are kept (C(logs.truncated) says when
        older ones were left out). Syslog files are read four times as deep, since only the IKE daemons' lines count.
      - At most 64 MB of one file's window are read. Raising it is safe for memory, since a window over 8 MB is streamed
        into the result (see the notes).
    type: int
    default: 20000
  log_files:
    description:
      - Extra log files to read besides the discovered ones (strongswan.conf C(filelog) paths, C(/var/log/charon.log),
        C(/var/log/pluto.log), the syslog files and journald).
    type: list
    elements: path
    default: []
  journal:
    description:
      - Ask journald (C(journalctl -o json)) for the IKE daemons' entries when the host runs it.
    type: bool
    default: true
  cert_parsing:
    description:
      - Where certificates are parsed. V(auto) parses on the host when C(cryptography) imports there and on the
        controller otherwise; V(controller) always ships the public certificates to the controller.
    type: str
    choices: [auto, controller]
    default: auto
  include_ruleset:
    description:
      - Return the firewall ruleset itself (C(firewall.ruleset)) besides the computed verdicts.
    type: bool
    default: true
  paths:
    description:
      - Locations of the daemons' files when they are not the distribution's defaults.
    type: dict
    default: {}
    suboptions:
      strongswan_conf:
        description: strongswan.conf; also exported as C(STRONGSWAN_CONF) to C(swanctl) when not the default.
        type: path
        default: /etc/strongswan.conf
      swanctl_dir:
        description: The swanctl directory (C(swanctl.conf), C(x509), C(x509ca), C(x509crl), C(private), ...).
        type: path
        default: /etc/swanctl
      ipsec_dir:
        description: The C(ipsec.d) directory (certs, cacerts, crls, private; older libreswan NSS databases).
        type: path
        default: /etc/ipsec.d
      ipsec_conf:
        description: ipsec.conf (libreswan, or strongSwan's starter).
        type: path
        default: /etc/ipsec.conf
      ipsec_secrets:
        description: ipsec.secrets; only its redacted form is returned.
        type: path
        default: /etc/ipsec.secrets
      nss_dir:
        description: libreswan's NSS database directory.
        type: path
        default: /var/lib/ipsec/nss
      chrony_conf:
        description: chrony's configuration file.
        type: path
        default: /etc/chrony/chrony.conf
notes:
  - Runs C(swanctl --pretty) (no VICI library needed), C(ipsec whack --status), C(certutil), C(chronyc -c),
    C(timedatectl), C(ntpq), C(nft -j list ruleset), C(iptables-save), C(firewall-cmd), C(ss), C(ip -j) and
    C(journalctl) when present. Reading the daemons' files and talking to their control sockets needs root
    (C(become=true)).
  - The firewall verdicts are computed for a new flow from an unknown peer (conntrack state C(new)), once over IPv4
    and once over IPv6 (C(firewall.families)); C(firewall.verdicts) is the family the tunnels use (IPv4 unless every
    IKE SA runs over IPv6, C(firewall.family)). Matches that depend on the peer's address or the input interface
    are listed under C(firewall.uncertain). With firewalld running, its zones (the ones bound to interfaces, else
    the default zone), services, ports, protocols and rich rules are evaluated, and the ruleset's other tables
    must admit the packet too.
  - A log window larger than 8 MB (C(max_lines) raised on a busy host) is streamed through a temporary file and
    written into the result without holding every event in memory; the default C(max_lines) keeps the last
    20000 lines of the window.
seealso:
  - module: ansible.builtin.setup
requirements:
  - Python 3.8 or newer on the host. C(cryptography) on the host or on the controller.
"""

EXAMPLES = r"""
- name: Gather everything about the IKE daemon of each host
  vpnops.ikev2.ike_facts:
  become: true

- name: Only the last 30 minutes of logs, no firewall ruleset body
  vpnops.ikev2.ike_facts:
    since: 30m
    max_lines: 5000
    include_ruleset: false
  become: true

- name: Everything but the logs, for a charon with its own strongswan.conf
  vpnops.ikev2.ike_facts:
    gather_subset: ['all', '!logs']
    paths:
      strongswan_conf: /opt/vpn/strongswan.conf
      swanctl_dir: /opt/vpn/swanctl

- name: Show the UDP 4500 verdict and the clock offset
  ansible.builtin.debug:
    msg: "{{ ansible_facts.ikev2.firewall.verdicts.udp4500 }} / {{ ansible_facts.ikev2.time.offset_s }}"
"""

RETURN = r"""
ansible_facts:
  description: The gathered facts.
  returned: always
  type: dict
  contains:
    ikev2:
      description:
        - The host's IKEv2 facts (schema 1), shared with the classifier; see C(docs/architecture.md).
        - Top-level keys C(schema), C(hostname), C(status) (V(ok), V(partial), V(no_daemon)), C(reason), C(daemon)
          and one dict per section.
      returned: always
      type: dict
      contains:
        schema:
          description: Version of the facts' shape.
          type: int
          returned: always
          sample: 1
        status:
          description: V(ok), V(partial) (a section is not ok), or V(no_daemon).
          type: str
          returned: always
          sample: ok
        daemon:
          description: C(name) (strongswan, libreswan, none), C(version), C(running), C(pid).
          type: dict
          returned: always
          sample: {name: strongswan, version: 5.9.8, running: true, pid: 812}
        logs:
          description: C(events) (the shared log-event shape), C(files) (per source C(path), C(status), C(bytes_read),
            C(truncated), C(rotated)), C(since), C(until).
          type: dict
          returned: always
        time:
          description:
            - C(host_utc); C(offset_s) (host minus controller, seconds; see the description for how it is measured and
              its error), C(offset_bounds_s) (C([low, high]), the true offset lies inside), C(rtt_s), C(measured_by),
              C(controller_utc); C(timezone).
            - C(ntp) - C(client) (V(chrony), V(timesyncd), V(ntpd), V(none); a running daemon decides when several
              are installed), C(running) (V(true) the daemon answered or its process runs, V(false) it does not
              answer and no such process runs or no client is installed, V(null) cannot tell), C(running_reason),
              C(synchronized), C(offset_s) (the client's own view), C(servers), C(sources); chrony adds
              C(tracking), timesyncd C(fallback_servers), C(timesync) or C(synchronized_from) (its flag file
              when timedated is not there), ntpd C(variables) (C(ntpq -c rv)).
          type: dict
          returned: always
        certs:
          description: C(certs) (subject, issuer, SANs, validity, key, EKU, key usage, CA flag, path length, CRL
            distribution points, fingerprint, C(has_private_key)), C(chains) (leaf, complete, path, missing, root),
            C(crls).
          type: dict
          returned: always
        conns:
          description: C(conns) (loaded and written connections with proposals, identities, traffic selectors) and
            C(files) (path to C(sha256) and redacted C(content)).
          type: dict
          returned: always
        sas:
          description: C(ike) (IKE SAs with their CHILD SAs, algorithms and counters) and C(conns_without_sa).
          type: dict
          returned: always
        firewall:
          description: C(provider), C(ruleset), C(verdicts) for C(udp500), C(udp4500), C(esp) (accept, drop, reject,
            unknown), C(why) (the chain and rule or policy that decided), C(uncertain), all for the address family in
            C(family); C(families) (C(ipv4) and C(ipv6), each with C(verdicts), C(why), C(uncertain)); C(firewalld)
            (C(zones), C(default_zone), C(zones_used), C(per_zone), C(services)) when firewalld runs.
          type: dict
          returned: always
        network:
          description: C(listening) sockets on 500/4500, C(interfaces) with MTU and addresses, C(nat_detected).
          type: dict
          returned: always
        resources:
          description: C(load), C(mem), the daemon's C(stats) (IKE SAs, half-open, queued jobs, workers) and C(limits).
          type: dict
          returned: always
"""

import os
import socket
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.vpnops.ikev2.plugins.module_utils.facts import certinfo, logsources, timefacts
from ansible_collections.vpnops.ikev2.plugins.module_utils.facts.gather import GatherError, Gatherer

PATH_OPTIONS = {
    'strongswan_conf': '/etc/strongswan.conf', 'swanctl_dir': '/etc/swanctl', 'ipsec_dir': '/etc/ipsec.d',
    'ipsec_conf': '/etc/ipsec.conf', 'ipsec_secrets': '/etc/ipsec.secrets', 'nss_dir': '/var/lib/ipsec/nss',
    'chrony_conf': '/etc/chrony/chrony.conf',
}
SUBSET_CHOICES = ['all', 'logs', 'time', 'certs', 'conns', 'sas', 'firewall', 'network', 'resources']


def argument_spec():
    return dict(
        gather_subset=dict(type='list', elements='str', default=['all'],
                           choices=SUBSET_CHOICES + ['!' + s for s in SUBSET_CHOICES[1:]]),
        since=dict(type='str', default='1h'),
        until=dict(type='str'),
        max_lines=dict(type='int', default=20000),
        log_files=dict(type='list', elements='path', default=[]),
        journal=dict(type='bool', default=True),
        cert_parsing=dict(type='str', choices=['auto', 'controller'], default='auto'),
        include_ruleset=dict(type='bool', default=True),
        paths=dict(type='dict', default={}, options=dict(
            (k, dict(type='path', default=v)) for k, v in PATH_OPTIONS.items())),
    )


def _process_start():
    """Wall-clock time this interpreter process started (Linux /proc, 10 ms resolution), or None.

    The clock measurement wants the host's time when the command arrived, which is before the
    interpreter and the module's imports started; the process' age gives it.
    """
    try:
        with open('/proc/self/stat') as fh:
            stat = fh.read()
        with open('/proc/uptime') as fh:
            uptime = float(fh.read().split()[0])
        now = time.time()
        ticks = float(os.sysconf('SC_CLK_TCK'))
        start_ticks = float(stat.rsplit(')', 1)[1].split()[19])
        age = uptime - start_ticks / ticks
        if 0 <= age < 3600:
            return now - age
    except (OSError, ValueError, IndexError):
        pass
    return None


def main():
    host_start = time.time()
    mono_start = time.monotonic()
    proc_start = _process_start()
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    # the host's last clock reading, taken as the result is written; then a quick exit (timefacts)
    timefacts.stamp_result_end(module)
    params = dict(module.params)
    if params['max_lines'] < 1:
        module.fail_json(msg='max_lines must be at least 1, got %d' % params['max_lines'])
    if params['cert_parsing'] == 'controller':
        certinfo.HAS_CRYPTOGRAPHY = False
    try:
        facts = Gatherer(params).run()
    except GatherError as exc:
        module.fail_json(msg='ike_facts on %s: %s' % (socket.gethostname(), exc))
    if not params['include_ruleset'] and isinstance(facts.get('firewall'), dict):
        facts['firewall']['ruleset'] = None
    elapsed = time.monotonic() - mono_start
    if proc_start is not None and proc_start <= host_start:
        timing = {'host_start': proc_start, 'elapsed': elapsed + (host_start - proc_start), 'from': 'process start'}
    else:
        timing = {'host_start': host_start, 'elapsed': elapsed, 'from': 'module start'}
    # big log windows come as spooled events, streamed into the result (logsources.exit_json)
    logsources.exit_json(module, changed=False, ansible_facts={'ikev2': facts}, ike_facts_timing=timing)


if __name__ == '__main__':
    main()
