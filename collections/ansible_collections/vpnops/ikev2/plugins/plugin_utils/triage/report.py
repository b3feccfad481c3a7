# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Renderers for the classification report: JSON (the contract), Markdown and plain text."""

from __future__ import annotations

import json


def to_json(report):
    return json.dumps(report, indent=2, sort_keys=False, ensure_ascii=False)


def _md_escape(text):
    return str(text).replace('|', '\\|').replace('\n', ' ')


def to_markdown(report):
    lines = ['# IKEv2 triage report', '']
    findings = report.get('findings') or []
    if not findings:
        lines.append('No fault found.')
    for f in findings:
        lines.append('## %d. %s on %s (confidence %.2f)' % (
            f['rank'], f['category'], ', '.join(f['hosts']) or '?', f['confidence']))
        lines.append('')
        lines.append('- rule: `%s`, phase: %s' % (f['rule'], f['phase']))
        rem = f.get('remediation') or {}
        if rem.get('role'):
            lines.append('- remediation: role `vpnops.ikev2.%s`%s' % (
                rem['role'], ' (auto-remediable)' if rem.get('auto_remediable') else ''))
        lines.append('')
        lines.append(f['summary'])
        lines.append('')
        if f.get('evidence'):
            lines.append('| host | source | line |')
            lines.append('| --- | --- | --- |')
            for e in f['evidence']:
                line = _md_escape(e['line']).replace('`', "'")
                lines.append('| %s | %s | `%s` |' % (_md_escape(e['host']), _md_escape(e['source']), line))
            lines.append('')
    resolved = report.get('resolved') or []
    if resolved:
        lines.append('## Resolved')
        lines.append('')
        lines.append('Failures whose tunnel has been re-established since (not faults now):')
        lines.append('')
        for f in resolved:
            lines.append('- %s (`%s`) on %s: last failed %s, re-established %s' % (
                f['category'], f['rule'], _md_escape(', '.join(f['hosts'])), _md_escape(f.get('last_failure')),
                _md_escape(f.get('recovered'))))
        lines.append('')
    acked = report.get('acknowledged') or []
    if acked:
        lines.append('## Acknowledged')
        lines.append('')
        for f in acked:
            hosts = _md_escape(', '.join(f['hosts']))
            lines.append('- %s (`%s`) on %s: %s' % (f['category'], f['rule'], hosts, _md_escape(f['acknowledged'])))
        lines.append('')
    hosts = report.get('hosts') or {}
    if hosts:
        lines.append('## Hosts')
        lines.append('')
        lines.append('| host | status | reason |')
        lines.append('| --- | --- | --- |')
        for name in sorted(hosts):
            h = hosts[name]
            lines.append('| %s | %s | %s |' % (_md_escape(name), _md_escape(h.get('status')),
                                               _md_escape(h.get('reason') or '')))
        lines.append('')
    return '\n'.join(lines)


def to_text(report):
    out = []
    findings = report.get('findings') or []
    if not findings:
        out.append('no fault found')
    for f in findings:
        out.append('%d. %-24s %-14s hosts=%s confidence=%.2f phase=%s' % (
            f['rank'], f['category'], f['rule'], ','.join(f['hosts']), f['confidence'], f['phase']))
        out.append('   ' + f['summary'])
        for e in f.get('evidence') or ():
            out.append('   [%s %s] %s' % (e['host'], e['source'], e['line']))
        rem = f.get('remediation') or {}
        if rem.get('role'):
            out.append('   fix: role %s%s' % (rem['role'], ', auto-remediable' if rem.get('auto_remediable') else ''))
    for f in report.get('resolved') or ():
        out.append('resolved: %s %s hosts=%s last failed %s, re-established %s' % (
            f['category'], f['rule'], ','.join(f['hosts']), f.get('last_failure'), f.get('recovered')))
    for f in report.get('acknowledged') or ():
        out.append('acknowledged: %s %s hosts=%s (%s)' % (f['category'], f['rule'], ','.join(f['hosts']), f['acknowledged']))
    for name in sorted(report.get('hosts') or {}):
        h = report['hosts'][name]
        if h.get('status') not in ('ok', None) or h.get('reason'):
            out.append('host %s: %s%s' % (name, h.get('status'), (' (%s)' % h['reason']) if h.get('reason') else ''))
    return '\n'.join(out)


RENDERERS = {'json': to_json, 'md': to_markdown, 'markdown': to_markdown, 'text': to_text}
