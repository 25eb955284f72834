"""`history export --format bmf`: the BMF of a stored run is the document `ipcreport export`
makes from its folder; --push sends Bencher's report request, checked against a recording
HTTP server on 127.0.0.1 inside the test (no network) and against --request-out's file."""
import http.server
import json
import os
import threading
import unittest

from historyfx import COMMIT, QUIET, SLEEP, history_of, make_doc, run, write_run
from roundsfx import TempDirTest
from test_calibrate_export import bmf_problems

from reports import export, load

TOKEN = 'bencher-test-token'


class Recorder(http.server.BaseHTTPRequestHandler):
    """Records every request; answers with the status the test sets."""
    seen, status = [], 201

    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        Recorder.seen.append({'path': self.path, 'headers': dict(self.headers),
                              'body': json.loads(body)})
        answer = (json.dumps({'uuid': f'report-{len(Recorder.seen)}'}) if self.status < 400
                  else json.dumps({'message': 'Invalid testbed'})).encode()
        self.send_response(self.status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_):
        pass


class Bmf(TempDirTest):

    def test_same_document_as_export_of_the_folder(self):
        one = os.path.join(self.tmp, 'one')
        write_run(one, make_doc(2), {})
        rounds = os.path.join(self.tmp, 'rounds')
        write_run(rounds, make_doc(3), {SLEEP: [1.0, 1.3, 0.8, 1.1]}, rounds=4)
        db = os.path.join(self.tmp, 'h.sqlite')
        run('history', 'add', one, rounds, '--db', db)
        for rid, folder in ((1, one), (2, rounds)):
            path = os.path.join(self.tmp, f'run{rid}.json')
            rc, out, err = run('history', 'export', '--format', 'bmf', '--db', db,
                               '--run', str(rid), '--output', path)
            self.assertEqual(rc, 0, err)
            with open(path) as f:
                doc = json.load(f)
            self.assertEqual(bmf_problems(doc), [])
            self.assertEqual(doc, export.bmf(load.load(folder)))
        rc, _, _ = run('history', 'export', '--format', 'bmf', '--db', db, '--output',
                       os.path.join(self.tmp, 'newest.json'))
        self.assertEqual(rc, 0)
        with open(os.path.join(self.tmp, 'newest.json')) as f:
            self.assertEqual(json.load(f), export.bmf(load.load(rounds)))

    def test_bad_choices(self):
        db, _ = history_of(self.tmp, [{}])
        for argv, why in ((('--run', '9', '--output', 'x'), 'no run 9 in the history'),
                          ((), 'export needs --output FILE'),
                          (('--run', '1', '--run', '1', '--output', 'x'), '--output takes one'),
                          (('--push',), '--push needs --project SLUG')):
            rc, _, err = run('history', 'export', '--format', 'bmf', '--db', db, *argv)
            self.assertEqual(rc, 2, (argv, err))
            self.assertIn(why, err)
        rc, _, err = run('history', 'export', '--format', 'bmf', '--db', db, '--push',
                         '--project', 'p', env={'BENCHER_API_TOKEN': ''})
        self.assertEqual(rc, 2)
        self.assertIn('needs the API token in $BENCHER_API_TOKEN', err)


class Push(TempDirTest):
    def setUp(self):
        super().setUp()
        self.server = http.server.HTTPServer(('127.0.0.1', 0), Recorder)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        Recorder.seen, Recorder.status = [], 201
        self.host = f'http://127.0.0.1:{self.server.server_port}'
        self.db, self.dirs = history_of(self.tmp, [{SLEEP: q} for q in QUIET[:3]])

    def push(self, *extra, env=None):
        return run('history', 'export', '--format', 'bmf', '--db', self.db, '--push',
                   '--host', self.host, '--project', 'ipcb', '--testbed', 'vm-2cpu', *extra,
                   env={'BENCHER_API_TOKEN': TOKEN, **(env or {})})

    def test_report_request_as_bencher_takes_it(self):
        rc, out, err = self.push()
        self.assertEqual(rc, 0, err)
        self.assertIn('pushed run 3 to ', out)
        self.assertIn('as report report-1', out)
        (req,) = Recorder.seen
        self.assertEqual(req['path'], '/v0/projects/ipcb/reports')
        self.assertEqual(req['headers']['Authorization'], f'Bearer {TOKEN}')
        self.assertEqual(req['headers']['Content-Type'], 'application/json')
        body = req['body']
        self.assertEqual(sorted(body), ['branch', 'end_time', 'hash', 'results', 'settings',
                                        'start_time', 'testbed'])
        self.assertEqual((body['branch'], body['testbed'], body['hash'], body['settings']),
                         ('main', 'vm-2cpu', COMMIT, {'adapter': 'json'}))
        self.assertEqual(body['start_time'], '2026-12-03T10:00:00Z')
        self.assertGreaterEqual(body['end_time'], body['start_time'])
        (results,) = body['results']
        self.assertEqual(json.loads(results), export.bmf(load.load(self.dirs[2])))

    def test_all_pushes_each_run_once_in_time_order(self):
        rc, out, err = self.push('--all')
        self.assertEqual(rc, 0, err)
        self.assertEqual([r['body']['start_time'][:10] for r in Recorder.seen],
                         ['2026-12-01', '2026-12-02', '2026-12-03'])
        rc, out, _ = self.push('--all')
        self.assertIn('nothing to push', out)
        self.assertEqual(len(Recorder.seen), 3)
        # Another branch is another target: everything goes again; --run names one.
        self.push('--all', '--branch', 'feature')
        self.assertEqual(len(Recorder.seen), 6)
        self.push('--run', '2')
        self.assertEqual(Recorder.seen[-1]['body']['start_time'][:10], '2026-12-02')

    def test_dirty_build_has_no_hash_and_default_testbed_is_per_environment(self):
        d = os.path.join(self.tmp, 'dirty')
        write_run(d, make_doc(9, commit=COMMIT + '-dirty'), {})
        run('history', 'add', d, '--db', self.db)
        rc, out, err = run('history', 'export', '--format', 'bmf', '--db', self.db, '--push',
                           '--host', self.host, '--project', 'ipcb',
                           env={'BENCHER_API_TOKEN': TOKEN})
        self.assertEqual(rc, 0, err)
        self.assertIn('without a git hash', out)
        body = Recorder.seen[-1]['body']
        self.assertNotIn('hash', body)
        self.assertRegex(body['testbed'], r'^vm-[0-9a-f]{16}$')

    def test_refused_or_unreachable_is_exit_2_naming_why(self):
        Recorder.status = 400
        rc, out, err = self.push()
        self.assertEqual(rc, 2)
        self.assertIn('the server refused the report (HTTP 400 Bad Request): '
                      '{"message": "Invalid testbed"}', err)
        rc, _, err = run('history', 'export', '--format', 'bmf', '--db', self.db, '--push',
                         '--host', 'http://127.0.0.1:9', '--project', 'ipcb',
                         env={'BENCHER_API_TOKEN': TOKEN})
        self.assertEqual(rc, 2)
        self.assertIn('cannot reach the server', err)

    def test_request_out_writes_the_request_and_sends_nothing(self):
        path = os.path.join(self.tmp, 'requests.jsonl')
        rc, out, err = self.push('--all', '--request-out', path, env={'BENCHER_API_TOKEN': ''})
        self.assertEqual(rc, 0, err)
        self.assertEqual(Recorder.seen, [])
        with open(path) as f:
            reqs = [json.loads(line) for line in f]
        self.assertEqual(len(reqs), 3)
        self.assertEqual(reqs[0]['url'], f'{self.host}/v0/projects/ipcb/reports')
        self.assertEqual(reqs[0]['headers']['Authorization'], 'Bearer ***')
        self.assertEqual(json.loads(reqs[0]['body']['results'][0]),
                         export.bmf(load.load(self.dirs[0])))
        with open(path) as f:
            self.assertNotIn(TOKEN, f.read())


if __name__ == '__main__':
    unittest.main()
