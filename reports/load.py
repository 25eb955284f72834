"""Reads ipcbench's bench.json (Google Benchmark 1.7.1 JSON plus our context) into plain
records. Tolerant of what Google Benchmark really writes (bare NaN/inf words); strict about
structure (validate.py), so a truncated, foreign or edited file is reported as bad input with
one line naming the file and what is wrong, never half-read.
"""
from __future__ import annotations

import json
import math
import os
import re
import stat
from dataclasses import dataclass, field

from reports import validate

# Google Benchmark may print non-finite numbers as bare words, which is not JSON.
_NON_FINITE = re.compile(r'([:\[,]\s*)-?(nan|inf|infinity)\b', re.IGNORECASE)
# Suffixes Google Benchmark appends to a benchmark's name; they are not part of our key.
GB_SUFFIXES = ('manual_time', 'real_time', 'process_time')
GB_PREFIXED = ('iterations:', 'repeats:', 'threads:', 'min_time:', 'min_warmup_time:')
_TIME_SCALE_NS = {'ns': 1.0, 'us': 1e3, 'ms': 1e6, 's': 1e9}
# The full suite with many repetitions writes a few MB; far larger is not a bench.json, and
# reading it whole would only exhaust memory.
MAX_FILE_BYTES = 256 << 20
PLACEMENTS = ('cross', 'same', 'free')
FAN_WORKLOADS = ('fanin', 'fanout')


class BadInput(Exception):
    """A file or folder that cannot be used: missing, not JSON, not ipcbench's format."""


@dataclass(frozen=True, order=True)
class Key:
    """What a benchmark measures: the parts of its name, without Google Benchmark's suffixes."""
    workload: str
    backend: str
    sync: str
    size: int
    placement: str = ''
    inplace: bool = False
    fan: int = 0              # fanin / fanout: the number of peers (0 for the others)
    rate: int = 0             # rate: the offered messages per second (0 for the others)

    @property
    def name(self) -> str:
        parts = [self.workload, self.backend, self.sync, str(self.size)]
        if self.rate:
            parts.append(str(self.rate))
        if self.placement:
            parts.append(self.placement)
        if self.inplace:
            parts.append('inplace')
        if self.fan:
            parts.append(f'fan{self.fan}')
        return '/'.join(parts)


@dataclass
class Entry:
    """One entry of bench.json's `benchmarks` list. Times are converted to nanoseconds."""
    key: Key
    name: str                 # run_name as written, for matching across files
    run_type: str             # 'iteration' or 'aggregate'
    aggregate: str            # '' or mean/median/stddev/cv
    repetition: int
    error: str                # '' when the benchmark ran cleanly
    values: dict = field(default_factory=dict)
    text: dict = field(default_factory=dict)


@dataclass
class ResultSet:
    """One result folder (or file): its context and entries, and the label charts use."""
    path: str
    label: str
    context: dict
    entries: list
    parts: list = field(default_factory=list)  # the files merged into this set
    histograms: dict = field(default_factory=dict)  # Key -> {'latency', 'rtt'}: histograms.py

    def iterations(self):
        """Entries that are measurements (not aggregates) and did not fail."""
        return [e for e in self.entries if e.run_type == 'iteration' and not e.error]

    def multi_placement(self) -> bool:
        return len({e.key.placement for e in self.entries}) > 1


def parse_json_text(text: str, where: str):
    """Parses bench.json text, reading bare nan/inf as null. Raises BadInput."""
    try:
        return json.loads(_NON_FINITE.sub(r'\1null', text))
    except json.JSONDecodeError as err:
        raise BadInput(f'{where}: not valid JSON ({err.msg} at line {err.lineno}, '
                       f'column {err.colno}); truncated or not a bench.json?') from None
    except RecursionError:
        raise BadInput(f'{where}: JSON nested too deeply to read; not a bench.json') from None


def read_text(path: str) -> str:
    """A regular file's text, UTF-8. Raises BadInput naming errno's text, a size beyond
    MAX_FILE_BYTES, or the first byte that is not UTF-8."""
    try:
        with open(path, 'rb') as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise BadInput(f'{path}: not a regular file')
            if st.st_size > MAX_FILE_BYTES:
                raise BadInput(f'{path}: {st.st_size / 1e6:.0f} MB, larger than any bench.json '
                               f'(at most {MAX_FILE_BYTES >> 20} MiB read)')
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise BadInput(f'{path}: cannot read ({err.strerror})') from None
    if not data.strip():
        raise BadInput(f'{path}: empty file; the run that wrote it did not finish?')
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError as err:
        raise BadInput(f'{path}: not UTF-8 text (byte 0x{data[err.start]:02x} at offset '
                       f'{err.start}); not a bench.json?') from None


def _natural(name: str) -> list:
    """Sort key that puts round-2 before round-10."""
    return [int(t) if t.isdigit() else t for t in re.split(r'(\d+)', name)]


def bench_files(path: str) -> list:
    """The bench.json files a path stands for: the file itself, DIR/bench.json, or the
    bench.json of DIR's immediate subfolders (rounds of scripts/ci-regression), sorted."""
    if os.path.isfile(path):
        return [path]
    if not os.path.exists(path):
        raise BadInput(f'{path}: no such file or folder')
    if not os.path.isdir(path):
        raise BadInput(f'{path}: not a regular file or folder')
    own = os.path.join(path, 'bench.json')
    if os.path.isfile(own):
        return [own]
    try:
        names = os.listdir(path)
    except OSError as err:
        raise BadInput(f'{path}: cannot list ({err.strerror})') from None
    found = [os.path.join(path, d, 'bench.json') for d in sorted(names, key=_natural)
             if os.path.isfile(os.path.join(path, d, 'bench.json'))]
    if not found:
        raise BadInput(f'{path}: no bench.json in this folder or its subfolders')
    return found


_FAN_PART = re.compile(r'^fan(\d+)$')


def parse_name(name: str, text: dict, fan=None) -> Key:
    """Key from WORKLOAD/BACKEND/SYNC/SIZE[/RATE][/PLACEMENT][/inplace][/fanN][/gbench
    suffixes] (RATE: the rate workload's offered messages per second); `fan` (the entry's
    counter) sets a fanin / fanout key's peers when the name has none."""
    parts = name.split('/')
    if len(parts) < 4 or not parts[3].isdigit():
        raise ValueError(name)
    placement, inplace, peers, rate = '', False, 0, 0
    rest = parts[4:]
    if parts[0] == 'rate':
        if not rest or not rest[0].isdigit() or int(rest[0]) == 0:
            raise ValueError(name)
        rate, rest = int(rest[0]), rest[1:]
    for part in rest:
        if part == 'inplace':
            inplace = True
        elif part in PLACEMENTS:
            placement = part
        elif _FAN_PART.match(part):
            peers = int(part[3:])
    placement = placement or str(text.get('placement', ''))
    inplace = inplace or text.get('copy_mode') == 'inplace'
    if parts[0] in FAN_WORKLOADS and not peers and isinstance(fan, (int, float)) and fan >= 1:
        peers = int(fan)
    return Key(parts[0], parts[1], parts[2], int(parts[3]), placement, inplace,
               peers if parts[0] in FAN_WORKLOADS else 0, rate)


def _number(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def _entry(raw: dict) -> Entry:
    """An Entry from a validated raw entry. Raises ValueError for a name that is not ours."""
    name = raw.get('run_name') or raw.get('name')
    text = {k: v for k, v in raw.items() if isinstance(v, str)}
    key = parse_name(name, text, raw.get('fan'))
    values = {}
    scale = _TIME_SCALE_NS[raw.get('time_unit', 'ns')]
    no_samples = raw.get('latency_samples') == 0
    for k, v in raw.items():
        num = _number(v)
        if num is None:
            if v is None:            # a NaN or inf that was read as null
                values[k] = math.nan
            continue
        if no_samples and k.startswith(('latency_', 'rtt_')) and num == 0:
            continue                 # no samples: the percentile is absent, not 0 ns
        values[k] = num * scale if k in ('real_time', 'cpu_time') else num
    if key.workload == 'pingpong' and values.get('real_time', 0) > 0:
        # The mean one-way latency: half the mean round trip (histograms.py refines it).
        values.setdefault('latency_mean_ns', values['real_time'] / 2)
    error = ''
    if raw.get('error_occurred'):
        error = str(raw.get('error_message') or 'error')
    return Entry(key=key, name=name, run_type=str(raw.get('run_type', 'iteration')),
                 aggregate=str(raw.get('aggregate_name', '')),
                 repetition=raw.get('repetition_index', 0), error=error,
                 values=values, text=text)


def load_file(path: str, label: str = '') -> ResultSet:
    """Reads one bench.json. Raises BadInput with a one-line reason naming the file."""
    doc = parse_json_text(read_text(path), path)
    try:
        validate.check_document(doc)
    except validate.Invalid as err:
        raise BadInput(f'{path}: {err}') from None
    entries = []
    for raw in doc['benchmarks']:
        try:
            entries.append(_entry(raw))
        except ValueError:
            continue  # a foreign benchmark name among ours: ignored, not fatal
    if not entries:
        first = doc['benchmarks'][0].get('run_name') or doc['benchmarks'][0].get('name')
        raise BadInput(f'{path}: none of its {len(doc["benchmarks"])} benchmarks is named '
                       f'WORKLOAD/BACKEND/SYNC/SIZE as ipcbench names them (first: {first})')
    return ResultSet(path=path, label=label or default_label(path), context=doc['context'],
                     entries=entries)


def load(path: str, label: str = '') -> ResultSet:
    """Reads a file or folder; several files (rounds) are merged into one set."""
    files = bench_files(path)
    sets = [load_file(f) for f in files]
    merged = ResultSet(path=path, label=label or default_label(path), context=sets[0].context,
                       entries=[e for s in sets for e in s.entries], parts=sets)
    return merged


def default_label(path: str) -> str:
    """A short label: the folder's name (`results/2026.../bench.json` -> `2026...`)."""
    path = os.path.abspath(path)
    if os.path.basename(path) == 'bench.json':
        path = os.path.dirname(path)
    return os.path.basename(path.rstrip('/')) or path


def unique_labels(paths: list, labels: list) -> list:
    """Labels for several folders: the given ones, else folder names made unique."""
    out = []
    for i, p in enumerate(paths):
        lab = labels[i] if i < len(labels) and labels[i] else default_label(p)
        if lab in out:
            lab = f'{lab} ({i + 1})'
        out.append(lab)
    return out
