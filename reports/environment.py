"""Whether two runs may be compared: the environment fingerprint. ipcbench writes it as
`context.comparability` (machine facts and run settings) with its hash
`context.comparability_key`; for files written before that, the same object is rebuilt from
the context fields that exist. Runs whose fingerprints differ measure different things.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import json

# The inputs of the fingerprint, as ipcbench's add_comparability names them: machine facts
# from the context, run settings from context.ipcbench_config.
MACHINE_FIELDS = ('cpu_model', 'cpu_count_online', 'cpus_allowed', 'kernel', 'machine',
                  'cpu_governor', 'clocksource', 'smt', 'transparent_hugepages', 'placements',
                  'build_type', 'compiler', 'topology')
SETTING_FIELDS = ('suite', 'matrices', 'verify', 'min_time_s', 'repetitions', 'stall_ms', 'fan',
                  'sleep_us', 'spin_us', 'mmap_dir', 'inject_ns', 'inject_filter', 'perf')
# Fields added to the fingerprint later (the topology's one-line summary; perf counting on or
# off): a file that lacks them was hashed without them.
LATER_FIELDS = ('topology', 'perf')
# Settings that only narrow or widen what runs (benchmarks are matched by name anyway) or
# only decide how many repetitions a round has (the round is the unit): noted, not refused.
SOFT_FIELDS = ('matrices', 'repetitions', 'suite')
# Defaults of settings that older files do not record.
ABSENT_MEANS = {'inject_ns': 0, 'inject_filter': ''}


def fingerprint(ctx: dict) -> dict:
    """The comparability object of a run: ipcbench's own, else rebuilt from its context.
    Fields the file does not record are left out (unknown, not different)."""
    if isinstance(ctx.get('comparability'), dict):
        return dict(ctx['comparability'])
    cfg = ctx.get('ipcbench_config') or {}
    out = {k: ctx[k] for k in MACHINE_FIELDS if k in ctx and k != 'topology'}
    if isinstance(ctx.get('topology'), dict) and 'summary' in ctx['topology']:
        out['topology'] = ctx['topology']['summary']
    if 'cpu_count_online' not in out and 'num_cpus' in ctx:
        out['cpu_count_online'] = ctx['num_cpus']
    out.update({k: cfg.get(k, ABSENT_MEANS.get(k)) for k in SETTING_FIELDS
                if k in cfg or k in ABSENT_MEANS})
    return out


def _xxh3():
    """libxxhash's XXH3_64bits (what ipcbench hashes with), or None where it is missing."""
    try:
        lib = ctypes.CDLL(ctypes.util.find_library('xxhash') or 'libxxhash.so.0')
    except OSError:
        return None
    lib.XXH3_64bits.restype = ctypes.c_uint64
    lib.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    return lib.XXH3_64bits


def computed_key(ctx: dict) -> str:
    """The key ipcbench would have written for this context: XXH3-64 of the fingerprint's
    compact JSON with sorted keys, fields it lacks as null. '' without libxxhash."""
    xxh3 = _xxh3()
    if xxh3 is None:
        return ''
    fp = fingerprint(ctx)
    full = {k: fp.get(k) for k in MACHINE_FIELDS + SETTING_FIELDS
            if k in fp or k not in LATER_FIELDS}
    text = json.dumps(full, separators=(',', ':'), sort_keys=True, ensure_ascii=False).encode()
    return f'{xxh3(text, len(text)):016x}'


def key(ctx: dict) -> str:
    """ipcbench's comparability_key, else the same hash computed here ('' if it cannot be)."""
    return ctx.get('comparability_key') or computed_key(ctx)


def show(v) -> str:
    text = json.dumps(v, sort_keys=True) if isinstance(v, (list, dict)) else str(v)
    return text if len(text) <= 60 else text[:57] + '...'


def differences(a: dict, b: dict) -> tuple:
    """(hard, soft): the fields whose values differ between two fingerprints, as
    'field A vs B' texts; soft ones (SOFT_FIELDS) do not make runs incomparable. A field
    one side does not record is not a difference."""
    hard, soft = [], []
    for k in MACHINE_FIELDS + SETTING_FIELDS:
        if k in a and k in b and a[k] != b[k]:
            (soft if k in SOFT_FIELDS else hard).append(f'{k} {show(a[k])} vs {show(b[k])}')
    return hard, soft


def compare_contexts(base: dict, new: dict) -> tuple:
    """(hard, soft) differences between BASE's and NEW's contexts. Equal keys settle it."""
    if key(base) and key(base) == key(new):
        return [], []
    return differences(fingerprint(base), fingerprint(new))


def injected(ctx: dict) -> int:
    """The --inject-ns of a run (ns of busy work per message in the peer), 0 for normal."""
    cfg = ctx.get('ipcbench_config') or {}
    try:
        return int(cfg.get('inject_ns') or 0)
    except (TypeError, ValueError):
        return 0
