"""The t interval of a mean across replications: one function for every table and report."""
from __future__ import annotations

import numpy as np
from scipy import stats


def mean_ci(x, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) of the `level` t interval of the mean of `x`; NaN bounds for fewer than
    two values, and NaN throughout for none."""
    x = np.asarray(x, dtype=float)
    if len(x) == 0:
        return float("nan"), float("nan"), float("nan")
    m = float(np.mean(x))
    if len(x) < 2:
        return m, float("nan"), float("nan")
    h = float(stats.t.ppf(0.5 + level / 2, len(x) - 1) * np.std(x, ddof=1) / np.sqrt(len(x)))
    return m, m - h, m + h
