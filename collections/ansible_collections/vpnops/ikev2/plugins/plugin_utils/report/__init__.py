# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The diagnose report (controller side, importable without Ansible).

``build_report`` turns the classification (the issue 4 JSON contract) and the hosts' gathered
``ikev2`` facts into the files an operator reads: ``report.json`` (the contract, unchanged),
``report.md`` (the triage Markdown renderer, reused) and ``report.html`` (one self-contained page:
fleet overview, findings with evidence, a per-tunnel timeline of the IKE exchanges).
"""

from __future__ import annotations

from ansible_collections.vpnops.ikev2.plugins.plugin_utils.report.build import (  # noqa: F401
    CONTRACT_KEYS,
    build_report,
    contract,
    summary_lines,
)
