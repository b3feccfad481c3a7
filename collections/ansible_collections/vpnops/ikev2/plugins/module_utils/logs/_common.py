# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared pieces of the log line parsers: the event shape, timestamps, redaction, notify names.

Pure standard library, Python 3.8 syntax: these run on targets.
"""

from __future__ import annotations

import datetime
import re

EVENT_KEYS = (
    'ts', 'host', 'daemon', 'source', 'thread', 'subsystem', 'level', 'ike_name', 'ike_id',
    'peer', 'peer_port', 'exchange', 'direction', 'notifies', 'msg', 'raw',
)

MONTHS = {
    'Jan': 1, 'Feb': 2, 'Mar': 3, 'Apr': 4, 'May': 5, 'Jun': 6,
    'Jul': 7, 'Aug': 8, 'Sep': 9, 'Oct': 10, 'Nov': 11, 'Dec': 12,
}

# IKEv2 notify names (RFC 7296 and extensions) plus the IKEv1 ones pluto and charon still print.
NOTIFY_NAMES = frozenset((
    'UNSUPPORTED_CRITICAL_PAYLOAD', 'INVALID_IKE_SPI', 'INVALID_MAJOR_VERSION', 'INVALID_SYNTAX',
    'INVALID_MESSAGE_ID', 'INVALID_SPI', 'NO_PROPOSAL_CHOSEN', 'INVALID_KE_PAYLOAD',
    'AUTHENTICATION_FAILED', 'SINGLE_PAIR_REQUIRED', 'NO_ADDITIONAL_SAS', 'INTERNAL_ADDRESS_FAILURE',
    'FAILED_CP_REQUIRED', 'TS_UNACCEPTABLE', 'INVALID_SELECTORS', 'TEMPORARY_FAILURE',
    'CHILD_SA_NOT_FOUND', 'INITIAL_CONTACT', 'SET_WINDOW_SIZE', 'ADDITIONAL_TS_POSSIBLE',
    'IPCOMP_SUPPORTED', 'NAT_DETECTION_SOURCE_IP', 'NAT_DETECTION_DESTINATION_IP', 'COOKIE',
    'USE_TRANSPORT_MODE', 'HTTP_CERT_LOOKUP_SUPPORTED', 'REKEY_SA', 'ESP_TFC_PADDING_NOT_SUPPORTED',
    'NON_FIRST_FRAGMENTS_ALSO', 'MOBIKE_SUPPORTED', 'ADDITIONAL_IP4_ADDRESS', 'UPDATE_SA_ADDRESSES',
    'COOKIE2', 'NO_NATS_ALLOWED', 'AUTH_LIFETIME', 'MULTIPLE_AUTH_SUPPORTED', 'ANOTHER_AUTH_FOLLOWS',
    'REDIRECT_SUPPORTED', 'REDIRECT', 'REDIRECTED_FROM', 'EAP_ONLY_AUTHENTICATION',
    'CHILDLESS_IKEV2_SUPPORTED', 'IKEV2_FRAGMENTATION_SUPPORTED', 'SIGNATURE_HASH_ALGORITHMS',
    'USE_PPK', 'PPK_IDENTITY', 'NO_PPK_AUTH', 'INTERMEDIATE_EXCHANGE_SUPPORTED',
    'INVALID_PAYLOAD_TYPE', 'INVALID_ID_INFORMATION', 'INVALID_CERT_ENCODING', 'INVALID_CERTIFICATE',
    'CERT_TYPE_UNSUPPORTED', 'INVALID_CERT_AUTHORITY', 'INVALID_HASH_INFORMATION', 'INVALID_SIGNATURE',
    'PAYLOAD_MALFORMED', 'ATTRIBUTES_NOT_SUPPORTED', 'INVALID_PROTOCOL_ID',
    'FRAGMENTATION_SUPPORTED', 'R_U_THERE', 'R_U_THERE_ACK', 'USE_AGGRESSIVE_MODE',
))

# charon's short notify names, as printed inside "parsed ... [ N(NO_PROP) ]".
NOTIFY_SHORT = {
    'CRIT': 'UNSUPPORTED_CRITICAL_PAYLOAD', 'INVAL_IKE_SPI': 'INVALID_IKE_SPI',
    'INVAL_MAJOR': 'INVALID_MAJOR_VERSION', 'INVAL_SYN': 'INVALID_SYNTAX',
    'INVAL_MID': 'INVALID_MESSAGE_ID', 'INVAL_SPI': 'INVALID_SPI', 'NO_PROP': 'NO_PROPOSAL_CHOSEN',
    'INVAL_KE': 'INVALID_KE_PAYLOAD', 'AUTH_FAILED': 'AUTHENTICATION_FAILED',
    'SINGLE_PAIR': 'SINGLE_PAIR_REQUIRED', 'NO_ADD_SAS': 'NO_ADDITIONAL_SAS',
    'INT_ADDR_FAIL': 'INTERNAL_ADDRESS_FAILURE', 'FAIL_CP_REQ': 'FAILED_CP_REQUIRED',
    'TS_UNACCEPT': 'TS_UNACCEPTABLE', 'INVAL_SEL': 'INVALID_SELECTORS', 'TEMP_FAIL': 'TEMPORARY_FAILURE',
    'NO_CHILD_SA': 'CHILD_SA_NOT_FOUND', 'INIT_CONTACT': 'INITIAL_CONTACT',
    'NATD_S_IP': 'NAT_DETECTION_SOURCE_IP', 'NATD_D_IP': 'NAT_DETECTION_DESTINATION_IP',
    'USE_TRANSP': 'USE_TRANSPORT_MODE', 'FRAG_SUP': 'IKEV2_FRAGMENTATION_SUPPORTED',
    'HASH_ALG': 'SIGNATURE_HASH_ALGORITHMS', 'MOBIKE_SUP': 'MOBIKE_SUPPORTED',
    'AUTH_LFT': 'AUTH_LIFETIME', 'MULT_AUTH': 'MULTIPLE_AUTH_SUPPORTED',
    'AUTH_FOLLOWS': 'ANOTHER_AUTH_FOLLOWS', 'EAP_ONLY': 'EAP_ONLY_AUTHENTICATION',
    'REDIR_SUP': 'REDIRECT_SUPPORTED', 'REDIR': 'REDIRECT', 'COOKIE': 'COOKIE', 'COOKIE2': 'COOKIE2',
    'CHDLESS_SUP': 'CHILDLESS_IKEV2_SUPPORTED', 'ADD_4_ADDR': 'ADDITIONAL_IP4_ADDRESS',
    'UPD_SA_ADDR': 'UPDATE_SA_ADDRESSES', 'ESP_TFC_PAD_N': 'ESP_TFC_PADDING_NOT_SUPPORTED',
    'NON_FIRST_FRAG': 'NON_FIRST_FRAGMENTS_ALSO', 'USE_PPK': 'USE_PPK', 'NO_PPK_AUTH': 'NO_PPK_AUTH',
    'PPK_ID': 'PPK_IDENTITY', 'IKE_INT_SUP': 'INTERMEDIATE_EXCHANGE_SUPPORTED',
    'REKEY_SA': 'REKEY_SA', 'IPCOMP_SUP': 'IPCOMP_SUPPORTED',
}

EXCHANGES = ('IKE_SA_INIT', 'IKE_AUTH', 'CREATE_CHILD_SA', 'INFORMATIONAL', 'IKE_INTERMEDIATE')

_RE_UPPER_TOKEN = re.compile(r'\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b')
_RE_V2N = re.compile(r'v2N_([A-Z0-9_]+)')
_RE_SHORT_N = re.compile(r'N\(([A-Z0-9_]+)(?:\([^)]*\))?\)')

# Secrets: PSK-looking assignments, ipsec.secrets entries, PEM private key blocks.
_RE_SECRET_HINT = re.compile(r'(?i)secret|psk|passw|private key|pre-?shared')
_RE_SECRET_SUBS = (
    (re.compile(r'(?i)(-----BEGIN [A-Z ]*PRIVATE KEY-----).*?(-----END [A-Z ]*PRIVATE KEY-----|$)'),
     r'\1 <redacted> \2'),
    (re.compile(r'''(?i)\b((?:psk|secret|password|passwd|pre-?shared[-_ ]?key)\s*[=:]\s*)("[^"]*"|'[^']*'|0[xs][0-9A-Za-z+/=]+|[^\s,;}]+)'''),
     r'\1<redacted>'),
    (re.compile(r'''(?i)(:\s*(?:PSK|EAP|XAUTH|PIN|NTLM)\s+)("[^"]*"|'[^']*'|\S+)'''), r'\1<redacted>'),
    (re.compile(r'(?i)((?:shared (?:Diffie Hellman )?secret|Sk_[a-z]+ secret|SKEYSEED|PSK|secret)\s*=>\s*\d+ bytes @ \S+)(.*)$'),
     r'\1 <redacted>'),
)
_RE_HEXDUMP = re.compile(r'^\s*\d+: (?:[0-9A-F]{2} ){1,16}')


_HINT_WORDS = ('ecret', 'ECRET', 'PSK', 'psk', 'Psk', 'assw', 'ASSW', 'PRIVATE', 'rivate key', 'hared')


def secret_hint(text):
    """Cheap test: could this line carry a secret? (substring checks beat a regex scan 10x)"""
    for w in _HINT_WORDS:
        if w in text:
            return True
    return False


def redact(text):
    """Remove secrets from a line.

    >>> redact('secret = "abc123"')
    'secret = <redacted>'
    >>> redact('no secrets here')
    'no secrets here'
    """
    if not text or not secret_hint(text):
        return text
    for rex, repl in _RE_SECRET_SUBS:
        text = rex.sub(repl, text)
    return text


def is_hexdump(msg):
    return _RE_HEXDUMP.match(msg) is not None


def new_event(source, daemon, msg, raw):
    return {
        'ts': None, 'host': None, 'daemon': daemon, 'source': source, 'thread': None,
        'subsystem': None, 'level': None, 'ike_name': None, 'ike_id': None, 'peer': None,
        'peer_port': None, 'exchange': None, 'direction': None, 'notifies': [], 'msg': msg,
        'raw': raw,
    }


def notifies_in(msg):
    """Notify names a message carries, in order, without duplicates."""
    out = []
    if 'N(' in msg:
        for short in _RE_SHORT_N.findall(msg):
            name = NOTIFY_SHORT.get(short, short if short in NOTIFY_NAMES else None)
            if name and name not in out:
                out.append(name)
    if '_' in msg:
        for tok in _RE_UPPER_TOKEN.findall(msg):
            if tok in NOTIFY_NAMES and tok not in out:
                out.append(tok)
        if 'v2N_' in msg:  # libreswan 3.x: v2N_NO_PROPOSAL_CHOSEN
            for tok in _RE_V2N.findall(msg):
                if tok in NOTIFY_NAMES and tok not in out:
                    out.append(tok)
    return out


# ---------------------------------------------------------------------------------------------
# Timestamps

_TZ_FIXED = re.compile(r'^(?:UTC|GMT|Z)?\s*([+-])(\d\d):?(\d\d)?$')


def tz_offset(tz):
    """Resolve ``tz`` (None, 'UTC', '+01:00', '-0500', seconds as int, or an IANA name) to a tzinfo."""
    if tz is None or tz == '' or tz in ('UTC', 'Z', 'GMT', 'utc'):
        return datetime.timezone.utc
    if isinstance(tz, datetime.tzinfo):
        return tz
    if isinstance(tz, (int, float)):
        return datetime.timezone(datetime.timedelta(seconds=int(tz)))
    m = _TZ_FIXED.match(str(tz).strip())
    if m:
        secs = int(m.group(2)) * 3600 + int(m.group(3) or 0) * 60
        return datetime.timezone(datetime.timedelta(seconds=secs if m.group(1) == '+' else -secs))
    try:
        import zoneinfo  # Python 3.9+
    except ImportError:  # Python 3.8 targets: no zone database access; UTC rather than nothing
        return datetime.timezone.utc
    try:
        return zoneinfo.ZoneInfo(str(tz))
    except Exception:
        raise ValueError('unknown time zone %r' % (tz,))


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def guess_year(month, day=1, now=None):
    """Year of a year-less stamp: the current year, or last year when that would lie in the future."""
    now = now or utc_now()
    if (month, day) > (now.month, now.day + 1):
        return now.year - 1
    return now.year


def iso(dt):
    """UTC ISO 8601 with Z."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    if dt.microsecond:
        return dt.strftime('%Y-%m-%dT%H:%M:%S.%f').rstrip('0') + 'Z'
    return dt.strftime('%Y-%m-%dT%H:%M:%SZ')


_RE_ISO = re.compile(
    r'^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?\s*(Z|[+-]\d\d(?::?\d\d)?)?$')
_RE_BSD = re.compile(
    r'^(?:[A-Z][a-z]{2} (?=[A-Z]))?(?:(\d{4}) )?([A-Z][a-z]{2})\s+(\d{1,2})(?: (\d{4}))? (\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?'
    r'(?: (\d{4}))?$')
_RE_DMY = re.compile(r'^(\d{1,2})[./](\d{1,2})[./](\d{4}),? (\d{1,2}):(\d\d):(\d\d)(?:[.,](\d{1,9}))?(?: ?([AP]M))?$')


def _frac(s):
    if not s:
        return 0
    return int((s + '000000')[:6])


def _mk(y, mo, d, h, mi, s, us, tzinfo):
    try:
        dt = datetime.datetime(y, mo, d, h, mi, s, us, tzinfo=tzinfo)
    except ValueError:
        return None
    return iso(dt)


def parse_ts(text, year=None, tzinfo=None, mdy=False):
    """Parse one of the stamp shapes daemons and syslog print; return (iso, month) or (None, None).

    >>> parse_ts('2024-11-26T22:54:01.5+01:00')[0]
    '2024-11-26T21:54:01.5Z'
    >>> parse_ts('Nov 26 22:54:01', year=2024)[0]
    '2024-11-26T22:54:01Z'
    """
    tzinfo = tzinfo or datetime.timezone.utc
    m = _RE_ISO.match(text)
    if m:
        y, mo, d, h, mi, s = (int(x) for x in m.group(1, 2, 3, 4, 5, 6))
        zone = m.group(8)
        tzi = tzinfo
        if zone:
            if zone == 'Z':
                tzi = datetime.timezone.utc
            else:
                sign = 1 if zone[0] == '+' else -1
                digits = zone[1:].replace(':', '')
                secs = int(digits[:2]) * 3600 + int(digits[2:4] or 0) * 60
                tzi = datetime.timezone(datetime.timedelta(seconds=sign * secs))
        return _mk(y, mo, d, h, mi, s, _frac(m.group(7)), tzi), mo
    m = _RE_BSD.match(text)
    if m:
        mo = MONTHS.get(m.group(2))
        if mo is None:
            return None, None
        d = int(m.group(3))
        y = m.group(1) or m.group(4) or m.group(9)
        y = int(y) if y else (year or guess_year(mo, d))
        return _mk(y, mo, d, int(m.group(5)), int(m.group(6)), int(m.group(7)), _frac(m.group(8)), tzinfo), mo
    m = _RE_DMY.match(text)
    if m:
        a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        h = int(m.group(4))
        if m.group(8):
            h = h % 12 + (12 if m.group(8) == 'PM' else 0)
        if mdy or '/' in text:
            mo, d = a, b
            if mo > 12:
                mo, d = d, mo
        else:
            d, mo = a, b
        return _mk(y, mo, d, h, int(m.group(5)), int(m.group(6)), _frac(m.group(7)), tzinfo), mo
    return None, None


_HAS_YEAR = re.compile(r'(?:^| )\d{4}(?: |$)')


class StampCache(object):
    """Turns stamp text into ISO UTC, remembering the last few (consecutive lines share stamps) and
    rolling the year over when a year-less log crosses from December into January."""

    def __init__(self, year=None, tz=None):
        self.year = year
        self.explicit_year = year is not None
        self.tzinfo = tz_offset(tz)
        self.cache = {}
        self.last_month = None

    def get(self, text):
        hit = self.cache.get(text)
        if hit is not None:
            return hit
        iso_ts, month = parse_ts(text, self.year, self.tzinfo)
        if iso_ts is not None and month is not None and not text[:1].isdigit() and not _HAS_YEAR.search(text):
            # year-less BSD stamp: fix the year on first sight, roll over Dec -> Jan
            if self.year is None:
                self.year = guess_year(month)
                iso_ts, month = parse_ts(text, self.year, self.tzinfo)
            elif self.last_month is not None and month < self.last_month - 6:
                self.year += 1
                self.cache.clear()
                iso_ts, month = parse_ts(text, self.year, self.tzinfo)
            elif self.last_month is not None and month > self.last_month + 6 and not self.explicit_year:
                # out-of-order line from before the rollover: leave the year alone
                iso_ts, month = parse_ts(text, self.year - 1, self.tzinfo)
                self.cache[text] = iso_ts
                return iso_ts
            self.last_month = month
        if len(self.cache) > 4096:
            self.cache.clear()
        self.cache[text] = iso_ts
        return iso_ts
