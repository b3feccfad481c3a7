#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation stub: vpnops.ikev2.report runs on the controller (plugins/action/report.py)."""

from __future__ import annotations

DOCUMENTATION = r'''
---
module: report
short_description: Write the IKEv2 diagnose report (JSON, Markdown, HTML) on the controller
version_added: 0.1.0
description:
  - Writes the result of M(vpnops.ikev2.classify) into the folder O(dest) on the controller, as
    C(report.json) (exactly the classification's JSON contract, C(schema), C(findings) and C(hosts)),
    C(report.md) (the same Markdown that C(ikev2-triage classify --format md) prints) and
    C(report.html).
  - C(report.html) is one self-contained page, readable offline and without JavaScript (inline CSS, no
    script, no external asset, a Content-Security-Policy that forbids both) with a fleet overview (per
    host its status, daemon, measured clock offset, tunnels up, IKE SA only and down), the findings
    ranked with their evidence lines, and a per-tunnel timeline of the IKE exchanges
    (IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL requests and responses, sent and received, at
    both ends) with every host's log times corrected by its measured clock offset.
  - The fleet overview and the timelines come from the C(ansible_facts.ikev2) of the hosts (gathered by
    M(vpnops.ikev2.ike_facts)); the findings come from O(classification) only.
  - Everything taken from the hosts is HTML-escaped. The facts are already redacted by
    M(vpnops.ikev2.ike_facts); this module adds no host data beyond log events, SA counts and
    daemon names.
  - Returns a one-line-per-finding summary for the console.
author:
  - vpnops maintainers (@vpnops)
options:
  classification:
    description:
      - The registered result of M(vpnops.ikev2.classify) (or any mapping with C(schema), C(findings) and
        C(hosts) in its JSON contract). Other keys, such as C(changed), are left out of C(report.json).
    type: dict
    required: true
  dest:
    description:
      - Folder on the controller the report files are written into; created when missing.
      - A relative path is taken from the controller's current directory.
    type: path
    required: true
  hosts:
    description:
      - Hosts whose facts feed the fleet overview and the timelines.
      - Defaults to the hosts named in O(classification).
    type: list
    elements: str
  formats:
    description:
      - Which files to write.
    type: list
    elements: str
    choices: [html, json, md]
    default: [json, md, html]
  title:
    description:
      - Title of the HTML page.
    type: str
    default: IKEv2 diagnosis
  timeline_max:
    description:
      - The most IKE messages shown per tunnel in the HTML timeline (the most recent are kept); C(0) shows all.
    type: int
    default: 80
attributes:
  check_mode:
    support: full
    description: Only the report files on the controller are written, never anything on a managed host, so
      the module runs the same in check mode.
  diff_mode:
    support: none
    description: The report is output, not configuration; no diff is returned.
  action:
    support: full
    description: Runs on the controller as an action plugin.
  run_once:
    support: full
    description: Writes one report for all hosts; use the task with C(run_once=true).
notes:
  - Controller-side only; nothing is executed on the managed hosts.
  - Files are replaced atomically and only when their content changes; C(changed) says whether any did.
seealso:
  - module: vpnops.ikev2.classify
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

- name: Write report.json, report.md and report.html
  vpnops.ikev2.report:
    classification: "{{ triage }}"
    dest: "{{ playbook_dir }}/../reports/latest"
  run_once: true
  register: report

- name: Print the ranked findings
  ansible.builtin.debug:
    msg: "{{ report.summary }}"
  run_once: true
'''

RETURN = r'''
dest:
  description: Absolute path of the report folder.
  returned: success
  type: str
  sample: /srv/vpnops/reports/latest
files:
  description: Path of each file written, by format.
  returned: success
  type: dict
  sample: {json: /srv/vpnops/reports/latest/report.json, md: /srv/vpnops/reports/latest/report.md,
           html: /srv/vpnops/reports/latest/report.html}
summary:
  description:
    - "One line per finding in rank order: C(rank. category hosts: summary); then one line per host whose
      status is not C(ok). C(no fault found) when there is no finding."
  returned: success
  type: list
  elements: str
  sample: ["1. clock_skew  cl1: cl1's clock reads 2026-11-25T23:50:01Z, before ...", "host gw9: unreachable"]
findings:
  description: Number of findings in the report.
  returned: success
  type: int
  sample: 2
'''
