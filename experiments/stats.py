"""Small exact statistics for comparing agents on the same episodes: Wilson intervals of a success rate, the
exact McNemar test of a paired difference, and its exact (conditional Clopper-Pearson) interval.

Example:
    >>> [round(x, 3) for x in wilson(3, 20)]
    [0.052, 0.36]
    >>> a = [True] * 12 + [False] * 8          # design A won 12 of 20 episodes
    >>> b = [True] * 6 + [False] * 14          # design B won 6 of the same 20, all among A's wins
    >>> d = paired(a, b)
    >>> d.difference, d.a_only, d.b_only, round(d.p_value, 4), [round(x, 3) for x in d.interval]
    (0.3, 6, 0, 0.0312, [0.024, 0.3])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Paired", "clopper_pearson", "mcnemar_exact", "paired", "wilson"]


def wilson(wins: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson score interval of a success rate (``(0, 1)`` when there are no episodes)."""
    if n == 0:
        return 0.0, 1.0
    p, z2 = wins / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k + 1))


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """The two-sided exact McNemar p-value: under no difference, the discordant pairs split as a fair coin."""
    n = a_only + b_only
    if n == 0:
        return 1.0
    tail = _cdf(min(a_only, b_only), n, 0.5)
    return min(1.0, 2 * tail)


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The exact interval of a binomial proportion ``k / n`` (bisection on the binomial CDF)."""
    if n == 0:
        return 0.0, 1.0
    alpha = (1 - level) / 2

    def solve(f, lo: float = 0.0, hi: float = 1.0) -> float:  # f rises from negative to positive over [lo, hi]
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if f(mid) < 0 else (lo, mid)
        return (lo + hi) / 2

    lower = 0.0 if k == 0 else solve(lambda p: (1 - _cdf(k - 1, n, p)) - alpha)
    upper = 1.0 if k == n else solve(lambda p: alpha - _cdf(k, n, p))
    return lower, upper


@dataclass(frozen=True, slots=True)
class Paired:
    """A's success minus B's on the same episodes, with the exact McNemar p-value and a 95 % interval."""

    n: int
    difference: float
    a_only: int
    b_only: int
    p_value: float
    interval: tuple[float, float]


def paired(a: Sequence[bool], b: Sequence[bool]) -> Paired:
    """Compare two designs episode by episode (``a[i]``, ``b[i]``: the same episode).

    The interval is exact conditional on the discordant pairs: with ``m`` of ``n`` episodes won by exactly
    one of the two, ``difference = m / n * (2q - 1)`` where ``q`` is the share A wins, and ``q``'s
    Clopper-Pearson interval gives the difference's.
    """
    if len(a) != len(b):
        raise ValueError(f"paired results need the same episodes: {len(a)} vs {len(b)}")
    n = len(a)
    a_only = sum(1 for x, y in zip(a, b, strict=True) if x and not y)
    b_only = sum(1 for x, y in zip(a, b, strict=True) if y and not x)
    m = a_only + b_only
    if n == 0:
        return Paired(0, 0.0, 0, 0, 1.0, (0.0, 0.0))
    lo, hi = clopper_pearson(a_only, m) if m else (0.5, 0.5)
    scale = m / n
    return Paired(n, (a_only - b_only) / n, a_only, b_only, mcnemar_exact(a_only, b_only),
                  (scale * (2 * lo - 1), scale * (2 * hi - 1)))
