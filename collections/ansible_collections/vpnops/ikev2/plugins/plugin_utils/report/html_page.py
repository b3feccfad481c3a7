# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report as one self-contained HTML page: inline CSS, no script, no external asset.

Every value that comes from a host (log lines, names, reasons, summaries quoting log text) goes
through ``_e`` (``html.escape`` with quotes), and a Content-Security-Policy that forbids scripts
and remote loads backs that up. Only ``<details>`` is used for folding, which needs no script.

Failures that recovered (the report's optional ``resolved`` list) get their own section after the
active findings and their own count in the fleet overview; they never count as faults. A report
without ``resolved`` renders exactly as before that list existed.
"""

from __future__ import annotations

import datetime
import html

from ansible_collections.vpnops.ikev2.plugins.plugin_utils.report.fleet import fleet_rows
from ansible_collections.vpnops.ikev2.plugins.plugin_utils.report.timeline import parse_ts, tunnels

# IKEv2 error notify types (RFC 7296 3.10.1 and its updates): shown as failures in the timeline.
ERROR_NOTIFIES = frozenset((
    'UNSUPPORTED_CRITICAL_PAYLOAD', 'INVALID_IKE_SPI', 'INVALID_MAJOR_VERSION', 'INVALID_SYNTAX',
    'INVALID_MESSAGE_ID', 'INVALID_SPI', 'NO_PROPOSAL_CHOSEN', 'INVALID_KE_PAYLOAD',
    'AUTHENTICATION_FAILED', 'SINGLE_PAIR_REQUIRED', 'NO_ADDITIONAL_SAS', 'INTERNAL_ADDRESS_FAILURE',
    'FAILED_CP_REQUIRED', 'TS_UNACCEPTABLE', 'INVALID_SELECTORS', 'TEMPORARY_FAILURE', 'CHILD_SA_NOT_FOUND',
))
_ERROR_SHORT = ('AUTH_FAILED', 'NO_PROP', 'TS_UNACCEPT', 'INVAL_KE', 'INVAL_SYN', 'INVAL_ID', 'INVAL_SPI',
                'NO_ADD_SAS', 'INT_ADDR_FAIL', 'FAIL_CP_REQ', 'TEMP_FAIL', 'CHLD_SA_NOT_FOUND', 'NO_PROPOSAL_CHOSEN',
                'AUTHENTICATION_FAILED', 'TS_UNACCEPTABLE')

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1200px;padding:1em 1.5em;color:#1d2330;background:#fff}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #d6dbe4;padding-bottom:.2em}
h3{font-size:1.05em;margin:.2em 0}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #d6dbe4;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f2f4f8}td.n{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Consolas,monospace;font-size:12.5px;word-break:break-all;white-space:pre-wrap}
.badge{display:inline-block;padding:0 .5em;border-radius:.7em;font-size:12px;font-weight:600}
.ok{background:#dff3e4;color:#14532d}.warn{background:#fff1d6;color:#7a4b00}.bad{background:#fde2e1;color:#8a1c17}.muted{color:#5c6577}
.finding{border:1px solid #d6dbe4;border-left:6px solid #c0392b;border-radius:4px;padding:.6em 1em;margin:1em 0}
.finding.r2{border-left-color:#e67e22}.meta{color:#5c6577;font-size:13px}
.arrow{text-align:center;width:2.5em;font-weight:700}.way{font-size:11px;color:#5c6577}
.nt{color:#8a1c17;font-weight:600}details{margin:.6em 0}summary{cursor:pointer;font-weight:600}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #d6dbe4;border-radius:4px;padding:.4em 1em;min-width:8em}
.card b{display:block;font-size:1.5em}
"""
# Added to CSS only when the report has resolved failures, so a report without them is unchanged.
CSS_RESOLVED = """.finding.resolved{border-left-color:#2e8b57;background:#f7fbf8}
"""


def _e(value):
    if value is None:
        return ''
    return html.escape(str(value), quote=True)


def _status_class(status):
    if status == 'ok':
        return 'ok'
    if status in ('partial', 'no_daemon'):
        return 'warn'
    return 'bad'


def human_offset(seconds):
    """A clock offset for people.

    >>> human_offset(-86400.3)
    '-1 d 0 h 0 min'
    >>> human_offset(0.54)
    '+0.54 s'
    >>> human_offset(None)
    'unknown'
    """
    if seconds is None:
        return 'unknown'
    sign = '-' if seconds < 0 else '+'
    s = abs(seconds)
    if s < 120:
        return '%s%.2f s' % (sign, s)
    days, rest = divmod(int(round(s)), 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return '%s%d d %d h %d min' % (sign, days, hours, rest // 60)
    return '%s%d h %d min' % (sign, hours, rest // 60)


def _num(value, empty='\u2013'):
    return empty if value is None else str(value)


def _resolved_list(report):
    return [f for f in report.get('resolved') or () if isinstance(f, dict)]


def resolved_per_host(report):
    """How many resolved failures name each host: {host: count}; active findings are not counted.

    >>> resolved_per_host({'findings': [{'hosts': ['gw1']}],
    ...                    'resolved': [{'hosts': ['gw2', 'cl3']}, {'hosts': ['gw2']}]})
    {'gw2': 2, 'cl3': 1}
    >>> resolved_per_host({'findings': []})
    {}
    """
    counts = {}
    for f in _resolved_list(report):
        for host in f.get('hosts') or ():
            if isinstance(host, str):
                counts[host] = counts.get(host, 0) + 1
    return counts


def _fleet(report, facts_by_host):
    rows = fleet_rows(report, facts_by_host)
    up = sum(r['up'] or 0 for r in rows)
    ike_only = sum(r['ike_only'] or 0 for r in rows)
    down = sum(r['down'] or 0 for r in rows)
    bad = sum(1 for r in rows if r['status'] not in ('ok',))
    resolved = _resolved_list(report)
    per_host = resolved_per_host(report)
    out = ['<h2 id="fleet">Fleet overview</h2>',
           '<div class="cards">',
           '<div class="card"><b>%d</b>hosts</div>' % len(rows),
           '<div class="card"><b>%d</b>hosts not ok</div>' % bad,
           '<div class="card"><b>%d</b>SAs up (IKE + CHILD)</div>' % up,
           '<div class="card"><b>%d</b>IKE SA only</div>' % ike_only,
           '<div class="card"><b>%d</b>connections without SA</div>' % down]
    if resolved:
        out.append('<div class="card"><b>%d</b>resolved (recovered since, not faults)</div>' % len(resolved))
    out += ['</div>',
            '<table><thead><tr><th>host</th><th>status</th><th>daemon</th><th>clock offset</th>'
            '<th>up</th><th>IKE only</th><th>down</th>%s<th>reason</th></tr></thead><tbody>' % (
                '<th>resolved</th>' if resolved else '')]
    for r in rows:
        res_cell = ('<td class="n">%s</td>' % _e(_num(per_host.get(r['name']), empty='0'))) if resolved else ''
        out.append('<tr><td>%s</td><td><span class="badge %s">%s</span></td><td>%s</td><td class="n">%s</td>'
                   '<td class="n">%s</td><td class="n">%s</td><td class="n">%s</td>%s<td>%s</td></tr>' % (
                       _e(r['name']), _status_class(r['status']), _e(r['status']), _e(r['daemon'] or ''),
                       _e(human_offset(r['offset_s'])), _e(_num(r['up'])), _e(_num(r['ike_only'])),
                       _e(_num(r['down'])), res_cell, _e(r['reason'] or '')))
    out.append('</tbody></table>')
    out.append('<p class="meta">Up: IKE SA established with an installed CHILD_SA. IKE only: IKE SA established, '
               'no CHILD_SA installed. Down: a loaded connection without any IKE SA. Clock offset: the host\'s '
               'clock minus the controller\'s, measured when the facts were gathered.%s</p>' % (
                   ' Resolved: failures naming the host whose tunnel has been re-established since; they are not '
                   'counted as faults.' if resolved else ''))
    return out


def _findings(report):
    findings = report.get('findings') or []
    out = ['<h2 id="findings">Findings (%d)</h2>' % len(findings)]
    if not findings:
        out.append('<p><span class="badge ok">no fault found</span></p>')
    for f in findings:
        rem = f.get('remediation') if isinstance(f.get('remediation'), dict) else {}
        rank = f.get('rank')
        out.append('<section class="finding%s" id="finding-%s">' % ('' if rank == 1 else ' r2', _e(rank)))
        out.append('<h3>%s. %s on %s</h3>' % (_e(rank), _e(f.get('category')), _e(', '.join(f.get('hosts') or ()) or '?')))
        conf = f.get('confidence')
        conf_text = '%.2f' % conf if isinstance(conf, (int, float)) else ''
        fix = ''
        if rem.get('role'):
            fix = ' &middot; fix: role <code>vpnops.ikev2.%s</code>%s' % (
                _e(rem['role']), ' (auto-remediable)' if rem.get('auto_remediable') else ' (needs a human)')
        out.append('<div class="meta">rule <code>%s</code> &middot; phase %s &middot; confidence %s%s</div>' % (
            _e(f.get('rule')), _e(f.get('phase')), _e(conf_text), fix))
        out.append('<p>%s</p>' % _e(f.get('summary')))
        out += _evidence_table(f)
        out.append('</section>')
    return out


def _evidence_table(f):
    evidence = f.get('evidence') or []
    if not evidence:
        return []
    out = ['<table><thead><tr><th>host</th><th>source</th><th>evidence line</th></tr></thead><tbody>']
    for ev in evidence:
        ev = ev if isinstance(ev, dict) else {'line': ev}
        out.append('<tr><td>%s</td><td>%s</td><td><code>%s</code></td></tr>' % (
            _e(ev.get('host')), _e(ev.get('source')), _e(ev.get('line'))))
    out.append('</tbody></table>')
    return out


def _resolved(report):
    """The section of failures that recovered, after the active findings; empty when there are none."""
    resolved = _resolved_list(report)
    if not resolved:
        return []
    out = ['<h2 id="resolved">Resolved (recovered since) (%d)</h2>' % len(resolved),
           '<p class="meta">Failures found in the logs whose tunnel the same host\'s log shows re-established '
           'afterwards (and, where the host\'s SAs were gathered, with a CHILD_SA installed now). They are not '
           'faults now and are not counted as findings. Last failure and recovery are each on their host\'s own '
           'clock, as logged.</p>']
    for f in resolved:
        rank = f.get('rank')
        out.append('<section class="finding resolved" id="resolved-%s">' % _e(rank))
        out.append('<h3><span class="badge ok">resolved</span> %s on %s</h3>' % (
            _e(f.get('category')), _e(', '.join(h for h in f.get('hosts') or () if isinstance(h, str)) or '?')))
        out.append('<div class="meta">last failure <b>%s</b> &middot; recovered <b>%s</b> &middot; rule '
                   '<code>%s</code> &middot; phase %s</div>' % (
                       _e(f.get('last_failure') or 'unknown'), _e(f.get('recovered') or 'unknown'),
                       _e(f.get('rule')), _e(f.get('phase'))))
        out.append('<p>%s</p>' % _e(f.get('summary')))
        out += _evidence_table(f)
        out.append('</section>')
    return out


def _short_time(entry):
    """The corrected time at the precision of the host's log: whole seconds stay whole seconds."""
    t = parse_ts(entry.get('ts'))
    if t is None:
        return 'no time'
    host_ts = entry.get('host_ts') if isinstance(entry.get('host_ts'), str) else ''
    if '.' not in host_ts:
        t = t + datetime.timedelta(microseconds=500000)
        return t.strftime('%Y-%m-%d %H:%M:%S')
    return t.strftime('%Y-%m-%d %H:%M:%S') + ('.%03d' % (t.microsecond // 1000))


def _cell(entry):
    label = '%s %s%s' % (entry['exchange'], entry['kind'], (' %d' % entry['mid']) if entry.get('mid') is not None else '')
    notes = []
    for n in entry.get('notifies') or ():
        notes.append('<span class="nt">%s</span>' % _e(n) if n in ERROR_NOTIFIES else _e(n))
    payloads = entry.get('payloads') or ''
    bad = any(s in payloads for s in _ERROR_SHORT)
    parts = ['<span class="way">%s</span> <b>%s</b>' % (_e(entry['way']), _e(label))]
    if payloads:
        parts.append('<br><code%s>%s</code>' % (' class="nt"' if bad else '', _e(payloads)))
    if notes:
        parts.append('<br><span class="way">notifies:</span> %s' % ', '.join(notes))
    if entry.get('offset_s') and abs(entry['offset_s']) >= 1:
        parts.append('<br><span class="way">host clock: %s</span>' % _e(entry.get('host_ts')))
    return ''.join(parts)


def _timelines(facts_by_host, timeline_max):
    tl = tunnels(facts_by_host, max_entries=timeline_max)
    out = ['<h2 id="timeline">IKE exchanges per tunnel (%d)</h2>' % len(tl),
           '<p class="meta">Times are the controller\'s clock (UTC): each host\'s log time minus its measured clock '
           'offset, shown at the precision of the host\'s log (charon: whole seconds, pluto: '
           'microseconds). Within that precision the order is causal: a message is shown received only after it was '
           'sent. An end that is an address matched no host of this run.</p>']
    if not tl:
        out.append('<p class="muted">No IKE exchange in the gathered logs.</p>')
    for t in tl:
        a, b = t['ends']
        failed = any(any(n in ERROR_NOTIFIES for n in e.get('notifies') or ())
                     or any(s in (e.get('payloads') or '') for s in _ERROR_SHORT) for e in t['entries'])
        via = ''
        if t.get('via'):
            via = ' <span class="way">(%s saw this peer as %s, behind NAT; matched as the only tunnel without %s\'s side)</span>' % (
                _e(t['via'][0]), _e(t['via'][1]), _e(t['via'][0]))
        out.append('<details%s><summary>%s &mdash; %d message(s)%s%s%s</summary>' % (
            ' open' if failed else '', _e(t['label']), t['total'], via,
            (' (last %d shown)' % len(t['entries'])) if t['total'] > len(t['entries']) else '',
            ' <span class="badge bad">error notify</span>' if failed else ''))
        out.append('<table><thead><tr><th>time (controller UTC)</th><th>%s</th><th class="arrow"></th><th>%s</th>'
                   '</tr></thead><tbody>' % (_e(a), _e(b)))
        for e in t['entries']:
            on_a = e['host'] == a
            to_b = (on_a and e['way'] == 'sent') or (not on_a and e['way'] == 'received')
            cell = _cell(e)
            out.append('<tr><td class="mono">%s</td><td>%s</td><td class="arrow">%s</td><td>%s</td></tr>' % (
                _e(_short_time(e)), cell if on_a else '', '&rarr;' if to_b else '&larr;',
                '' if on_a else cell))
        out.append('</tbody></table></details>')
    return out


def to_html(report, facts_by_host, title=None, generated=None, timeline_max=80):
    """The whole page as a string."""
    title = title or 'IKEv2 diagnosis'
    if generated is None:
        generated = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
    findings = report.get('findings') or []
    resolved = _resolved_list(report)
    top = findings[0] if findings else None
    head = ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<title>%s</title><style>%s</style></head><body>' % (_e(title), CSS + (CSS_RESOLVED if resolved else '')))
    body = ['<h1>%s</h1>' % _e(title),
            '<p class="meta">generated %s &middot; schema %s &middot; %d finding(s)%s%s</p>' % (
                _e(generated), _e(report.get('schema')), len(findings),
                (' &middot; %d resolved (recovered since)' % len(resolved)) if resolved else '',
                (' &middot; top: <b>%s</b> on %s' % (_e(top.get('category')), _e(', '.join(top.get('hosts') or ()))))
                if top else ''),
            '<p class="meta"><a href="#fleet">fleet</a> &middot; <a href="#findings">findings</a> &middot; %s'
            '<a href="#timeline">timeline</a></p>' % ('<a href="#resolved">resolved</a> &middot; ' if resolved else '')]
    body += _fleet(report, facts_by_host)
    body += _findings(report)
    body += _resolved(report)
    body += _timelines(facts_by_host, timeline_max)
    return head + '\n'.join(body) + '\n</body></html>\n'
