#!/usr/bin/env python3
"""Unit tests of query_compare.py's answer comparison and evaluation times (no servers).

python3 benches/lib/test_query_compare.py
"""
import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import query_compare as qc  # noqa: E402

NAMES = ("ref", "test")


def vec(*series):
    return ("ok", "vector", [{"metric": m, "value": [t, v]} for m, t, v in series])


def mat(*series):
    return ("ok", "matrix", [{"metric": m, "values": pts} for m, pts in series])


class CompareTest(unittest.TestCase):
    def test_equal_vectors_in_any_order(self):
        a = vec(({"a": "1"}, 10, "1.5"), ({"a": "2"}, 10, "2"))
        b = vec(({"a": "2"}, 10, "2"), ({"a": "1"}, 10, "1.5"))
        self.assertEqual(qc.compare(a, b, NAMES, ordered=False), [])

    def test_order_matters_when_sorted(self):
        a = vec(({"a": "1"}, 10, "1"), ({"a": "2"}, 10, "2"))
        b = vec(({"a": "2"}, 10, "2"), ({"a": "1"}, 10, "1"))
        self.assertTrue(qc.compare(a, b, NAMES, ordered=True))

    def test_relative_tolerance(self):
        a = vec(({}, 10, "1000000"))
        self.assertEqual(qc.compare(a, vec(({}, 10, "1000000.5")), NAMES, False), [])
        self.assertTrue(qc.compare(a, vec(({}, 10, "1000002")), NAMES, False))
        # no absolute slack: 0 against a tiny value differs
        self.assertTrue(qc.compare(vec(({}, 10, "0")), vec(({}, 10, "1e-300")), NAMES, False))

    def test_special_values(self):
        for v in ("NaN", "+Inf", "-Inf"):
            self.assertEqual(qc.compare(vec(({}, 1, v)), vec(({}, 1, v)), NAMES, False), [])
        self.assertTrue(qc.compare(vec(({}, 1, "+Inf")), vec(({}, 1, "-Inf")), NAMES, False))
        self.assertTrue(qc.compare(vec(({}, 1, "NaN")), vec(({}, 1, "0")), NAMES, False))
        self.assertTrue(qc.compare(vec(({}, 1, "+Inf")), vec(({}, 1, "1e308")), NAMES, False))

    def test_labels_exact(self):
        a = vec(({"__name__": "x", "a": "1"}, 1, "1"))
        b = vec(({"a": "1"}, 1, "1"))
        problems = qc.compare(a, b, NAMES, False)
        self.assertTrue(any("only in ref" in p for p in problems))
        self.assertTrue(any("only in test" in p for p in problems))

    def test_duplicate_series(self):
        a = vec(({"a": "1"}, 1, "1"))
        b = vec(({"a": "1"}, 1, "1"), ({"a": "1"}, 1, "1"))
        self.assertTrue(qc.compare(a, b, NAMES, False))

    def test_matrix_timestamps_and_values(self):
        a = mat(({"a": "1"}, [[1, "1"], [2, "2"]]))
        self.assertEqual(qc.compare(a, mat(({"a": "1"}, [[1, "1"], [2, "2"]])), NAMES, False), [])
        self.assertTrue(qc.compare(a, mat(({"a": "1"}, [[1, "1"]])), NAMES, False))
        self.assertTrue(qc.compare(a, mat(({"a": "1"}, [[1, "1"], [3, "2"]])), NAMES, False))
        self.assertTrue(qc.compare(a, mat(({"a": "1"}, [[1, "1"], [2, "2.1"]])), NAMES, False))

    def test_result_type_and_errors(self):
        err = ("error", "bad_data", "parse error")
        self.assertEqual(qc.compare(err, ("error", "bad_data", "other words"), NAMES, False), [])
        self.assertTrue(qc.compare(err, ("error", "execution", "parse error"), NAMES, False))
        self.assertTrue(qc.compare(err, vec(), NAMES, False))
        self.assertTrue(qc.compare(("ok", "scalar", [1, "1"]), vec(({}, 1, "1")), NAMES, False))
        self.assertTrue(qc.compare(("ok", "scalar", [1, "1"]), ("ok", "scalar", [2, "1"]), NAMES, False))
        self.assertTrue(qc.compare(("ok", "string", [1, "a"]), ("ok", "string", [1, "b"]), NAMES, False))

    def test_eval_times_between_scrapes(self):
        t = qc.eval_times(1699999999.978, 1700007185.024, 15)
        for k in ("START", "MID", "END"):
            offset = (float(t[k]) - 1700000000) % 15
            self.assertAlmostEqual(offset, 7.5, places=3, msg=k)
        self.assertGreaterEqual(float(t["START"]), 1699999999.978)
        self.assertLessEqual(float(t["END"]), 1700007185.024)

    def test_known_list_needs_reasons(self):
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"qc-known-{os.getpid()}.txt")
        try:
            with open(path, "w") as fh:
                fh.write("# why\nup\n\nno_reason\n")
            with self.assertRaises(SystemExit):
                qc.load_known(path)
            with open(path, "w") as fh:
                fh.write("# why\n# and more\nup\n")
            self.assertEqual(qc.load_known(path), {"up": "why and more"})
        finally:
            os.unlink(path)


if __name__ == "__main__":
    unittest.main()
