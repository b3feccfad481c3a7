# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's clock as its NTP client sees it: chrony, systemd-timesyncd, ntpd; and the timezone.

>>> t = parse_chrony_tracking('C0000201,192.0.2.1,9,1795734070.555257713,-0.000002826,0.000000280,'
...                           '0.000001146,0.057,0.026,0.566,0.000010058,0.000002282,1.0,Normal')
>>> t['reference'], t['stratum'], t['synchronized'], t['offset_s']
('192.0.2.1', 9, True, 2.826e-06)
"""
from __future__ import annotations

import os
import re

_SRC_MODE = {'^': 'server', '=': 'peer', '#': 'refclock'}
_SRC_STATE = {'*': 'selected', '+': 'combined', '-': 'not_combined', '?': 'unreachable',
              'x': 'falseticker', '~': 'too_variable'}


def _f(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def parse_chrony_tracking(text):
    """``chronyc -c tracking``. ``offset_s`` is the host clock minus NTP time (chrony prints the
    correction it still has to apply: negative when the clock is fast)."""
    line = text.strip().splitlines()[-1] if text.strip() else ''
    f = line.split(',')
    if len(f) < 14:
        raise ValueError('not chronyc -c tracking output: %r' % line[:120])
    correction = _f(f[4])
    leap = f[13]
    stratum = int(f[2]) if f[2].isdigit() else None
    refid = f[0]
    synced = leap != 'Not synchronised' and refid not in ('00000000',) and (stratum or 16) < 16
    return {
        'refid': refid, 'reference': f[1] or ('LOCAL' if refid == '7F7F0101' else refid),
        'stratum': stratum, 'ref_time': _f(f[3]),
        'offset_s': (-correction if correction else 0.0) if correction is not None else None,
        'last_offset_s': _f(f[5]), 'rms_offset_s': _f(f[6]), 'frequency_ppm': _f(f[7]),
        'residual_freq_ppm': _f(f[8]), 'skew_ppm': _f(f[9]), 'root_delay_s': _f(f[10]),
        'root_dispersion_s': _f(f[11]), 'update_interval_s': _f(f[12]), 'leap_status': leap,
        'synchronized': synced, 'local_reference': refid == '7F7F0101',
    }


def parse_chrony_sources(text):
    """``chronyc -c sources``."""
    out = []
    for line in text.strip().splitlines():
        f = line.split(',')
        if len(f) < 10:
            continue
        out.append({
            'mode': _SRC_MODE.get(f[0], f[0]), 'state': _SRC_STATE.get(f[1], f[1]), 'name': f[2],
            'stratum': int(f[3]) if f[3].isdigit() else None, 'poll': int(f[4]) if f[4].lstrip('-').isdigit() else None,
            'reach': int(f[5], 8) if f[5].isdigit() else None,
            'last_rx_s': None if f[6] == '4294967295' else _f(f[6]),
            'offset_s': _f(f[7]), 'measured_offset_s': _f(f[8]), 'error_s': _f(f[9]),
        })
    return out


def parse_chrony_conf_servers(text):
    """server/pool/peer lines of chrony.conf (``sourcedir``/``confdir`` are listed separately)."""
    servers = []
    dirs = []
    for line in text.splitlines():
        line = line.split('#', 1)[0].strip()
        m = re.match(r'^(server|pool|peer)\s+(\S+)(.*)$', line)
        if m:
            servers.append({'type': m.group(1), 'host': m.group(2), 'options': m.group(3).split()})
            continue
        m = re.match(r'^(sourcedir|confdir|include)\s+(.+)$', line)
        if m:
            dirs.append(m.group(2).strip())
    return servers, dirs


def parse_timedatectl_show(text):
    """``timedatectl show`` / ``timedatectl show-timesync --all`` key=value lines."""
    out = {}
    for line in text.splitlines():
        k, sep, v = line.partition('=')
        if sep:
            out[k.strip()] = v.strip()
    return out


def parse_ntpq_peers(text):
    """``ntpq -pn``: peers with their tally code; offset in seconds (ntpq prints milliseconds)."""
    peers = []
    for line in text.splitlines():
        if not line or line.startswith(('     remote', '====')):
            continue
        tally = line[0] if line[0] in ' x.-+#*o' else ' '
        f = line[1:].split()
        if len(f) < 10:
            continue
        peers.append({'name': f[0], 'refid': f[1], 'stratum': int(f[2]) if f[2].isdigit() else None,
                      'state': {'*': 'selected', '+': 'combined', '-': 'outlier', 'x': 'falseticker',
                                'o': 'pps', '#': 'backup', '.': 'excess', ' ': 'rejected'}[tally],
                      'reach': int(f[6], 8) if f[6].isdigit() else None,
                      'offset_s': (_f(f[8]) or 0.0) / 1000.0})
    return peers


def timezone_info(host):
    """Timezone name (from /etc/timezone or the /etc/localtime link) and current UTC offset."""
    import time
    name = None
    text, _err = host.read('/etc/timezone')
    if text and text.strip():
        name = text.strip().splitlines()[0]
    if not name:
        try:
            link = os.readlink('/etc/localtime')
            if 'zoneinfo/' in link:
                name = link.split('zoneinfo/', 1)[1]
        except OSError:
            pass
    lt = time.localtime()
    offset = lt.tm_gmtoff if hasattr(lt, 'tm_gmtoff') else -time.timezone
    return {'name': name or ('UTC' if offset == 0 else None), 'abbrev': time.strftime('%Z', lt),
            'utc_offset_s': int(offset)}


# ---------------------------------------------------------------- the time section of ike_facts

# NTP daemons by process name (/proc/PID/comm) -> client name; the order is the preference when
# several run. OpenNTPD's process is also ``ntpd``.
NTP_DAEMONS = (('chronyd', 'chrony'), ('systemd-timesyncd', 'timesyncd'), ('ntpd', 'ntpd'))
TIMESYNCD_BINARIES = ('/lib/systemd/systemd-timesyncd', '/usr/lib/systemd/systemd-timesyncd')
TIMESYNCD_CONF = '/etc/systemd/timesyncd.conf'
TIMESYNCD_SYNCED_FLAG = '/run/systemd/timesync/synchronized'


def ntp_processes(host):
    """{client: pid} of the NTP daemons running (first pid of each), or None when /proc is unreadable."""
    pids = [p for p in host.listdir('/proc') if p.isdigit()]
    if not pids:
        return None
    names = dict(NTP_DAEMONS)
    found = {}
    for pid in sorted(pids, key=int):
        text, _err = host.read('/proc/%s/comm' % pid, 64)
        client = names.get((text or '').strip())
        if client and client not in found:
            found[client] = int(pid)
    return {c: found[c] for _n, c in NTP_DAEMONS if c in found}


def _running(ntp, value, reason):
    ntp['running'] = value
    ntp['running_reason'] = reason


def _not_running_reason(procs, daemon, why):
    """running False when /proc was readable and shows no such process, else unknown (None)."""
    if procs is None:
        return None, '%s; /proc unreadable, so whether %s runs is unknown' % (why, daemon)
    return False, '%s and no %s process' % (why, daemon)


def _chrony(host, ntp, reasons, procs, chrony_conf):
    pid = (procs or {}).get('chrony')
    res = host.run(['chronyc', '-c', '-n', 'tracking'])
    if res.missing and pid is None:
        return False
    ntp['client'] = 'chrony'
    if res.missing:
        _running(ntp, True, 'chronyd process %d (chronyc is not installed)' % pid)
    elif res.ok:
        _running(ntp, True, 'chronyc tracking answered')
        try:
            tr = parse_chrony_tracking(res.out)
            ntp.update({'synchronized': tr['synchronized'], 'offset_s': tr['offset_s'], 'tracking': tr})
        except ValueError as exc:
            reasons.append(str(exc))
        src = host.run(['chronyc', '-c', '-n', 'sources'])
        if src.ok:
            ntp['sources'] = parse_chrony_sources(src.out)
    elif 'Cannot talk to daemon' in (res.out + res.err):
        # chrony is installed but chronyd does not answer: a fact about the host, not a gather error
        ntp.update(synchronized=False, reason=res.reason())
        if pid is not None:
            _running(ntp, True, 'chronyd process %d runs, but chronyc cannot talk to it' % pid)
        elif procs is not None:
            _running(ntp, False, 'chronyc cannot talk to chronyd and no chronyd process')
        else:   # nothing answers on chronyd's command socket; /proc cannot confirm either way
            _running(ntp, False, 'chronyc cannot talk to chronyd (/proc unreadable)')
    else:
        reasons.append(res.reason())
        if pid is not None:
            _running(ntp, True, 'chronyd process %d' % pid)
        else:
            _running(ntp, None, 'chronyc tracking failed (%s); no chronyd process seen' % res.reason())
    text, _err = host.read(chrony_conf)
    if text is None:
        text, _err = host.read('/etc/chrony.conf')
    if text:
        servers, dirs = parse_chrony_conf_servers(text)
        for d in dirs:
            for name in host.listdir(d.split()[0]):
                if name.endswith(('.conf', '.sources')):
                    sub, _e = host.read(os.path.join(d.split()[0], name))
                    servers.extend(parse_chrony_conf_servers(sub or '')[0])
        ntp['servers'] = servers
    return True


def _timesyncd(host, ntp, reasons, procs):
    pid = (procs or {}).get('timesyncd')
    installed = pid is not None or any(host.exists(p) for p in TIMESYNCD_BINARIES)
    td = host.run(['timedatectl', 'show'])
    sync = {}
    if td.ok:
        ts = host.run(['timedatectl', 'show-timesync', '--all'])
        if ts.ok:
            sync = parse_timedatectl_show(ts.out)
            installed = True
    if not installed:
        return False
    ntp['client'] = 'timesyncd'
    conf = timesyncd_conf(host)
    ntp['servers'] = [{'type': 'server', 'host': h, 'options': []} for h in conf['servers']]
    ntp['fallback_servers'] = [{'type': 'server', 'host': h, 'options': []} for h in conf['fallback']]
    if sync:
        named = (sync.get('SystemNTPServers', '') + ' ' + sync.get('LinkNTPServers', '')).split()
        if named:
            ntp['servers'] = [{'type': 'server', 'host': h, 'options': []} for h in named]
        ntp['server_name'] = sync.get('ServerName') or None
        ntp['server_address'] = sync.get('ServerAddress') or None
        ntp['timesync'] = sync
    if td.ok:
        show = parse_timedatectl_show(td.out)
        ntp['synchronized'] = show.get('NTPSynchronized') == 'yes'
        ntp['timedatectl'] = show
    else:
        # without timedated (no systemd as PID 1, no D-Bus): timesyncd's own flag file, which it
        # creates on its first synchronisation and removes at start
        ntp['synchronized'] = host.exists(TIMESYNCD_SYNCED_FLAG)
        ntp['synchronized_from'] = TIMESYNCD_SYNCED_FLAG
    if pid is not None:
        _running(ntp, True, 'systemd-timesyncd process %d' % pid)
    elif sync.get('ServerAddress'):
        _running(ntp, True, 'timedatectl show-timesync names the server it uses')
    else:
        _running(ntp, *_not_running_reason(procs, 'systemd-timesyncd', 'timesyncd is installed'))
    return True


def _ntpd(host, ntp, reasons, procs):
    pid = (procs or {}).get('ntpd')
    nq = host.run(['ntpq', '-pn'])
    if nq.missing and pid is None:
        return False
    ntp['client'] = 'ntpd'
    # ntpsec's ntpq exits 0 when nothing answers ("***Socket error; probably ntpd is not running")
    silent = _NTPQ_NO_ANSWER.search(nq.out + nq.err)
    if nq.ok and not silent:
        _running(ntp, True, 'ntpq answered')
        peers = parse_ntpq_peers(nq.out)
        ntp['sources'] = peers
        sel = [p for p in peers if p['state'] == 'selected']
        ntp['synchronized'] = bool(sel)
        ntp['offset_s'] = sel[0]['offset_s'] if sel else None
        rv = host.run(['ntpq', '-c', 'rv'])
        if rv.ok:
            ntp['variables'] = parse_ntpq_rv(rv.out)
            vs = ntp['variables']
            if vs.get('offset_s') is not None:
                ntp['offset_s'] = vs['offset_s']
            if vs.get('synchronized') is not None:
                ntp['synchronized'] = vs['synchronized']
    elif nq.missing:
        _running(ntp, True, 'ntpd process %d (ntpq is not installed)' % pid)
    elif pid is not None:
        reasons.append('ntpq: %s' % (silent.group(0) if silent else nq.reason()))
        _running(ntp, True, 'ntpd process %d runs, but ntpq got no answer' % pid)
    else:
        why = silent.group(0) if silent else nq.reason()
        ntp.update(synchronized=False, reason='ntpq: %s' % why)
        _running(ntp, *_not_running_reason(procs, 'ntpd', 'ntpq got no answer (%s)' % why))
    return True


PROBES = (('chrony', _chrony), ('timesyncd', _timesyncd), ('ntpd', _ntpd))
_NTPQ_NO_ANSWER = re.compile(r'Socket error[^\n]*|Connection refused|Request timed out|timed out, nothing received')


def gather_time(host, chrony_conf='/etc/chrony/chrony.conf'):
    """(status, reason, fields) of the ``time`` section without the controller's measurement.

    ``ntp.running`` is always present: True (the client's daemon answered, or its process runs),
    False (it does not answer and /proc shows no such process, or no NTP client is installed),
    None (cannot tell: /proc unreadable and the query failed); ``ntp.running_reason`` says which.
    A running daemon decides the client when several are installed.
    """
    tz = timezone_info(host)
    ntp = {'client': 'none', 'running': None, 'running_reason': None, 'synchronized': None, 'offset_s': None,
           'servers': [], 'sources': []}
    reasons = []
    procs = ntp_processes(host)
    order = [c for _n, c in NTP_DAEMONS if c in (procs or {})] + [c for c, _f in PROBES if c not in (procs or {})]
    probes = dict(PROBES)
    for client in order:
        args = (host, ntp, reasons, procs) + ((chrony_conf,) if client == 'chrony' else ())
        if probes[client](*args):
            break
    if ntp['client'] == 'timesyncd' and ntp.get('timedatectl', {}).get('Timezone'):
        tz['name'] = ntp['timedatectl']['Timezone']
    status = 'ok' if not reasons else 'error'
    if ntp['client'] == 'none':
        reasons.append('no NTP client found (chronyc, timedatectl/systemd-timesyncd, ntpq)')
        _running(ntp, False, 'no NTP client is installed and no NTP daemon process runs'
                 if procs is not None else 'no NTP client is installed')
        status = 'missing'
    return status, '; '.join(reasons) or None, {'timezone': tz, 'ntp': ntp}


def timesyncd_conf(host):
    """NTP= and FallbackNTP= of timesyncd.conf and its drop-ins (later files override)."""
    out = {'servers': [], 'fallback': []}
    files = [TIMESYNCD_CONF]
    for d in ('/etc/systemd/timesyncd.conf.d', '/run/systemd/timesyncd.conf.d', '/usr/lib/systemd/timesyncd.conf.d'):
        files.extend(os.path.join(d, n) for n in host.listdir(d) if n.endswith('.conf'))
    for path in files:
        text, _err = host.read(path)
        if text:
            conf = parse_timesyncd_conf(text)
            for key, field in (('NTP', 'servers'), ('FallbackNTP', 'fallback')):
                if key in conf:
                    out[field] = conf[key]
    return out


def parse_timesyncd_conf(text):
    """``[Time]`` keys of timesyncd.conf; NTP/FallbackNTP as lists of names (an empty value resets).

    >>> parse_timesyncd_conf('[Time]\\nNTP=infra.lab 198.19.0.11\\n#FallbackNTP=0.debian.pool.ntp.org\\n')
    {'NTP': ['infra.lab', '198.19.0.11']}
    """
    out = {}
    section_name = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in '#;':
            continue
        if line.startswith('['):
            section_name = line.strip('[]').strip()
            continue
        if section_name != 'Time':
            continue
        k, sep, v = line.partition('=')
        if not sep:
            continue
        k, v = k.strip(), v.strip()
        out[k] = v.split() if k in ('NTP', 'FallbackNTP') else v
    return out


def parse_ntpq_rv(text):
    """``ntpq -c rv`` (ntpsec and classic ntpd): system variables; offset in seconds (ntpq prints ms)."""
    flat = ' '.join(line.strip() for line in text.splitlines() if line.strip() and not line.startswith('associd'))
    head = text.strip().splitlines()[0] if text.strip() else ''
    pairs = dict(re.findall(r'(\w+)=("[^"]*"|[^,\s]+)', flat))
    pairs = {k: v.strip('"') for k, v in pairs.items()}
    status = re.search(r'status=(\w+)\s+([^,]+),\s*([^,]+),', head)
    out = {'raw': pairs, 'stratum': int(pairs['stratum']) if pairs.get('stratum', '').isdigit() else None,
           'refid': pairs.get('refid'), 'leap': pairs.get('leap'),
           'offset_s': _f(pairs.get('offset')) / 1000.0 if _f(pairs.get('offset')) is not None else None,
           'sys_jitter_s': _f(pairs.get('sys_jitter')) / 1000.0 if _f(pairs.get('sys_jitter')) is not None else None,
           'status_word': status.group(1) if status else None,
           'leap_status': status.group(2).strip() if status else None,
           'sync_source': status.group(3).strip() if status else None,
           'synchronized': None}
    if status:
        out['synchronized'] = status.group(3).strip() != 'sync_unspec' and status.group(2).strip() != 'leap_alarm'
    return out


def stamp_result_end(module, key='ike_facts_timing', fast_exit=True):
    """Record the host's clock as ``result[key]['host_end']`` at the last moment the module can:
    when Ansible hands the finished result to its serializer (after ``exit_json`` has walked it for
    no_log values, which on a large result takes a while). The controller pairs this reading with
    the end of its round trip (plugins/action/ike_facts.py); what still lies between them is the
    result's serialization and write, the interpreter's exit and the transport back.

    With ``fast_exit`` the interpreter ends as soon as everything Ansible cleans up at exit is done:
    an ``atexit`` handler registered here (call this right after creating the AnsibleModule, so that
    handlers registered later, such as the module tmpdir's removal, run before it) flushes stdout
    and stderr and calls ``os._exit`` with the status ``exit_json``/``fail_json`` asked for. It skips
    only the interpreter's own teardown, which was most of the return leg (20-30 ms of the 30 ms
    measured one host at a time on the lab; more under load). It does nothing unless a result was
    recorded through this hook.

    Wraps ``AnsibleModule._record_module_result`` (Ansible's hook for result serialization); an
    Ansible without that hook gets no ``host_end`` and the controller falls back to its even split.
    """
    import atexit
    import sys
    import time
    record = getattr(module, '_record_module_result', None)
    if record is None:
        return False
    done = {}

    def stamped(o):
        timing = o.get(key) if isinstance(o, dict) else None
        if isinstance(timing, dict):
            timing['host_end'] = time.time()
        out = record(o)
        done['status'] = 1 if isinstance(o, dict) and o.get('failed') else 0
        return out

    def leave():
        if 'status' not in done or 'coverage' in sys.modules:   # no result, or ansible-test saving coverage
            return
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:       # a closed stream: nothing left to write
                pass
        os._exit(done['status'])

    module._record_module_result = stamped
    if fast_exit:
        atexit.register(leave)
    return True
