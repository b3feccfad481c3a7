#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation stub: vpnops.ikev2.classify runs on the controller (plugins/action/classify.py)."""

from __future__ import annotations

DOCUMENTATION = r'''
---
module: classify
short_description: Classify IKEv2 failures across all hosts' gathered facts
version_added: 0.1.0
description:
  - Runs once on the controller over the C(ansible_facts.ikev2) of every host named in O(hosts)
    (gathered by M(vpnops.ikev2.ike_facts)), applies the collection's rule set, correlates the two
    ends of each tunnel (addresses and ports through NAT, identities, time windows corrected by each
    host's measured clock offset) and returns findings, root causes first.
  - Each finding has one of the fixed categories C(proposal_mismatch), C(psk_mismatch), C(cert_expired),
    C(clock_skew), C(cert_chain_incomplete), C(cert_identity_mismatch), C(cert_usage), C(cert_revoked),
    C(cert_missing), C(eap_failure), C(ts_mismatch), C(udp4500_blocked), C(esp_blocked),
    C(no_matching_connection), C(resource_limit), C(fragmentation), C(peer_unreachable), C(invalid_spi),
    C(unknown).
  - The same engine backs the C(ikev2-triage) command.
author:
  - vpnops maintainers (@vpnops)
options:
  hosts:
    description:
      - Inventory hosts whose facts are classified.
      - Defaults to C(ansible_play_hosts_all).
      - Hosts without C(ansible_facts.ikev2) are reported with status C(missing).
    type: list
    elements: str
  unreachable:
    description:
      - Hosts that could not be reached; they are reported with status C(unreachable) and their absence
        is taken into account (their peers' symptoms stay unexplained rather than guessed).
      - Typically C(ansible_play_hosts_all | difference(ansible_play_hosts)).
      - Without this option, a host that has no facts and is no longer in C(ansible_play_hosts) is reported
        C(unreachable) as well.
    type: list
    elements: str
    default: []
  facts:
    description:
      - Facts to classify instead of reading them from hostvars, as a mapping of host name to the
        C(ikev2) facts dict. Useful for facts saved earlier.
    type: dict
  rules:
    description:
      - Rule files or directories to use instead of the collection's own rule set.
    type: list
    elements: path
  fail_on_findings:
    description:
      - Fail the task when at least one finding is returned.
    type: bool
    default: false
  acknowledged:
    description:
      - Findings an operator has accepted, each with C(rule) (a rule id) or C(category), the
        C(host) it applies to, and a C(reason).
      - A finding whose every host is covered leaves RV(findings) for RV(acknowledged), keeping
        its evidence and gaining the reason.
      - Defaults to each host's C(ikev2_acknowledged) inventory variable (a list of such entries;
        C(host) may be left out there); with O(facts), to none.
    type: list
    elements: dict
attributes:
  check_mode:
    support: full
    description: The classification only reads facts; it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
  action:
    support: full
    description: Runs on the controller as an action plugin.
  run_once:
    support: full
    description: Classifies all hosts at once; use the task with C(run_once=true).
notes:
  - Controller-side only; nothing is executed on the managed hosts.
  - A rule file that does not validate against C(rules/schema.json) fails the task with a message naming
    the file, the rule id and the field.
seealso:
  - module: vpnops.ikev2.ike_facts
'''

EXAMPLES = r'''
- name: Gather IKEv2 evidence from every host
  vpnops.ikev2.ike_facts:

- name: Classify all hosts at once
  vpnops.ikev2.classify:
    unreachable: "{{ ansible_play_hosts_all | difference(ansible_play_hosts) }}"
  run_once: true
  register: triage

- name: Show the root cause
  ansible.builtin.debug:
    msg: "{{ triage.findings[0].category }} on {{ triage.findings[0].hosts | join(', ') }}: {{ triage.findings[0].summary }}"
  run_once: true
  when: triage.findings | length > 0

- name: Classify saved facts of two hosts
  vpnops.ikev2.classify:
    facts:
      gw1: "{{ lookup('ansible.builtin.file', 'gw1.json') | from_json }}"
      cl1: "{{ lookup('ansible.builtin.file', 'cl1.json') | from_json }}"
  run_once: true
'''

RETURN = r'''
schema:
  description: Version of the report contract.
  returned: always
  type: int
  sample: 1
findings:
  description: Findings ordered by rank, root cause first.
  returned: always
  type: list
  elements: dict
  contains:
    rank:
      description: 1 for the most likely root cause.
      type: int
    category:
      description: One of the fixed categories.
      type: str
      sample: clock_skew
    rule:
      description: Id of the rule that produced the finding.
      type: str
      sample: IKE-CERT-001
    confidence:
      description: Between 0.0 and 1.0.
      type: float
    hosts:
      description: Hosts (or peer addresses outside the inventory) the finding is attributed to, faulty host first.
      type: list
      elements: str
    phase:
      description: IKE_SA_INIT, IKE_AUTH, CHILD_SA, INFORMATIONAL or transport.
      type: str
    summary:
      description: Explanation naming the concrete values (proposals, certificate, clock offset).
      type: str
    evidence:
      description: Log lines or fact values supporting the finding (secrets redacted).
      type: list
      elements: dict
      contains:
        host:
          description: Host the evidence comes from.
          type: str
        source:
          description: Log format (charon-file, syslog, journald, pluto, windows) or C(facts).
          type: str
        line:
          description: The line or fact.
          type: str
    remediation:
      description: The fix role and whether it can be applied automatically.
      type: dict
      contains:
        role:
          description: Role of this collection that fixes it (empty when none).
          type: str
        auto_remediable:
          description: Whether vpnops.ikev2 may apply the fix without a human.
          type: bool
        vars:
          description: Variables for the fix role (for example C(firewall_ports), C(ca_chain_missing)).
          type: dict
  sample:
    - rank: 1
      category: clock_skew
      rule: IKE-CERT-001
      confidence: 0.9
      hosts: [cl1]
      phase: IKE_AUTH
      summary: "cl1's clock reads 2026-11-25T22:54:01Z, before the certificate's validity starts ..."
      evidence: [{host: cl1, source: charon-file, line: "... subject certificate invalid (valid from ...)"}]
      remediation: {role: time_sync, auto_remediable: true, vars: {}}
acknowledged:
  description:
    - Findings covered by O(acknowledged), in the same shape as RV(findings) without C(rank), plus
      C(acknowledged), the reason given.
  returned: always
  type: list
  elements: dict
  sample:
    - {category: resource_limit, rule: IKE-RES-004, hosts: [gw3], acknowledged: "test kernel without XFRM"}
resolved:
  description:
    - Historic failures, not faults now. A log finding whose every failing tunnel the same host's
      log shows re-established later (a CHILD_SA of the same peer established), and, when the
      host's SAs were gathered, with a CHILD_SA of that peer installed now.
    - Same shape as RV(findings), ranked after all of them, plus C(status) (C(resolved)),
      C(last_failure) and C(recovered) (timestamps on the host's own clock); the summary starts
      with "Resolved:" and the evidence ends with the re-establishment lines.
    - A finding with evidence from host facts (clock offset, chain, firewall verdicts) is never
      resolved.
  returned: when there is any
  type: list
  elements: dict
  sample:
    - rank: 2
      category: proposal_mismatch
      rule: IKE-PROP-002
      hosts: [gw2, cl3]
      status: resolved
      last_failure: "2026-12-05T14:40:02Z"
      recovered: "2026-12-05T14:40:31Z"
      summary: "Resolved: last failed at 2026-12-05T14:40:02Z, re-established at 2026-12-05T14:40:31Z ..."
hosts:
  description: Per host, C(status) (ok, partial, no_daemon, missing, unreachable) and C(reason).
  returned: always
  type: dict
  sample: {gw1: {status: ok, reason: null}, cl2: {status: unreachable, reason: "host unreachable"}}
'''
