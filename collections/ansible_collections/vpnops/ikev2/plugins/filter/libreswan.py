# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for libreswan hosts: strongSwan proposals in libreswan's syntax, conn sections, algparse output.

The logic lives in plugins/module_utils/conf/libreswan_proposals.py; the documentation of each filter is in
the YAML file of the same name next to this one.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.vpnops.ikev2.plugins.module_utils.conf import libreswan_proposals as lp


def libreswan_proposals(ike, esp=None):
    """strongSwan IKE proposals (and ESP proposals as the argument) -> libreswan ike=/esp= and pluto names."""
    return lp.translate(ike, esp)


def libreswan_conns(files):
    """{path: ipsec.conf text} -> the conn sections of every file."""
    if not isinstance(files, dict):
        raise AnsibleFilterError('libreswan_conns expects a mapping of path to file text, got %s' % type(files).__name__)
    out = []
    for path in sorted(files):
        out.extend(lp.parse_conns(files[path], path))
    return out


def libreswan_algparse(text):
    """ipsec algparse output -> [{kind, value, names, error}]."""
    return lp.parse_algparse(text)


def libreswan_set_algorithms(text, conns, ike, esp):
    """The text with the ike=/esp= lines of the named conns set."""
    if isinstance(conns, str):
        conns = [conns]
    return lp.set_algorithms(text, conns, ike, esp)


def libreswan_no_proposal(log):
    """pluto's NO_PROPOSAL_CHOSEN lines split into IKE_SA_INIT/IKE_AUTH and CREATE_CHILD_SA ones."""
    return lp.no_proposal_chosen(log)


class FilterModule:
    """libreswan proposal filters."""

    def filters(self):
        return {
            'libreswan_proposals': libreswan_proposals,
            'libreswan_conns': libreswan_conns,
            'libreswan_algparse': libreswan_algparse,
            'libreswan_set_algorithms': libreswan_set_algorithms,
            'libreswan_no_proposal': libreswan_no_proposal,
        }
