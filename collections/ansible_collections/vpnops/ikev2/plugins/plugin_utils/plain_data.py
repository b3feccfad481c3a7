# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Templated task arguments as plain Python data, for controller-side plugins that store them.

    >>> plain({'a': ('x', 1)})
    {'a': ['x', 1]}
"""

from __future__ import annotations


def plain(value):
    """Templated values (AnsibleUnsafeText, lazy containers) as plain Python data."""
    if isinstance(value, dict) or hasattr(value, 'items'):
        return dict((str(k), plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value
