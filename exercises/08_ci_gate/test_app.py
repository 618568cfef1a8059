"""Tests the workflow runs inside the built image: `python -m unittest -v`."""

import unittest

from app import summarize


class SummarizeTest(unittest.TestCase):
    def test_mean_and_median(self) -> None:
        self.assertEqual(summarize([1, 2, 3, 10]), {"count": 4, "mean": 4.0, "median": 2.5})

    def test_empty_batch_is_an_error(self) -> None:
        with self.assertRaises(ValueError):
            summarize([])


if __name__ == "__main__":
    unittest.main()
