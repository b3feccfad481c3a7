# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Target-side gathering for vpnops.ikev2.ike_facts: one module per source, stdlib only."""
from __future__ import annotations
