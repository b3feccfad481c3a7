# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Classification engine (controller side, importable without Ansible).

>>> from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage import classify, HostInput
"""

from __future__ import annotations

from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.engine import (  # noqa: F401
    HostInput,
    classify,
    default_prefilter,
    default_ruleset,
)
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.rules import (  # noqa: F401
    CATEGORIES,
    RuleError,
    load_rules,
)
