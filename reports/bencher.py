"""`history export --format bmf`: a stored run as Bencher Metric Format (the same document
`ipcreport export DIR --format bmf` makes from the run's folder), written to a file or pushed
to a Bencher server as a report (POST /v0/projects/PROJECT/reports, the body `bencher run
--adapter json` sends: branch, git hash, testbed, start and end time, the BMF as a string).
Every request can be written to a file instead of sent (--request-out): what tests check.
"""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass

from reports import export, history, history_db
from reports.load import BadInput

DEFAULT_HOST = 'https://api.bencher.dev'
_GIT_HASH = re.compile(r'^[0-9a-f]{40}$')


def _stored_metric(parts: tuple) -> str:
    """The history's metric for one of export.MEASURES' counter tuples."""
    if len(parts) == 1:
        return parts[0]
    return next(name for name, p in history.DERIVED.items() if p == parts)


def bmf(db, run_id: int) -> dict:
    """The BMF document of a stored run: benchmark -> measure -> value, lower, upper."""
    vals = history_db.values(db, run_id)
    out = {}
    for slug, (parts, _, _) in export.MEASURES.items():
        metric = _stored_metric(parts)
        for (bench, m), v in vals.items():
            if m == metric:
                out.setdefault(bench, {})[slug] = {'value': v.value, 'lower_value': v.low,
                                                   'upper_value': v.high}
    if not out:
        raise BadInput(f'run {run_id}: no benchmark has latency, throughput or CPU values')
    return {b: dict(sorted(ms.items())) for b, ms in sorted(out.items())}


@dataclass
class Target:
    """Where reports go: a Bencher server, project, branch and testbed."""
    host: str
    project: str
    branch: str
    testbed: str
    token: str

    @property
    def name(self) -> str:
        return (f'{self.host.rstrip("/")}/{self.project}?branch={self.branch}'
                f'&testbed={self.testbed}')


def default_testbed(run: history_db.RunRow) -> str:
    """One testbed per environment: the host name and the comparability key."""
    return f'{(run.host or "ipcbench")[:40]}-{run.key}'


def git_hash(commit: str | None) -> str | None:
    """A commit Bencher takes: 40 hex digits; a '-dirty' build has none (it is no commit)."""
    return commit if commit and _GIT_HASH.match(commit) else None


def request(db, run: history_db.RunRow, target: Target) -> dict:
    """The HTTP request that reports `run` to `target`: method, url, headers, body."""
    testbed = target.testbed or default_testbed(run)
    body = {'branch': target.branch, 'testbed': testbed, 'start_time': run.time,
            'end_time': run.end_time,
            'results': [json.dumps(bmf(db, run.id), sort_keys=True)],
            'settings': {'adapter': 'json'}}
    h = git_hash(run.commit)
    if h:
        body['hash'] = h
    return {'method': 'POST',
            'url': f'{target.host.rstrip("/")}/v0/projects/{target.project}/reports',
            'headers': {'Content-Type': 'application/json', 'Accept': 'application/json',
                        'Authorization': f'Bearer {target.token}'},
            'body': body}


def redacted(req: dict) -> dict:
    """The request without its token, to write to a file or print."""
    out = json.loads(json.dumps(req))
    if 'Authorization' in out['headers']:
        out['headers']['Authorization'] = 'Bearer ***'
    return out


def send(req: dict, timeout: float = 60) -> dict:
    """Sends the request; the server's JSON answer. Raises BadInput with the HTTP status and
    the server's message, or the network error, on one line."""
    data = json.dumps(req['body']).encode()
    r = urllib.request.Request(req['url'], data=data, method=req['method'],
                               headers=req['headers'])
    try:
        with urllib.request.urlopen(r, timeout=timeout) as resp:
            text = resp.read().decode('utf-8', 'replace')
    except urllib.error.HTTPError as err:
        detail = err.read().decode('utf-8', 'replace').replace('\n', ' ')[:300]
        raise BadInput(f'{req["url"]}: the server refused the report (HTTP {err.code} '
                       f'{err.reason}): {detail}') from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, 'reason', err)
        raise BadInput(f'{req["url"]}: cannot reach the server ({reason})') from None
    try:
        return json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        return {'answer': text[:300]}
