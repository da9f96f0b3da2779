#!/usr/bin/env python3
"""The NAB scorer reproduces the published results of NAB's windowedGaussian detector from
its output files (shared/anomaly/nab/results): raw scores at its published thresholds, and
the normalized scores of final_results.json, for all three profiles."""
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import nab_score  # noqa: E402


def nab_dir():
    """shared/anomaly/nab, found as benches/lib/peers.sh finds shared/ (a test that cannot
    find its data fails rather than passing without checking anything)."""
    env = os.environ.get("BONGSU_SHARED")
    candidates = [env] if env else [os.path.join(HERE, "../../../shared"), "/work/shared"]
    for base in candidates:
        if os.path.isdir(os.path.join(base, "anomaly", "nab")):
            return os.path.join(base, "anomaly", "nab")
    raise FileNotFoundError(f"shared/anomaly/nab not found in {candidates}; set BONGSU_SHARED")


class PublishedScores(unittest.TestCase):
    def test_windowed_gaussian(self):
        nab = nab_dir()
        with open(os.path.join(nab, "config", "profiles.json")) as fh:
            profiles = json.load(fh)
        with open(os.path.join(nab, "config", "thresholds.json")) as fh:
            thresholds = json.load(fh)["windowedGaussian"]
        with open(os.path.join(nab, "results", "final_results.json")) as fh:
            published = json.load(fh)["windowedGaussian"]
        corpus = nab_score.Corpus(nab, os.path.join(nab, "results"), "windowedGaussian")
        for name, cost in profiles.items():
            raw = corpus.score_at(cost["CostMatrix"], thresholds[name]["threshold"])
            self.assertAlmostEqual(raw, thresholds[name]["score"], places=9, msg=name)
            score = corpus.normalize(cost["CostMatrix"], raw)
            self.assertAlmostEqual(score, published[name], places=9, msg=name)

    def test_sigma(self):
        self.assertAlmostEqual(nab_score.sigma(-1.0), 0.98661, places=5)
        self.assertEqual(nab_score.sigma(0.0), 0.0)
        self.assertEqual(nab_score.sigma(3.5), -1.0)


if __name__ == "__main__":
    unittest.main()
