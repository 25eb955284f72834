"""The parts of a report that are not measurements: the kernel's limits as the run saw them
(context.limits: configured values and what the probes really got) and the conformance
verdicts (conformance.json of `ipcbench conform --out DIR`), as plain rows for the summary.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from reports import load

CONFORMANCE_FILE = 'conformance.json'
RESULTS = ('PASS', 'FAIL', 'SKIP')
# Configured limits worth a row, in this order (the /proc/sys names ipcbench limits uses).
CONFIGURED = ('kernel.shmmax', 'kernel.shmall', 'kernel.shmmni', 'kernel.msgmax',
              'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'fs.mqueue.msg_max',
              'fs.mqueue.msgsize_max', 'fs.mqueue.queues_max', 'fs.pipe-max-size',
              'fs.pipe-user-pages-soft', 'RLIMIT_MSGQUEUE', 'RLIMIT_MEMLOCK', 'RLIMIT_NOFILE',
              '/dev/shm', 'vm.overcommit_memory')


# Limits counted in bytes, shown with binary units too.
BYTES = re.compile(r'^(kernel\.shmmax|kernel\.msgmax|kernel\.msgmnb|fs\.mqueue\.msgsize_max|'
                   r'fs\.pipe-max-size|RLIMIT_MSGQUEUE|RLIMIT_MEMLOCK|/dev/shm|'
                   r'probed\..*(bytes|size|capacity))$')


def _bytes(v) -> str:
    """12345678 -> '12345678 (11.8 MiB)'; near 2^64, 'no limit'."""
    if not isinstance(v, int) or isinstance(v, bool) or v < 1024:
        return str(v)
    if v >= 1 << 62:
        return f'{v} (no limit)'
    for shift, unit in ((60, 'EiB'), (50, 'PiB'), (40, 'TiB'), (30, 'GiB'), (20, 'MiB'),
                        (10, 'KiB')):
        if v >= 1 << shift:
            return f'{v} ({v / (1 << shift):.3g} {unit})'
    return str(v)


def _text(v, name: str = '') -> str:
    """A limit's value: numbers as written (with binary units for bytes), {soft, hard} and
    kernel.sem's fields inline."""
    fmt_one = _bytes if BYTES.match(name) else str
    if isinstance(v, dict):
        if 'soft' in v and 'hard' in v:
            return f'soft {fmt_one(v["soft"])}, hard {fmt_one(v["hard"])}'
        if 'size_bytes' in v:
            return f'{_bytes(v["size_bytes"])} bytes'
        return ', '.join(f'{k} {x}' for k, x in v.items() if not isinstance(x, (dict, list)))
    return fmt_one(v)


def limits(context: dict) -> tuple:
    """(configured rows [name, value], probed rows [name, value, what bounded it, note]) from
    context.limits; both empty when the run has no limits."""
    lim = context.get('limits')
    if not isinstance(lim, dict):
        return [], []
    configured = [[k, _text(lim[k], k)] for k in CONFIGURED if k in lim]
    probes = lim.get('probes') if isinstance(lim.get('probes'), dict) else {}
    probed = []
    for k in sorted(x for x in lim if x.startswith('probed.')):
        p = probes.get(k) if isinstance(probes.get(k), dict) else {}
        bound = p.get('limit_detail') or p.get('cap') or p.get('limit') or ''
        if p.get('capped'):
            note = 'capped by the probe (a lower bound)'
        elif p.get('agrees') is False:
            note = 'differs from the configured value: ' + str(p.get('why', ''))
        else:
            note = 'as configured' if p else ''
        probed.append([k.removeprefix('probed.'), _text(lim[k], k), str(bound), note.strip()])
    return configured, probed


@dataclass
class Conformance:
    """conformance.json, summarised: per mechanism the count of each result, and the FAILs
    and SKIPs with their reasons."""
    path: str
    kernel: str
    uid: int
    counts: dict = field(default_factory=dict)        # mechanism -> {PASS, FAIL, SKIP}
    failed: list = field(default_factory=list)        # (mechanism, behaviour, man, reason)
    skipped: list = field(default_factory=list)

    def total(self, result: str) -> int:
        return sum(c.get(result, 0) for c in self.counts.values())


def read_conformance(path: str) -> Conformance:
    """Reads conformance.json. Raises BadInput naming the file and what is wrong."""
    doc = load.parse_json_text(load.read_text(path), path)
    if not isinstance(doc, dict) or not isinstance(doc.get('results'), list):
        raise load.BadInput(f'{path}: no "results" list; not a conformance.json of '
                            '`ipcbench conform --out DIR`')
    c = Conformance(path, str(doc.get('kernel', '?')), doc.get('uid', -1))
    for i, r in enumerate(doc['results']):
        if not (isinstance(r, dict) and isinstance(r.get('mechanism'), str)
                and r.get('result') in RESULTS):
            raise load.BadInput(f'{path}: results[{i}] has no mechanism or a result other '
                                f'than {", ".join(RESULTS)}')
        per = c.counts.setdefault(r['mechanism'], dict.fromkeys(RESULTS, 0))
        per[r['result']] += 1
        row = (r['mechanism'], str(r.get('behaviour', r.get('test', '?'))),
               str(r.get('man', '')), str(r.get('reason', '')))
        if r['result'] == 'FAIL':
            c.failed.append(row)
        elif r['result'] == 'SKIP':
            c.skipped.append(row)
    c.counts = dict(sorted(c.counts.items()))
    return c


def find_conformance(given: str, sets: list):
    """The Conformance to report: the file given (--conformance), else a conformance.json in
    the folder of the first result set that has one; None when there is none."""
    if given:
        path = os.path.join(given, CONFORMANCE_FILE) if os.path.isdir(given) else given
        if not os.path.isfile(path):
            raise load.BadInput(f'{given}: no such conformance file')
        return read_conformance(path)
    for rs in sets:
        folder = rs.path if os.path.isdir(rs.path) else os.path.dirname(rs.path)
        path = os.path.join(folder, CONFORMANCE_FILE)
        if os.path.isfile(path):
            return read_conformance(path)
    return None
