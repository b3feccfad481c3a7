# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libreswan: the NSS certificate database through ``certutil`` and pluto's status.

>>> parse_certutil_list('Certificate Nickname  Trust Attributes\\n  SSL,S/MIME,JAR/XPI\\n\\ngw  P,,\\n')
[{'nickname': 'gw', 'trust': 'P,,'}]
"""
from __future__ import annotations

import re

NSS_DIRS = ('/var/lib/ipsec/nss', '/etc/ipsec.d')


def parse_certutil_list(text):
    """``certutil -L -d sql:DIR``: nicknames and trust flags."""
    out = []
    for line in text.splitlines():
        if not line.strip() or line.startswith('Certificate Nickname') or 'SSL,S/MIME' in line:
            continue
        m = re.match(r'^(.*?)\s+([CcTtPpuwkKsSIi]*,[CcTtPpuwkKsSIi]*,[CcTtPpuwkKsSIi]*)\s*$', line)
        if m:
            out.append({'nickname': m.group(1).strip(), 'trust': m.group(2)})
    return out


def parse_certutil_keys(text):
    """``certutil -K -d sql:DIR``: nicknames that have a private key (no key material is printed)."""
    names = []
    for line in text.splitlines():
        m = re.match(r'^<\s*\d+>\s+\w+\s+[0-9a-f]+\s+(.*)$', line.strip())
        if m:
            nick = m.group(1).strip()
            if ':' in nick and nick.startswith('NSS'):
                nick = nick.split(':', 1)[1]
            names.append(nick)
    return names


_CONN = re.compile(r'^000 "([^"]+)"(?:\[\d+\])?: (\S+)\.\.\.(\S+)')
_STATE = re.compile(r'^000 #(\d+): "([^"]+)"(?:\[\d+\])?(?::(\d+))? (STATE_\w+|\w+_\w+)')
_STATE_NEW = re.compile(r'^#(\d+): "([^"]+)"(?:\[\d+\])?(?::(\d+))? (\S+)')


def parse_whack_status(text):
    """``ipsec whack --status`` (pluto 4.x): connection names with their ends, and the states.

    Only the parts the facts need; the raw text is kept by the caller for everything else.
    """
    conns = {}
    states = []
    for line in text.splitlines():
        m = _CONN.match(line)
        if m:
            conns.setdefault(m.group(1), {'name': m.group(1), 'left': m.group(2), 'right': m.group(3)})
            continue
        body = line[4:] if line.startswith('000 ') else line
        m = _STATE_NEW.match(body)
        if m and ('STATE_' in body or 'ESTABLISHED' in body):
            states.append({'serial': int(m.group(1)), 'name': m.group(2), 'state': m.group(4),
                           'established': 'ESTABLISHED' in body, 'raw': body.strip()})
        mm = re.match(r'^"([^"]+)"(?:\[\d+\])?:\s+(\S+)\.\.\.(\S+)', body)
        if mm:
            conns.setdefault(mm.group(1), {'name': mm.group(1), 'left': mm.group(2), 'right': mm.group(3)})
    return list(conns.values()), states
