#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation stub: vpnops.ikev2.remediation_plan runs on the controller (plugins/action/remediation_plan.py)."""

from __future__ import annotations

DOCUMENTATION = r'''
---
module: remediation_plan
short_description: Validate remediation input and decide which findings are fixed automatically
version_added: 0.1.0
description:
  - Runs on the controller and touches no host. Validates the approval policy of every host in O(hosts)
    (the inventory variable named by O(policy_var), a list of finding categories), the finding ids
    approved in O(approve), and the diagnosis report (O(report_path) or O(report)) against the classify
    contract. Any problem fails the task with a message naming the host, category, id or file.
  - With a report, splits its findings into items that are applied and items that are only planned.
    A finding is applied when its category is in the approval policy of the host it is attributed to
    (the first of its C(hosts)) or its id is in O(approve), its rule marks it C(auto_remediable), its
    fix role exists in the collection, and its host is one of O(hosts).
  - Finding ids are the finding's C(id) when the report has one, else C(RULE@HOST), with C(#2), C(#3)
    appended to repeats in rank order.
  - Used by C(playbooks/remediate.yml).
author:
  - vpnops maintainers (@vpnops)
options:
  hosts:
    description:
      - Hosts that may be changed, and whose approval policy is validated.
      - Defaults to C(ansible_play_hosts_all).
    type: list
    elements: str
  report:
    description:
      - The diagnosis as returned by M(vpnops.ikev2.classify) (C(schema), C(findings), C(hosts)).
    type: raw
  report_path:
    description:
      - A C(report.json) file, or a directory holding one, as written by C(playbooks/diagnose.yml).
      - A missing, empty or malformed file fails the task. Takes precedence over O(report).
    type: path
  approve:
    description:
      - Finding ids approved for this run in addition to the policy; a list or a comma-separated string.
      - An id that is not in the report fails the task.
    type: raw
  policy_var:
    description:
      - The host variable holding the approval policy.
    type: str
    default: ikev2_auto_remediate
  roles:
    description:
      - Short names of the fix roles available. Defaults to the roles of this collection that have tasks.
    type: list
    elements: str
  golden:
    description:
      - A golden configuration (C(ikev2_golden)) to validate, as used by C(playbooks/enforce.yml). Any
        problem fails the task with a message naming the key.
      - Its keys are C(ike_proposals) and C(esp_proposals) (given together; known strongSwan algorithm
        keywords, none of them in O(deny)), C(ca_subjects) (distinguished names), C(firewall_openings) (a list of C(udp500),
        C(udp4500), C(esp), or a mapping of inventory group to such a list; the groups must exist),
        C(ntp_servers) (host names or IP addresses), C(ntp_server_options) (one line of server options)
        and C(connections) (a mapping or list, checked by the P(vpnops.ikev2.connections#role) role).
        Any other key is an error.
    type: raw
  deny:
    description:
      - Algorithm keywords a golden proposal must not use.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    description: Nothing is changed; it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
  action:
    support: full
    description: Runs on the controller as an action plugin.
notes:
  - Controller-side only; nothing is executed on the managed hosts.
seealso:
  - module: vpnops.ikev2.classify
  - module: vpnops.ikev2.audit
'''

EXAMPLES = r'''
- name: Validate the policy and the approvals before any host is touched
  vpnops.ikev2.remediation_plan:
    approve: "{{ ikev2_approve | default([]) }}"
  run_once: true
  delegate_to: localhost

- name: Decide what to fix from a saved diagnosis
  vpnops.ikev2.remediation_plan:
    report_path: reports/latest/report.json
    approve: [HOST-CHAIN-001@gw1]
  run_once: true
  delegate_to: localhost
  register: plan
'''

RETURN = r'''
policies:
  description: The validated approval policy per host.
  returned: always
  type: dict
  sample: {gw1: [cert_chain_incomplete, clock_skew], cl1: []}
approve:
  description: The validated approved finding ids.
  returned: always
  type: list
  elements: str
golden:
  description: The validated golden configuration, or null when none was given.
  returned: always
  type: dict
available_roles:
  description: Short names of the roles of this collection that have tasks.
  returned: always
  type: list
  elements: str
  sample: [ca_chain, firewall, proposals, time_sync]
report:
  description: The validated report, or null when none was given.
  returned: always
  type: dict
items:
  description: One item per finding, in rank order.
  returned: when a report was given
  type: list
  elements: dict
  contains:
    id:
      description: The finding id.
      type: str
      sample: HOST-CHAIN-001@gw1
    host:
      description: The host the fix applies to (the faulty host).
      type: str
    role:
      description: The fix role (FQCN), or null.
      type: str
    vars:
      description: The remediation variables of the finding.
      type: dict
    apply:
      description: Whether the fix is applied in this run.
      type: bool
    approved_by:
      description: The policy or the command line, or null.
      type: str
    reason:
      description: Why the fix is not applied (null when it is).
      type: str
    change:
      description: The change the role makes, in one sentence.
      type: str
    finding:
      description: The finding itself, with its id.
      type: dict
apply_hosts:
  description: Hosts with at least one applied item, in rank order of their first item (the first is the canary).
  returned: when a report was given
  type: list
  elements: str
plan_hosts:
  description: Other hosts with planned items that have a fix role.
  returned: when a report was given
  type: list
  elements: str
ids:
  description: The ids of all findings of the report, in rank order.
  returned: when a report was given
  type: list
  elements: str
'''
