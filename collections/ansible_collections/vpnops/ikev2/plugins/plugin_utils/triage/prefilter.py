# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpnops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The prefilter: find the few lines that carry one of the rule set's literal signatures, without
looking at the others. Hyperscan (literal mode) when installed, else ``bytes.find`` per signature.

``scan(buf)`` takes a bytes buffer of whole lines and returns ``{line_start: (line_end, {sig_id})}``.
"""

from __future__ import annotations

try:
    import hyperscan  # pinned in requirements.txt; optional
    HAVE_HYPERSCAN = True
except ImportError:  # pragma: no cover - exercised by forcing backend='re'
    hyperscan = None
    HAVE_HYPERSCAN = False


class Prefilter(object):
    """``sampled``: signature ids reported at most once per scanned block (context lines of big
    logs: their presence and a recent value are what the rules use, not every occurrence)."""

    def __init__(self, signatures, backend=None, sampled=()):
        self.signatures = list(signatures)
        self.sampled = frozenset(sampled)
        self.encoded = [s.encode('utf-8') for s in self.signatures]
        if backend is None:
            backend = 'hyperscan' if HAVE_HYPERSCAN else 're'
        if backend == 'hyperscan' and not HAVE_HYPERSCAN:
            backend = 're'
        self.backend = backend
        if backend == 'hyperscan':
            self.db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            n = len(self.encoded)
            self.db.compile(expressions=self.encoded, ids=list(range(n)), elements=n,
                            flags=[0] * n, literal=True)
            self.scratch = hyperscan.Scratch(self.db)
            self.db_sampled = None
            if self.sampled:
                flags = [hyperscan.HS_FLAG_SINGLEMATCH if i in self.sampled else 0 for i in range(n)]
                self.db_sampled = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
                self.db_sampled.compile(expressions=self.encoded, ids=list(range(n)), elements=n,
                                        flags=flags, literal=True)
                self.scratch_sampled = hyperscan.Scratch(self.db_sampled)
        else:
            self.re_ids = None

    def scan(self, buf, sample=False):
        """Lines of ``buf`` (bytes) carrying a signature: {start: [end, set(sig ids)]}. With
        ``sample``, signatures in ``sampled`` report only their first line in ``buf``."""
        hits = {}
        if not buf:
            return hits
        find = buf.find
        rfind = buf.rfind
        if self.backend == 'hyperscan':
            ends = []

            def on_match(sig_id, _from, to, _flags, _ctx):
                ends.append((to, sig_id))
                return None

            if sample and self.db_sampled is not None:
                self.db_sampled.scan(buf, match_event_handler=on_match, scratch=self.scratch_sampled)
            else:
                self.db.scan(buf, match_event_handler=on_match, scratch=self.scratch)
            pairs = ends
        else:
            # no Hyperscan: one C-speed bytes.find pass per signature (far faster than an re
            # alternation over a few hundred literals)
            pairs = []
            sampled = self.sampled if sample else ()
            for sig_id, sig in enumerate(self.encoded):
                n = len(sig)
                pos = find(sig)
                while pos >= 0:
                    pairs.append((pos + n, sig_id))
                    if sig_id in sampled:
                        break
                    nl = find(b'\n', pos + n)
                    if nl < 0:
                        break
                    pos = find(sig, nl)
            pairs.sort()
        last_start = -1
        last_end = -1
        for to, sig_id in pairs:
            if last_start < to <= last_end:
                hits[last_start][1].add(sig_id)
                continue
            start = rfind(b'\n', 0, to) + 1
            end = find(b'\n', to)
            if end < 0:
                end = len(buf)
            entry = hits.get(start)
            if entry is None:
                hits[start] = [end, set((sig_id,))]
            else:
                entry[1].add(sig_id)
            last_start, last_end = start, end
        return hits

    def scan_texts(self, texts):
        """For a list of str: {index: set(sig ids)} of the texts carrying a signature."""
        if not texts:
            return {}
        parts = []
        starts = []
        pos = 0
        for t in texts:
            b = t.replace('\n', ' ').encode('utf-8', 'replace') if t else b''
            starts.append(pos)
            parts.append(b)
            pos += len(b) + 1
        buf = b'\n'.join(parts)
        hits = self.scan(buf)
        if not hits:
            return {}
        import bisect
        out = {}
        for start, (_end, ids) in hits.items():
            idx = bisect.bisect_right(starts, start) - 1
            out.setdefault(idx, set()).update(ids)
        return out
