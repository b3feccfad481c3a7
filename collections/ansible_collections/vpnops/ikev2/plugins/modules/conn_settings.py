#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: conn_settings
short_description: Set normalized IKE connection settings in swanctl.conf or libreswan's ipsec.conf
version_added: 0.2.0
description:
  - Reads a strongSwan C(swanctl.conf) (C(connections { NAME { ... children { CHILD { ... } } } })) or a libreswan
    C(ipsec.conf) (C(conn NAME) sections) and sets normalized settings on the named connections, or on all of them.
  - The settings map to each daemon's own keys. strongSwan - O(settings.ike_proposals) to C(proposals),
    O(settings.esp_proposals) to each CHILD's C(esp_proposals), O(settings.rekey_time), O(settings.dpd_delay),
    O(settings.fragmentation) to the connection's keys of the same name, O(settings.life_time) to C(over_time)
    (strongSwan's IKE life time is C(rekey_time) + C(over_time)), O(settings.child_rekey_time) and
    O(settings.child_life_time) to each CHILD's C(rekey_time) and C(life_time), O(settings.local_ts) and
    O(settings.remote_ts) to each CHILD's C(local_ts) and C(remote_ts).
  - libreswan - C(ike=) and C(esp=) (the strongSwan proposal names are translated, for example
    C(aes256gcm16-prfsha384-ecp384) to C(aes_gcm256-sha2_384;dh20)), C(ikelifetime) (rekey_time),
    C(salifetime) (child_rekey_time), C(dpddelay), C(fragmentation), C(leftsubnet) and C(rightsubnet) (C(left) is
    taken as the local end). life_time and child_life_time have no libreswan key and are listed in RV(unsupported).
  - Minimal edits - only the lines of settings that differ are rewritten (keeping their indentation and trailing
    comment), a missing setting is inserted after the section's last setting; comments, C(include) lines and all other
    sections are left byte for byte. A missing setting whose daemon default equals the requested value is not drift.
  - Durations compare by value (V(1h) equals V(60m) and V(3600)), traffic selectors as sets, proposals in order.
  - The file is written atomically (a temporary file in the same directory, renamed), with its mode and owner kept.
  - Secret values (C(secret = ...)) are redacted in the diff.
author:
  - vpnops maintainers (@vpnops)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
options:
  path:
    description: The configuration file.
    type: path
    required: true
  daemon:
    description: The file's syntax; V(auto) tells them apart by content (C(conn NAME) lines are libreswan's).
    type: str
    choices: [auto, strongswan, libreswan]
    default: auto
  connections:
    description:
      - Names of the connections O(settings) apply to; empty means every connection of the file.
      - A named connection that the file does not have is an error naming it (see O(missing)).
    type: list
    elements: str
    default: []
  settings:
    description: Normalized settings for every chosen connection (and each of its CHILD sections). Unset means unchanged.
    type: dict
    default: {}
    suboptions:
      ike_proposals:
        description: IKE proposals in strongSwan notation, strongest first.
        type: list
        elements: str
      esp_proposals:
        description: ESP proposals in strongSwan notation, strongest first.
        type: list
        elements: str
      rekey_time:
        description: IKE_SA rekey time (V(4h), V(240m), seconds).
        type: str
      life_time:
        description: IKE_SA hard life time (strongSwan only, through C(over_time)); longer than the rekey time.
        type: str
      child_rekey_time:
        description: CHILD_SA rekey time.
        type: str
      child_life_time:
        description: CHILD_SA hard life time (strongSwan only).
        type: str
      dpd_delay:
        description: Interval of dead peer detection (liveness) checks; V(0s) disables them.
        type: str
      fragmentation:
        description: IKE fragmentation.
        type: str
        choices: ['yes', 'no', accept, force]
      local_ts:
        description: Local traffic selectors (subnets).
        type: list
        elements: str
      remote_ts:
        description: Remote traffic selectors (subnets).
        type: list
        elements: str
  traffic_selectors:
    description:
      - Per-connection traffic selectors - a mapping of connection name to a mapping with C(local_ts) and/or
        C(remote_ts) lists - set on every CHILD of that connection. They override O(settings.local_ts) and
        O(settings.remote_ts) for that connection.
    type: dict
    default: {}
  missing:
    description:
      - What to do about a connection named in O(connections) or O(traffic_selectors) that the file does not have.
      - V(fail) stops with an error that names it; V(ignore) lists it in RV(missing) (for a golden configuration
        that covers many hosts).
    type: str
    choices: [fail, ignore]
    default: fail
  backup_dir:
    description:
      - Directory (created with mode 0700) where the file is copied, with its mode and owner, before it is changed.
    type: path
"""

EXAMPLES = r"""
- name: Align the traffic selectors of one connection
  vpnops.ikev2.conn_settings:
    path: /etc/swanctl/swanctl.conf
    traffic_selectors:
      gw2: {remote_ts: [10.2.0.0/24]}
    backup_dir: /var/backups/vpnops-ikev2/connections

- name: Report drift from the golden lifetimes and DPD (check mode changes nothing)
  vpnops.ikev2.conn_settings:
    path: /etc/ipsec.d/rw.conf
    settings: {rekey_time: 4h, child_rekey_time: 1h, dpd_delay: 30s, fragmentation: 'yes'}
  check_mode: true
  register: drift
"""

RETURN = r"""
drift:
  description:
    - What differed from the requested values (and was changed, or would be in check mode); empty when the file
      already matches.
  returned: always
  type: list
  elements: dict
  contains:
    connection:
      description: The connection.
      type: str
    child:
      description: The CHILD section, or null for a connection-level setting.
      type: str
    where:
      description: C(conn) or C(conn/child).
      type: str
    key:
      description: The normalized setting.
      type: str
    have:
      description: The value in the file; C(unset, default X) when the file does not set it.
      type: str
    want:
      description: The requested value, in the daemon's own notation.
      type: str
  sample: [{connection: gw2, child: gw2-net, where: gw2/gw2-net, key: remote_ts, have: 10.99.0.0/24, want: 10.2.0.0/24}]
connections:
  description: The connections the settings were compared with.
  returned: always
  type: list
  elements: str
missing:
  description: Connections named in O(connections) or O(traffic_selectors) that the file does not have (O(missing=ignore)).
  returned: always
  type: list
  elements: str
unsupported:
  description: Requested settings that the daemon's file cannot express (libreswan - life_time, child_life_time); left alone.
  returned: always
  type: list
  elements: str
daemon:
  description: The syntax the file was read with.
  returned: always
  type: str
  sample: strongswan
changes:
  description: The lines removed (C(-)) and added (C(+)), without context, secrets redacted (for audit records).
  returned: always
  type: list
  elements: str
  sample: ['-\t\t\t\tremote_ts = 10.99.0.0/24', '+\t\t\t\tremote_ts = 10.2.0.0/24']
backup_file:
  description: The copy made before the change, or null when nothing was written.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vpnops.ikev2.plugins.module_utils.conf.conf_text import ConfError
from ansible_collections.vpnops.ikev2.plugins.module_utils.conf.conn_settings import SettingsError, edit_file

_SETTING_SPEC = dict(
    ike_proposals=dict(type='list', elements='str'),
    esp_proposals=dict(type='list', elements='str'),
    rekey_time=dict(type='str', no_log=False),
    life_time=dict(type='str'),
    child_rekey_time=dict(type='str', no_log=False),
    child_life_time=dict(type='str'),
    dpd_delay=dict(type='str'),
    fragmentation=dict(type='str', choices=['yes', 'no', 'accept', 'force']),
    local_ts=dict(type='list', elements='str'),
    remote_ts=dict(type='list', elements='str'),
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            daemon=dict(type='str', default='auto', choices=['auto', 'strongswan', 'libreswan']),
            connections=dict(type='list', elements='str', default=[]),
            settings=dict(type='dict', default={}, options=_SETTING_SPEC),
            traffic_selectors=dict(type='dict', default={}),
            missing=dict(type='str', default='fail', choices=['fail', 'ignore']),
            backup_dir=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        result = edit_file(p['path'], p['settings'] or {}, p['traffic_selectors'] or {}, p['connections'],
                           p['missing'], p['daemon'], module.check_mode, p['backup_dir'])
    except (ConfError, SettingsError) as e:
        module.fail_json(msg=str(e), path=p['path'])
    diff = result.pop('diff')
    if module._diff and result['changed']:
        result['diff'] = diff
    module.exit_json(**result)


if __name__ == '__main__':
    main()
