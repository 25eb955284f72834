"""Checks a parsed bench.json before anything uses it, so that a foreign, edited or broken file
is refused with one line naming the file, the place and what is wrong, instead of failing later
inside a chart or a statistic. What is checked is what the reports rely on; nothing else.
"""
from __future__ import annotations

import math
import re

# ipcbench writes 6 levels; far deeper input is not ours and could exhaust the stack
# of whatever walks it later.
MAX_DEPTH = 32

# Context fields the reports read, and the JSON types they must have when present.
_STR, _INT, _NUM, _LIST, _OBJ = (str,), (int,), (int, float), (list,), (dict,)
CONTEXT_TYPES = {
    'ipcbench_schema_version': _INT, 'ipcbench_version': _STR, 'date': _STR,
    'cpu_model': _STR, 'num_cpus': _INT, 'kernel': _STR, 'build_type': _STR,
    'library_build_type': _STR, 'cpu_governor': _STR, 'clocksource': _STR, 'verify': _STR,
    'timer_cost_ns': _NUM, 'cpus_allowed': _LIST, 'placements': _LIST,
    'ipcbench_config': _OBJ, 'ipcbench_skipped': _LIST, 'ipcbench_failures': _LIST,
    'comparability_key': _STR, 'comparability': _OBJ,
}
# Fields of a clean repetition that are measurements: finite and never negative. (Others,
# such as cpu_self, may be -1: "not pinned".)
_MEASURED = re.compile(r'^(real_time|cpu_time|iterations|messages|verified|errors|'
                       r'latency_samples|bytes_read|bytes_written|.*_ns|.*_per_second|'
                       r'.*_per_msg)$')
# Latency percentiles: a measured latency is never 0 (reading the clock alone costs more).
_LATENCY = re.compile(r'^(latency|rtt)_(p\d+|max)_ns$')
TIME_UNITS = ('ns', 'us', 'ms', 's')


class Invalid(Exception):
    """What is wrong and where, without the file's name (the caller adds it)."""


def _type_name(v) -> str:
    return {dict: 'an object', list: 'a list', str: 'a string', bool: 'true/false',
            type(None): 'null'}.get(type(v), 'a number')


def depth(doc) -> int:
    """Nesting depth of a parsed JSON value, walked without recursion."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (dict, list)):
            deepest = max(deepest, d)
            if d <= MAX_DEPTH:          # deeper than that is refused anyway
                stack.extend((c, d + 1) for c in (v.values() if isinstance(v, dict) else v))
    return deepest


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_context(ctx) -> None:
    """ipcbench's context: an object with our schema version, fields of the right types,
    skipped and placement lists of objects."""
    if not isinstance(ctx, dict):
        raise Invalid('no "context" object: not a file written by ipcbench run')
    if 'ipcbench_schema_version' not in ctx:
        raise Invalid('plain Google Benchmark JSON (no context.ipcbench_schema_version); '
                      'the reports need the context that ipcbench run writes')
    for k, types in CONTEXT_TYPES.items():
        v = ctx.get(k)
        if v is not None and (not isinstance(v, types) or isinstance(v, bool)):
            want = ' or '.join(sorted({_type_name(t()) for t in types}))
            raise Invalid(f'context.{k} is {_type_name(v)}, expected {want}')
    for i, sk in enumerate(ctx.get('ipcbench_skipped') or []):
        if not (isinstance(sk, dict) and isinstance(sk.get('name'), str)
                and isinstance(sk.get('reason'), str)):
            raise Invalid(f'context.ipcbench_skipped[{i}] is {_type_name(sk)}, expected an '
                          'object with "name" and "reason" strings')
    for i, p in enumerate(ctx.get('placements') or []):
        if not (isinstance(p, dict) and isinstance(p.get('name', ''), str)):
            raise Invalid(f'context.placements[{i}] is {_type_name(p)}, expected an object '
                          'with a "name" string')
    cfg = ctx.get('ipcbench_config') or {}
    for k in ('repetitions', 'sleep_us', 'spin_us', 'fan', 'inject_ns'):
        if k in cfg and not _is_number(cfg[k]):
            raise Invalid(f'context.ipcbench_config.{k} is {_type_name(cfg[k])}, '
                          'expected a number')


def check_entry(raw, i: int) -> None:
    """One entry of `benchmarks`: an object with a name, known run type and time unit, and,
    for a clean repetition, measurements that are finite, not negative, and latencies > 0
    when there are latency samples. Bare nan/inf were read as None."""
    if not isinstance(raw, dict):
        raise Invalid(f'benchmarks[{i}] is {_type_name(raw)}, expected an object')
    name = raw.get('run_name', raw.get('name'))
    if not isinstance(name, str) or not name:
        raise Invalid(f'benchmarks[{i}] has no name')
    where = f'benchmark {name} (benchmarks[{i}])'
    for k in ('name', 'run_name', 'aggregate_name', 'error_message', 'label'):
        if k in raw and not isinstance(raw[k], str):
            raise Invalid(f'{where}: {k} is {_type_name(raw[k])}, expected a string')
    if raw.get('run_type', 'iteration') not in ('iteration', 'aggregate'):
        raise Invalid(f'{where}: run_type {raw.get("run_type")!r} is neither iteration '
                      'nor aggregate')
    if raw.get('time_unit', 'ns') not in TIME_UNITS:
        raise Invalid(f'{where}: time_unit {raw.get("time_unit")!r} is not one of '
                      f'{", ".join(TIME_UNITS)}')
    rep = raw.get('repetition_index', 0)
    if not isinstance(rep, int) or isinstance(rep, bool) or rep < 0:
        raise Invalid(f'{where}: repetition_index {rep!r} is not a count')
    if raw.get('run_type', 'iteration') != 'iteration' or raw.get('error_occurred'):
        return                          # aggregates may hold NaN (cv of 0/0); errors hold 0
    samples = raw.get('latency_samples')
    for k, v in raw.items():
        if not _MEASURED.match(k):
            continue
        if v is None or (_is_number(v) and not math.isfinite(v)):
            raise Invalid(f'{where}: {k} is not a finite number (NaN or inf)')
        if not _is_number(v):
            raise Invalid(f'{where}: {k} is {_type_name(v)} {v!r}, expected a number')
        if v < 0:
            raise Invalid(f'{where}: {k} is negative ({v:g})')
        if v == 0 and _LATENCY.match(k) and samples != 0:
            raise Invalid(f'{where}: {k} is 0 with latency samples; a measured latency is '
                          'never 0 (file edited or broken?)')
    if not raw.get('real_time', 1) > 0:
        raise Invalid(f'{where}: real_time is 0; a measured repetition takes time')


def check_unique(entries) -> None:
    """No two entries for the same benchmark, run type, aggregate and repetition: a file
    that was concatenated or edited would otherwise count repetitions twice."""
    seen = {}
    for i, raw in enumerate(entries):
        ident = (raw.get('run_name', raw.get('name')), raw.get('run_type', 'iteration'),
                 raw.get('aggregate_name', ''), raw.get('repetition_index', 0))
        if ident in seen:
            name, run_type, agg, rep = ident
            what = f'{agg} aggregate' if agg else f'{run_type} {rep}'
            raise Invalid(f'benchmarks[{i}] repeats benchmarks[{seen[ident]}] '
                          f'({name}, {what}): counted twice')
        seen[ident] = i


def check_document(doc) -> None:
    """The whole file: depth, context, a non-empty benchmarks list of valid entries."""
    d = depth(doc)
    if d > MAX_DEPTH:
        raise Invalid(f'JSON nested more than {MAX_DEPTH} levels deep (ipcbench writes 6); '
                      'not a bench.json')
    if not isinstance(doc, dict):
        raise Invalid(f'the top level is {_type_name(doc)}, expected an object with '
                      '"context" and "benchmarks"')
    if not isinstance(doc.get('benchmarks'), list):
        raise Invalid('no "benchmarks" list; not a Google Benchmark JSON file')
    check_context(doc.get('context'))
    if not doc['benchmarks']:
        raise Invalid('the "benchmarks" list is empty: the run measured nothing')
    for i, raw in enumerate(doc['benchmarks']):
        check_entry(raw, i)
    check_unique(doc['benchmarks'])
