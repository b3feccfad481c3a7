#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation stub: vpnops.ikev2.reachable runs on the controller (plugins/action/reachable.py)."""

from __future__ import annotations

DOCUMENTATION = r'''
---
module: reachable
short_description: Check from the controller that a new SSH session to the host still works
version_added: 0.1.0
description:
  - Opens a B(new) SSH connection from the controller to the host with paramiko, runs O(command)
    (default C(true)) and closes it. Nothing goes over Ansible's own connection, which is
    multiplexed (ControlMaster) and survives a firewall rule that drops new connections.
  - Meant as the post-check after a firewall change (see the C(vpnops.ikev2.firewall) role), where a
    failure triggers the automatic revert.
  - Connection details default to the host's inventory variables (C(ansible_host), C(ansible_port),
    C(ansible_user), C(ansible_ssh_private_key_file), and the C(UserKnownHostsFile) named in
    C(ansible_ssh_common_args) or C(ansible_ssh_extra_args)).
author:
  - vpnops maintainers (@vpnops)
options:
  host:
    description: Address to connect to. Default is the host's C(ansible_host).
    type: str
  port:
    description: SSH port. Default is C(ansible_port), else 22.
    type: int
  user:
    description: Login user. Default is C(ansible_user), else C(root).
    type: str
  private_key_file:
    description: Private key to authenticate with. Default is C(ansible_ssh_private_key_file).
    type: path
  known_hosts_file:
    description:
      - known_hosts file with the host's key. Default is the C(UserKnownHostsFile) in the host's ssh
        arguments, else the user's known_hosts.
    type: path
  host_key_checking:
    description: Refuse hosts whose key is not in the known_hosts file.
    type: bool
    default: true
  command:
    description: Command run in the new session; it must exit 0.
    type: str
    default: 'true'
  timeout:
    description: Seconds for the TCP connect, the SSH banner, authentication and the command each.
    type: float
    default: 10.0
  retries:
    description: Attempts before the host is declared unreachable.
    type: int
    default: 2
  delay:
    description: Seconds between attempts.
    type: float
    default: 2.0
  fail_on_unreachable:
    description: Fail the task when no session could be opened; otherwise return RV(reachable=false).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Only reads; it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing is changed.
  action:
    support: full
    description: Runs on the controller as an action plugin.
notes:
  - Requires C(paramiko) on the controller.
seealso:
  - module: vpnops.ikev2.ike_facts
'''

EXAMPLES = r'''
- name: Confirm a fresh SSH login still works after the firewall reload
  vpnops.ikev2.reachable:
    timeout: 5
  register: reach

- name: Check without failing
  vpnops.ikev2.reachable:
    fail_on_unreachable: false
  register: reach

- name: Show the reason
  ansible.builtin.debug:
    msg: "{{ reach.error }}"
  when: not reach.reachable
'''

RETURN = r'''
reachable:
  description: Whether a new session was opened and O(command) exited 0.
  returned: always
  type: bool
host:
  description: Address connected to.
  returned: always
  type: str
port:
  description: Port connected to.
  returned: always
  type: int
user:
  description: Login user.
  returned: always
  type: str
command_rc:
  description: Exit status of O(command), or null when no session was opened.
  returned: always
  type: int
error:
  description: Why the check failed, or null.
  returned: always
  type: str
elapsed_s:
  description: Seconds the last attempt took.
  returned: always
  type: float
attempts:
  description: Attempts made.
  returned: always
  type: int
known_hosts_file:
  description: known_hosts file used (null for the user's default).
  returned: always
  type: str
'''
