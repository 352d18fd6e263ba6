"""Drift of a feature between its baseline and a recent window.

Numbers: the population stability index over the baseline's histogram bins (the recent
window is binned on the same edges). Strings: the Jensen-Shannon divergence (base 2, 0..1)
between the two distributions of values, the baseline's top values plus "any other value".
"""

from __future__ import annotations

import numpy as np

from taxi_platform.monitoring.models import Drift, FeatureStats

EPSILON = 1e-4  # an empty bin's share: PSI's log would be infinite
OTHER = "\x00other"


def psi(expected: list[int], actual: list[int]) -> float:
    """sum((a - e) * ln(a / e)) over the bins' shares."""
    e, a = _shares(np.asarray(expected, float)), _shares(np.asarray(actual, float))
    e, a = np.clip(e, EPSILON, None), np.clip(a, EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def jensen_shannon(expected: dict[str, int], actual: dict[str, int]) -> float:
    """Jensen-Shannon divergence in bits: 0 for equal distributions, 1 for disjoint ones."""
    keys = sorted(set(expected) | set(actual))
    p = _shares(np.array([expected.get(k, 0) for k in keys], float))
    q = _shares(np.array([actual.get(k, 0) for k in keys], float))
    m = (p + q) / 2
    return float((_kl(p, m) + _kl(q, m)) / 2)


def _shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else counts


def _kl(p: np.ndarray, m: np.ndarray) -> float:
    mask = p > 0
    return float(np.sum(p[mask] * np.log2(p[mask] / m[mask])))


def _distribution(stats: FeatureStats) -> dict[str, int]:
    counts = {v.value: v.count for v in stats.top_values or []}
    counts[OTHER] = stats.distinct_other or 0
    return counts


def compare(baseline: FeatureStats, recent: FeatureStats, threshold: float) -> Drift | None:
    """The drift of ``recent`` from ``baseline`` (None when either has no non-null value)."""
    if recent.kind == "number":
        if not (baseline.histogram and recent.histogram) or not (
            sum(baseline.histogram.counts) and sum(recent.histogram.counts)
        ):
            return None
        recent.baseline_histogram = baseline.histogram
        value, statistic = psi(baseline.histogram.counts, recent.histogram.counts), "psi"
    else:
        expected, actual = _distribution(baseline), _distribution(recent)
        if not (sum(expected.values()) and sum(actual.values())):
            return None
        value, statistic = jensen_shannon(expected, actual), "jensen_shannon"
    return Drift(statistic=statistic, value=value, threshold=threshold, drifted=value > threshold)
