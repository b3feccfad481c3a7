# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Target-side editing of IKE daemon configuration files (swanctl.conf, ipsec.conf), stdlib only."""
from __future__ import annotations
