# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows VPN client events (RasClient 20227/20226 and friends) exported as text (Event Viewer
"Save as text", ``Get-WinEvent | Format-List``), CSV, or XML (``wevtutil qe /f:xml``, "Save as XML"),
and ``rasdial`` / dialog output.

The message Windows renders::

    CoId={E3B1...}: The user DOMAIN\\bob dialed a connection named Office VPN which has failed.
    The error code returned on failure is 13801.

Each event becomes one log event whose ``msg`` always contains ``error code ... is NNN`` (when a
code is known) so rules match one phrase whatever the export shape.
"""

from __future__ import annotations

import re

from ansible_collections.vpnops.ikev2.plugins.module_utils.logs._common import new_event

# What each code means, from winerror.h / ras error list (kept as data; shown in messages).
ERROR_CODES = {
    691: 'access denied: user name or password not valid on the domain',
    703: 'the connection needs information from the user but the application does not allow it',
    789: 'the L2TP connection attempt failed: security layer error during initial negotiations',
    809: 'the remote server is not responding (UDP 500/4500 blocked or NAT-T needed)',
    812: 'the connection was prevented by a policy configured on the RAS/VPN server',
    853: 'the remote access server requires EAP but the client is not configured for it',
    862: 'the remote server could not be authenticated (EAP/PEAP server identity)',
    13801: 'IKE authentication credentials are unacceptable',
    13802: 'IKE security attributes are unacceptable',
    13805: 'negotiation timed out',
    13806: 'IKE failed to find valid machine certificate',
    13813: 'no response from peer',
    13817: 'certificate revocation check failed',
    13818: 'invalid certificate key usage',
    13819: 'invalid certificate type',
    13820: 'no private key associated with machine certificate',
    13825: 'no policy configured',
    13826: 'failed to verify signature',
    13843: 'invalid payload received',
    13868: 'policy match error',
}

PARSERS = [
    {'name': 'failure', 'getval': re.compile(
        r'(?:error|reason) code returned on (?:failure|termination) is (?P<code>\d+)')},
    {'name': 'rasdial', 'getval': re.compile(
        r'(?:Remote Access error|Error(?: code)?:?|error) (?P<code>6\d\d|7\d\d|8\d\d|13[89]\d\d)\b')},
    {'name': 'connection', 'getval': re.compile(r'dialed a connection named (?P<conn>.+?) which has')},
    {'name': 'user', 'getval': re.compile(r'The user (?P<user>\S+) ')},
    {'name': 'eventid_text', 'getval': re.compile(r'^\s*Event ID:\s*(?P<eid>\d+)')},
    {'name': 'date_text', 'getval': re.compile(r'^\s*(?:Date|TimeCreated)\s*:\s*(?P<date>.+?)\s*$')},
    {'name': 'computer_text', 'getval': re.compile(r'^\s*(?:Computer|MachineName)\s*:\s*(?P<computer>\S+)')},
    {'name': 'xml_eventid', 'getval': re.compile(r'<EventID[^>]*>(?P<eid>\d+)</EventID>')},
    {'name': 'xml_time', 'getval': re.compile(r'''<TimeCreated SystemTime=["'](?P<date>[^"']+)["']''')},
    {'name': 'xml_computer', 'getval': re.compile(r'<Computer>(?P<computer>[^<]+)</Computer>')},
    {'name': 'xml_data', 'getval': re.compile(r'''<Data(?: Name=["'][^"']*["'])?>(?P<data>[^<]*)</Data>''')},
    {'name': 'csv_row', 'getval': re.compile(
        r'^(?:"?(?:Error|Warning|Information|Fehler|Erreur)"?,)?"?(?P<date>\d{1,4}[./-]\d{1,2}[./-]\d{1,4}[ T,]+'
        r'\d{1,2}:\d\d(?::\d\d)?(?: ?[AP]M)?)"?,"?(?P<provider>[^,"]+)"?,"?(?P<eid>\d+)"?,')},
]
# The texts Windows shows (dialog, rasdial, event description) when no code is pasted with them.
PHRASES = [
    (re.compile(r'IKE authentication credentials are unacceptable', re.I), 13801),
    (re.compile(r'IKE security attributes are unacceptable', re.I), 13802),
    (re.compile(r'IKE failed to find valid machine certificate', re.I), 13806),
    (re.compile(r'No private key associated with machine certificate', re.I), 13820),
    (re.compile(r'\bPolicy match error\b', re.I), 13868),
    (re.compile(r'Negotiation timed out', re.I), 13805),
    (re.compile(r'Certificate Revocation Check failed', re.I), 13817),
    (re.compile(r'remote server is not responding', re.I), 809),
    (re.compile(r'user ?name and/or password (?:was|is) invalid', re.I), 691),
]
_P = dict((p['name'], p['getval']) for p in PARSERS)
_RE_HINT = re.compile(r'RasClient|CoId=|code returned on|Remote Access error|<EventID|Event ID:|'
                      r'Error(?: code)?:? (?:6\d\d|7\d\d|8\d\d|13[89]\d\d)\b|'
                      r'IKE authentication credentials|IKE security attributes|valid machine certificate|'
                      r'Policy match error|remote server is not responding', re.I)


def looks_like(line):
    return _RE_HINT.search(line) is not None


def _ts(stamps, text):
    if not text:
        return None
    t = text.strip().strip('"')
    # "11/26/2024 10:54:01 PM", "2024-11-26T22:54:01.1234567Z", "26.11.2024 22:54:01"
    t = re.sub(r'(\.\d{6})\d+', r'\1', t)
    return stamps.get(t)


def _event(line, code, stamps, host, date=None, computer=None, conn=None, desc=None, eid=None):
    if desc is None:
        desc = 'The connection%s has failed. The error code returned on failure is %s.' % (
            (' named %s' % conn) if conn else '', code)
    msg = desc.strip()
    if code is not None and ('code returned on' not in msg):
        msg = '%s (error code returned on failure is %s)' % (msg, code)
    meaning = ERROR_CODES.get(int(code)) if code is not None else None
    if meaning and meaning not in msg:
        msg = '%s [%s]' % (msg, meaning)
    ev = new_event('windows', 'windows', msg, line)
    ev['host'] = computer or host
    ev['ike_name'] = conn
    ev['ts'] = _ts(stamps, date)
    ev['subsystem'] = 'RasClient' if eid in (None, '20227', '20226', '20221') else 'Windows'
    ev['thread'] = None
    return ev


def parse(line, stamps, host=None):
    """Stateless: one line that carries an error code on its own (text message, CSV row, rasdial,
    one-line XML event)."""
    state = WindowsState(stamps, host)
    out = state.feed(line)
    out.extend(state.flush())
    return out[0] if out else None


class WindowsState(object):
    """Line-by-line reader for exports where one event spans several lines (text, pretty XML)."""

    def __init__(self, stamps, host=None):
        self.stamps = stamps
        self.host = host
        self.reset()

    def reset(self):
        self.date = None
        self.computer = None
        self.eid = None
        self.data = []
        self.lines = []
        self.in_xml = False

    def flush(self):
        out = []
        if self.in_xml and self.data:
            out.extend(self._xml_event())
        self.reset()
        return out

    def _xml_event(self):
        code = None
        conn = None
        for d in self.data:
            if re.match(r'^\d{3,5}$', d.strip()):
                code = d.strip()
        if len(self.data) >= 3 and self.eid in ('20227', '20226'):
            conn = self.data[2].strip() or None
        if code is None:
            return []
        raw = ' '.join(self.lines)[:4096]
        desc = None
        if self.eid == '20227' and len(self.data) >= 4:
            desc = ('CoId=%s: The user %s dialed a connection named %s which has failed. '
                    'The error code returned on failure is %s.' % (
                        self.data[0].strip(), self.data[1].strip(), conn, code))
        return [_event(raw, code, self.stamps, self.host, self.date, self.computer, conn, desc, self.eid)]

    def feed(self, line):
        out = []
        if '<Event ' in line or '<Event>' in line:
            if self.in_xml:
                out.extend(self.flush())
            self.in_xml = True
        if self.in_xml:
            self.lines.append(line.strip())
            for name in ('xml_eventid', 'xml_time', 'xml_computer'):
                for m in _P[name].finditer(line):
                    gd = m.groupdict()
                    if 'eid' in gd:
                        self.eid = gd['eid']
                    if 'date' in gd:
                        self.date = gd['date']
                    if 'computer' in gd:
                        self.computer = gd['computer']
            self.data.extend(m.group('data') for m in _P['xml_data'].finditer(line))
            if '</Event>' in line:
                out.extend(self.flush())
            return out
        m = _P['date_text'].match(line)
        if m:
            self.date = m.group('date')
        m = _P['computer_text'].match(line)
        if m:
            self.computer = m.group('computer')
        m = _P['eventid_text'].match(line)
        if m:
            self.eid = m.group('eid')
        code_m = _P['failure'].search(line) or _P['rasdial'].search(line)
        if code_m is None:
            for rx, phrase_code in PHRASES:
                if rx.search(line):
                    code = str(phrase_code)
                    break
            else:
                return out
        else:
            code = code_m.group('code')
        conn_m = _P['connection'].search(line)
        conn = conn_m.group('conn') if conn_m else None
        date = self.date
        csv = _P['csv_row'].match(line)
        eid = self.eid
        if csv:
            date = csv.group('date')
            eid = csv.group('eid')
        else:
            lead = re.match(r'^\s*(\d{1,4}[./-]\d{1,2}[./-]\d{1,4}[ T]+\d{1,2}:\d\d(?::\d\d)?(?: ?[AP]M)?)\s', line)
            if lead:
                date = lead.group(1)
        desc = line.strip()
        idx = desc.find('CoId=')
        if idx > 0:
            desc = desc[idx:].rstrip('"')
        out.append(_event(line, code, self.stamps, self.host, date, self.computer, conn, desc, eid))
        self.date = None if csv else self.date
        return out
