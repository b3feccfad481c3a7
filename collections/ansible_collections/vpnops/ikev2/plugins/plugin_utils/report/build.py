# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report's files and its console summary, from the classification and the hosts' facts."""

from __future__ import annotations

from ansible_collections.vpnops.ikev2.plugins.plugin_utils.report.html_page import to_html
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.triage.report import to_json, to_markdown

CONTRACT_KEYS = ('schema', 'findings', 'hosts')
OPTIONAL_KEYS = ('acknowledged',      # findings an operator accepted (vpnops.ikev2.classify)
                 'resolved')          # failures whose tunnel has been re-established since
FORMATS = {'json': 'report.json', 'md': 'report.md', 'html': 'report.html'}


def contract(result):
    """The classification's JSON contract out of a registered ``vpnops.ikev2.classify`` result.

    Ansible adds ``changed``, ``failed`` and the like to a registered result; the report keeps
    exactly ``schema``, ``findings`` and ``hosts``, and ``acknowledged`` and ``resolved`` when there
    are any.

    >>> contract({'changed': False, 'schema': 1, 'findings': [], 'hosts': {}})
    {'schema': 1, 'findings': [], 'hosts': {}}
    """
    if not isinstance(result, dict):
        raise ValueError('the classification is not a mapping (register the vpnops.ikev2.classify task)')
    missing = [k for k in CONTRACT_KEYS if k not in result]
    if missing:
        raise ValueError('the classification lacks %s (register the vpnops.ikev2.classify task)' % ', '.join(missing))
    if not isinstance(result['findings'], list) or not isinstance(result['hosts'], dict):
        raise ValueError('the classification has findings that are not a list or hosts that are not a mapping')
    out = dict((k, result[k]) for k in CONTRACT_KEYS)
    for key in OPTIONAL_KEYS:
        if result.get(key):
            out[key] = result[key]
    return out


def _oneline(text, width):
    text = ' '.join(str(text).split())
    return text if len(text) <= width else text[:width - 3] + '...'


def summary_lines(report, width=160):
    """One line per finding, ranked: ``rank. category host(s): summary``; then unusual hosts.

    >>> summary_lines({'findings': [{'rank': 1, 'category': 'clock_skew', 'hosts': ['cl1'],
    ...                              'summary': 'cl1 is a day behind'}], 'hosts': {'cl1': {'status': 'ok'}}})
    ['1. clock_skew cl1: cl1 is a day behind']
    >>> summary_lines({'findings': [], 'hosts': {'gw9': {'status': 'unreachable', 'reason': 'timeout'}}})
    ['no fault found', 'host gw9: unreachable (timeout)']
    """
    lines = []
    findings = report.get('findings') or []
    if not findings:
        lines.append('no fault found')
    for f in findings:
        hosts = ', '.join(f.get('hosts') or ()) or '?'
        lines.append(_oneline('%s. %s %s: %s' % (f.get('rank'), f.get('category'), hosts, f.get('summary') or ''), width))
    for f in report.get('resolved') or ():
        hosts = ', '.join(f.get('hosts') or ()) or '?'
        lines.append(_oneline('resolved: %s %s: last failed %s, re-established %s' % (
            f.get('category'), hosts, f.get('last_failure'), f.get('recovered')), width))
    states = report.get('hosts') or {}
    for name in sorted(states):
        h = states[name] if isinstance(states[name], dict) else {}
        if h.get('status') not in ('ok', None):
            reason = (' (%s)' % h['reason']) if h.get('reason') else ''
            lines.append(_oneline('host %s: %s%s' % (name, h.get('status'), reason), width))
    return lines


def build_report(result, facts_by_host=None, formats=('json', 'md', 'html'), title=None, generated=None,
                 timeline_max=80):
    """The report files' contents: {file name: text} for the requested formats."""
    report = contract(result)
    out = {}
    for fmt in formats:
        if fmt == 'json':
            out[FORMATS[fmt]] = to_json(report) + '\n'
        elif fmt == 'md':
            out[FORMATS[fmt]] = to_markdown(report) + '\n'
        elif fmt == 'html':
            out[FORMATS[fmt]] = to_html(report, facts_by_host or {}, title=title, generated=generated,
                                        timeline_max=timeline_max)
        else:
            raise ValueError('unknown report format %r (choose from %s)' % (fmt, ', '.join(sorted(FORMATS))))
    return out
