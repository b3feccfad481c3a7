# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for strongswan.conf-format files: which charon limits to raise, and the text with a setting changed.

The logic lives in plugins/plugin_utils/charon_settings.py; each filter's documentation is in the YAML
file of the same name next to this one.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.vpnops.ikev2.plugins.plugin_utils import charon_settings as cs


def charon_limits_plan(files, targets):
    """{path: text}, {limit: target} -> {raise, current, errors}."""
    if not isinstance(files, dict) or not isinstance(targets, dict):
        raise AnsibleFilterError('charon_limits_plan expects a mapping of path to text and a mapping of limit to target')
    return cs.plan_limits(files, targets)


def charon_set_setting(text, name, value):
    """The text with every line that sets the dotted name set to value."""
    return cs.set_setting(text, name, value)


class FilterModule:
    """strongswan.conf filters."""

    def filters(self):
        return {'charon_limits_plan': charon_limits_plan, 'charon_set_setting': charon_set_setting}
