"""The regression gate on synthetic repetitions with fixed seeds: how often it flags A/A pairs
(false positives) and how often it catches a real 10% slowdown (detection). Prints the measured
rates. The noise model follows repeated ipcbench runs on a 2-vCPU VM: a log-normal core with
a few per cent spread, plus one repetition in ten disturbed (preempted: up to +60% or more).
"""
import unittest

import numpy as np

from reports import stats

ALPHA, THRESHOLD, REPS, PAIRS = 0.05, 0.05, 20, 200


def sample(rng, n, sigma, slowdown=1.0):
    """n repetitions of a 10 µs benchmark: log-normal spread sigma, 10% outliers."""
    x = 10_000.0 * slowdown * rng.lognormal(0.0, sigma, n)
    hit = rng.random(n) < 0.10
    x[hit] *= 1.0 + rng.exponential(0.25, hit.sum())
    return x


def flagged(base, new):
    j = stats.judge(base, new, alpha=ALPHA, threshold=THRESHOLD, higher_is_better=False)
    return j.verdict == stats.REGRESSION


def run_flags(pairs) -> list:
    """Indexes flagged when the pairs are judged together, p Holm-adjusted like `compare`."""
    js = [stats.judge(b, n, alpha=ALPHA, threshold=THRESHOLD, higher_is_better=False)
          for b, n in pairs]
    for j, p in zip(js, stats.holm([j.p_value for j in js])):
        stats.decide(j, p, alpha=ALPHA, threshold=THRESHOLD, higher_is_better=False)
    return [i for i, j in enumerate(js) if j.verdict == stats.REGRESSION]


def rate(sigma, slowdown, seed0, pairs=PAIRS, reps=REPS):
    hits = 0
    for i in range(pairs):
        rng = np.random.default_rng(seed0 + i)
        hits += flagged(sample(rng, reps, sigma), sample(rng, reps, sigma, slowdown))
    return hits / pairs


class GateRates(unittest.TestCase):
    def test_false_positives_and_detection(self):
        rows = []
        for sigma in (0.02, 0.05):
            fp = rate(sigma, 1.0, 1000)
            det = rate(sigma, 1.10, 5000)
            rows.append((sigma, fp, det))
            self.assertLessEqual(fp, 0.01, f'A/A false positives at sigma {sigma}')
            self.assertGreaterEqual(det, 0.95, f'detection of +10% at sigma {sigma}')
        # Not asserted: where the gate stops being able to tell, said out loud.
        for sigma, reps in ((0.10, 20), (0.05, 5)):
            rows.append((sigma, rate(sigma, 1.0, 1000, reps=reps), rate(sigma, 1.10, 5000,
                                                                          reps=reps), reps))
        print(f'\ngate: alpha {ALPHA}, threshold {THRESHOLD:.0%}, {PAIRS} seeded pairs each')
        for row in rows:
            sigma, fp, det = row[:3]
            reps = row[3] if len(row) > 3 else REPS
            print(f'  noise sigma {sigma:.0%} + 10% outliers, {reps} repetitions: '
                  f'A/A flagged {fp:.1%}, +10% slowdown caught {det:.1%}')

    def test_whole_run(self):
        """A CI run judges many benchmarks at once (Holm-adjusted, as `compare` does): how often
        an A/A run of 40 goes red, and how often one +10% among 40 is caught (and nothing else).
        The correction costs power, which more repetitions buy back."""
        for reps in (20, 30):
            runs, red, caught = 200, 0, 0
            for r in range(runs):
                rng = np.random.default_rng(90_000 + r)
                red += bool(run_flags([(sample(rng, reps, 0.05), sample(rng, reps, 0.05))
                                       for _ in range(40)]))
                pairs = [(sample(rng, reps, 0.05), sample(rng, reps, 0.05)) for _ in range(39)]
                pairs.append((sample(rng, reps, 0.05), sample(rng, reps, 0.05, 1.10)))
                caught += run_flags(pairs) == [39]
            print(f'\ngate, {runs} runs of 40 benchmarks (sigma 5% + outliers, {reps} '
                  f'repetitions, Holm): A/A runs red {red / runs:.1%}; a lone +10% caught, '
                  f'nothing else flagged, {caught / runs:.1%}')
            self.assertLessEqual(red / runs, ALPHA, 'Holm keeps whole-run false alarms <= alpha')
            if reps >= 30:
                self.assertGreaterEqual(caught / runs, 0.95)

    def test_improvement_is_not_a_regression(self):
        rng = np.random.default_rng(7)
        base, new = sample(rng, REPS, 0.02), sample(rng, REPS, 0.02, 0.8)
        j = stats.judge(base, new, alpha=ALPHA, threshold=THRESHOLD, higher_is_better=False)
        self.assertEqual(j.verdict, stats.IMPROVEMENT)
        j = stats.judge(new, base, alpha=ALPHA, threshold=THRESHOLD, higher_is_better=True)
        self.assertEqual(j.verdict, stats.IMPROVEMENT, 'a rate that rose is better')


if __name__ == '__main__':
    unittest.main()
