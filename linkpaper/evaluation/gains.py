"""What a gain over the baseline is worth: seed spread, a paired bootstrap over test videos, and
the number of seeds a gain of a given size needs.

Every AVVP score is a mean over test videos of a per-video score (``AVVPScores.per_video``;
Type@AV is the per-video mean of A, V and AV), so a model's ten scores are the column means of
an (N, 10) matrix of per-video scores. Two sources of noise sit on a gain:

* **seeds**: another training seed gives another model. ``seed_gain`` reports the mean gain
  over seeds and the seeds' spread;
* **test videos**: another draw of 1,200 test videos would give other scores.
  ``paired_bootstrap`` resamples test videos with replacement, the *same* videos for both
  models, and reports the percentile interval of the gain. For models trained with several
  seeds it uses each model's per-video score averaged over its seeds, so it ignores the seeds.
* **both**: ``two_level_bootstrap`` resamples each model's seeds with replacement, then the
  test videos (paired across models), so its interval holds seed noise (which includes the
  choice of the best epoch on a small validation set) as well as the test draw.

``seeds_needed`` turns the seed spread into the number of seeds per model a two-sided test at
level ``alpha`` needs to detect a gain of a given size with probability ``power`` (normal
approximation); ``seeds_needed_range`` gives the range that follows from the 95 % interval of
the seed standard deviation itself (a spread measured on three seeds is very uncertain).
Scores are in percent throughout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import NamedTuple

import numpy as np

from linkpaper.errors import UserError
from linkpaper.evaluation.metrics import SCORE_COLUMNS


def per_video_matrix(scores) -> np.ndarray:
    """(N, 10) per-video scores in percent, columns in ``SCORE_COLUMNS`` order, of an AVVPScores."""
    return 100.0 * np.stack([scores.per_video[level][m] for level, m in SCORE_COLUMNS], axis=1)


def _as_runs(per_video) -> np.ndarray:
    """(N, 10) or (S, N, 10) -> (S, N, 10) float64."""
    array = np.asarray(per_video, dtype=np.float64)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or array.shape[-1] != len(SCORE_COLUMNS):
        raise UserError(
            f"per-video scores must be (N, {len(SCORE_COLUMNS)}) or (seeds, N, {len(SCORE_COLUMNS)}), "
            f"got shape {array.shape}"
        )
    return array


@dataclass
class BootstrapGain:
    """A paired-bootstrap gain of model A over model B on each of the ten scores (percent).

    gain: (10,) observed gain (mean over videos of the per-video difference). low, high: (10,)
    the ``level`` percentile interval over ``resamples`` resamplings. resampled: what was
    resampled, ``"videos"`` (:func:`paired_bootstrap`) or ``"seeds and videos"``
    (:func:`two_level_bootstrap`).
    """

    gain: np.ndarray
    low: np.ndarray
    high: np.ndarray
    level: float
    resamples: int
    videos: int
    resampled: str = "videos"

    def excludes_zero(self) -> np.ndarray:
        """(10,) bool: whether the interval lies entirely above or entirely below zero."""
        return (self.low > 0) | (self.high < 0)


def paired_bootstrap(
    per_video_a, per_video_b, resamples: int = 2000, level: float = 0.95, seed: int = 0
) -> BootstrapGain:
    """Gain of A over B with a paired bootstrap over test videos.

    per_video_a, per_video_b: (N, 10) per-video scores of one run each, or (S, N, 10) for S seeds
    (averaged over seeds per video first); both on the same N test videos in the same order.
    Each resample draws N video indices with replacement (``numpy`` PCG64 seeded by ``seed``) and
    takes the mean difference over them; ``low``/``high`` are its (1 - level)/2 and
    (1 + level)/2 percentiles. Identical inputs give gain 0 and a zero-width interval.
    """
    a = _as_runs(per_video_a).mean(axis=0)
    b = _as_runs(per_video_b).mean(axis=0)
    if a.shape != b.shape:
        raise UserError(
            f"paired bootstrap: the two models were scored on different videos ({a.shape[0]} vs {b.shape[0]})"
        )
    if not 0 < level < 1:
        raise UserError(f"paired bootstrap: level must be in (0, 1), got {level}")
    difference = a - b  # (N, 10)
    n = difference.shape[0]
    rng = np.random.Generator(np.random.PCG64(seed))
    means = np.empty((resamples, difference.shape[1]))
    chunk = max(1, 2_000_000 // max(n, 1))  # bounded memory: chunk x N indices at a time
    for start in range(0, resamples, chunk):
        stop = min(start + chunk, resamples)
        index = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = difference[index].mean(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail], axis=0)
    return BootstrapGain(difference.mean(axis=0), low, high, level, resamples, n)


def two_level_bootstrap(
    per_video_a, per_video_b, resamples: int = 2000, level: float = 0.95, seed: int = 0
) -> BootstrapGain:
    """Gain of A over B resampling seeds, then test videos (a two-level bootstrap).

    per_video_a (S_a, N, 10), per_video_b (S_b, N, 10) (or (N, 10) for one seed). Each resample
    draws S_a of A's seeds and S_b of B's with replacement, and N test video indices with
    replacement, the same videos for both models (paired); its gain is the mean over the drawn
    seeds and videos of A minus that of B. The video indices are drawn from the same stream as
    :func:`paired_bootstrap` with the same ``seed``, so with one seed per model (or identical
    seeds) both give the same interval, and the seed draws only ever add spread. ``gain`` is the
    observed one (seed means). Identical models give gain 0 and a zero-width interval.
    """
    a, b = _as_runs(per_video_a), _as_runs(per_video_b)
    if a.shape[1:] != b.shape[1:]:
        raise UserError(
            f"two-level bootstrap: the two models were scored on different videos ({a.shape[1]} vs {b.shape[1]})"
        )
    if not 0 < level < 1:
        raise UserError(f"two-level bootstrap: level must be in (0, 1), got {level}")
    n = a.shape[1]
    videos = np.random.Generator(np.random.PCG64(seed))
    seeds = np.random.Generator(np.random.PCG64([seed, 1]))
    means = np.empty((resamples, a.shape[2]))
    chunk = max(1, 2_000_000 // max(n * max(len(a), len(b)), 1))
    for start in range(0, resamples, chunk):
        stop = min(start + chunk, resamples)
        index = videos.integers(0, n, size=(stop - start, n))  # (R, N), as paired_bootstrap draws them
        gains = []
        for runs in (a, b):
            drawn = seeds.integers(0, len(runs), size=(stop - start, len(runs)))  # (R, S)
            weights = np.stack([np.bincount(row, minlength=len(runs)) for row in drawn]) / len(runs)  # (R, S)
            per_seed = runs[:, index].mean(axis=2)  # (S, R, 10): each seed's mean over the drawn videos
            gains.append(np.einsum("rs,srk->rk", weights, per_seed))
        means[start:stop] = gains[0] - gains[1]
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail], axis=0)
    return BootstrapGain(
        a.mean(axis=(0, 1)) - b.mean(axis=(0, 1)), low, high, level, resamples, n, resampled="seeds and videos"
    )


@dataclass
class SeedGain:
    """Gain over seeds (percent, (10,) each): mean gain, and the seed spread of both models.

    gain = mean over A's seeds - mean over B's seeds; std_a, std_b: sample std over seeds (0 for
    one seed); stderr = sqrt(std_a^2 / n_a + std_b^2 / n_b), the standard error of the gain.
    """

    gain: np.ndarray
    std_a: np.ndarray
    std_b: np.ndarray
    n_a: int
    n_b: int

    @property
    def stderr(self) -> np.ndarray:
        return np.sqrt(self.std_a**2 / self.n_a + self.std_b**2 / self.n_b)


def _seed_std(rows: np.ndarray) -> np.ndarray:
    return rows.std(axis=0, ddof=1) if len(rows) > 1 else np.zeros(rows.shape[1])


def seed_gain(rows_a, rows_b) -> SeedGain:
    """Gain of A over B from their test rows, (S_a, 10) and (S_b, 10) (one row per seed)."""
    a, b = np.atleast_2d(np.asarray(rows_a, float)), np.atleast_2d(np.asarray(rows_b, float))
    if a.size == 0 or b.size == 0:
        raise UserError("seed gain: each model needs at least one finished run")
    return SeedGain(a.mean(axis=0) - b.mean(axis=0), _seed_std(a), _seed_std(b), len(a), len(b))


def seeds_needed(gain: float, std_a: float, std_b: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Seeds per model for a two-sided z-test at ``alpha`` to detect ``gain`` with ``power``.

    n = (z_{1-alpha/2} + z_{power})^2 (std_a^2 + std_b^2) / gain^2 (independent seeds of two
    models, equal numbers). Returns ``inf`` for a zero gain and 1.0 at least.
    """
    if gain == 0:
        return float("inf")
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    return max(1.0, z**2 * (std_a**2 + std_b**2) / gain**2)


def _chi2_cdf(x: float, df: int) -> float:
    """P(X <= x) for a chi-square variable with ``df`` degrees of freedom (the regularised lower
    incomplete gamma function P(df/2, x/2), by its power series)."""
    if x <= 0:
        return 0.0
    a, z = df / 2.0, x / 2.0
    term = total = 1.0 / a
    k = 0
    while term > total * 1e-15 and k < 10_000:
        k += 1
        term *= z / (a + k)
        total += term
    return min(1.0, math.exp(a * math.log(z) - z - math.lgamma(a)) * total)


def chi2_quantile(q: float, df: int) -> float:
    """The ``q`` quantile of a chi-square distribution with ``df`` degrees of freedom (bisection)."""
    low, high = 0.0, max(1.0, df * 10.0 + 100.0)
    for _ in range(200):
        mid = (low + high) / 2.0
        low, high = (mid, high) if _chi2_cdf(mid, df) < q else (low, mid)
    return (low + high) / 2.0


class SeedsNeededRange(NamedTuple):
    """What :func:`seeds_needed_range` returns: ``(low, point, high)``, the seeds per model at the low
    end of the spread's interval, at the measured spread, and at its high end."""

    low: float
    point: float
    high: float


def seeds_needed_range(
    gain: float,
    std_a: float,
    std_b: float,
    n_a: int,
    n_b: int,
    alpha: float = 0.05,
    power: float = 0.8,
    level: float = 0.95,
) -> SeedsNeededRange:
    """(low, point, high) seeds per model needed to detect ``gain``, with the range that follows
    from the ``level`` interval of the seed standard deviation.

    The two models' seed variances are pooled (``n_a + n_b - 2`` degrees of freedom); the
    interval of the variance is the chi-square one, ``df s^2 / chi2_{(1+level)/2}`` to ``df s^2 /
    chi2_{(1-level)/2}``; each end goes through :func:`seeds_needed`. NaN everywhere when
    the spread is unmeasured (fewer than two seeds in all), ``inf`` for a zero gain.
    """
    df = n_a + n_b - 2
    if df < 1:
        return SeedsNeededRange(*(float("nan"),) * 3)
    pooled = ((n_a - 1) * std_a**2 + (n_b - 1) * std_b**2) / df
    tail = (1.0 - level) / 2.0
    variances = (df * pooled / chi2_quantile(1.0 - tail, df), pooled, df * pooled / chi2_quantile(tail, df))
    return SeedsNeededRange(*(seeds_needed(gain, math.sqrt(v), math.sqrt(v), alpha, power) for v in variances))


__all__ = [
    "BootstrapGain",
    "SeedGain",
    "SeedsNeededRange",
    "chi2_quantile",
    "paired_bootstrap",
    "per_video_matrix",
    "seed_gain",
    "seeds_needed",
    "seeds_needed_range",
    "two_level_bootstrap",
]
