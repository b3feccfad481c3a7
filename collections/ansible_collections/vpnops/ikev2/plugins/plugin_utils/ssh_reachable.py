# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side reachability check over a fresh SSH connection (paramiko).

Used after a firewall change: Ansible's own connection is multiplexed (ControlMaster) and an
established flow survives a ruleset that drops new connections, so only a new TCP connection and
a new SSH session prove that an operator can still log in. Importable without Ansible.

>>> known_hosts_from_ssh_args('-o UserKnownHostsFile=/run/kh -o StrictHostKeyChecking=yes')
'/run/kh'
>>> known_hosts_from_ssh_args('-o "UserKnownHostsFile /tmp/a b" -C') is None
False
>>> known_hosts_from_ssh_args('') is None
True
"""

from __future__ import annotations

import os
import shlex
import socket
import time


class ReachabilityError(Exception):
    """The check could not be attempted (bad arguments, unreadable key or known_hosts file)."""


def known_hosts_from_ssh_args(*args):
    """The first UserKnownHostsFile named in ssh argument strings, or None."""
    for arg in args:
        if not arg:
            continue
        try:
            words = shlex.split(arg)
        except ValueError:
            words = arg.split()
        options = []
        for i, word in enumerate(words):
            if word == '-o' and i + 1 < len(words):
                options.append(words[i + 1])
            elif word.startswith('-o') and len(word) > 2:
                options.append(word[2:])
        for opt in options:
            key, sep, value = opt.partition('=')
            if not sep:
                key, sep, value = opt.partition(' ')
            if key.strip().lower() == 'userknownhostsfile' and value.strip():
                return os.path.expanduser(value.strip().split()[0])
    return None


def check_ssh(host, port=22, user='root', key_file=None, known_hosts=None, timeout=10.0,
              command='true', strict=True):
    """Open a new SSH connection, run `command`, close. Returns a result dict, never raises for
    connection problems: {ok, host, port, user, rc, error, elapsed_s}."""
    import paramiko  # imported here so the module imports (and its doctests run) without paramiko

    if known_hosts and not os.path.isfile(known_hosts):
        raise ReachabilityError(f'known_hosts file {known_hosts} does not exist')
    if key_file and not os.path.isfile(key_file):
        raise ReachabilityError(f'private key file {key_file} does not exist')
    result = {'ok': False, 'host': host, 'port': int(port), 'user': user, 'rc': None, 'error': None,
              'elapsed_s': None}
    start = time.monotonic()
    client = paramiko.SSHClient()
    try:
        if known_hosts:
            client.load_host_keys(known_hosts)
        else:
            client.load_system_host_keys()
        client.set_missing_host_key_policy(paramiko.RejectPolicy() if strict else paramiko.WarningPolicy())
        client.connect(host, port=int(port), username=user, key_filename=key_file, timeout=timeout,
                       banner_timeout=timeout, auth_timeout=timeout, allow_agent=False,
                       look_for_keys=key_file is None)
        _stdin, stdout, _stderr = client.exec_command(command, timeout=timeout)
        rc = stdout.channel.recv_exit_status()
        result['rc'] = rc
        result['ok'] = rc == 0
        if rc != 0:
            result['error'] = f'{command!r} exited {rc} on {host}:{port}'
    except socket.timeout:
        result['error'] = f'no answer from {host}:{port} within {timeout:g} s (new connections dropped?)'
    except paramiko.BadHostKeyException as exc:
        result['error'] = f'host key of {host} does not match {known_hosts or "the known_hosts"}: {exc}'
    except paramiko.SSHException as exc:
        result['error'] = f'SSH to {user}@{host}:{port} failed: {exc}'
    except OSError as exc:
        result['error'] = f'cannot connect to {host}:{port}: {exc.strerror or exc}'
    finally:
        client.close()
        result['elapsed_s'] = round(time.monotonic() - start, 3)
    return result


def check_with_retries(retries=1, delay=2.0, **kwargs):
    """check_ssh, tried up to `retries` times (a reload can race the first SYN)."""
    attempts = []
    for attempt in range(max(1, int(retries))):
        if attempt:
            time.sleep(delay)
        result = check_ssh(**kwargs)
        attempts.append(result['error'])
        if result['ok']:
            break
    result['attempts'] = len(attempts)
    return result
