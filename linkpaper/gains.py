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
  seeds it uses each model's per-video score averaged over its seeds.

``seeds_needed`` turns the seed spread into the number of seeds per model a two-sided test at
level ``alpha`` needs to detect a gain of a given size with probability ``power`` (normal
approximation). Scores are in percent throughout.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from linkpaper.errors import UserError
from linkpaper.metrics import SCORE_COLUMNS


DECISIONS_FILE = "test_decisions.npz"
"""A run's gated test decisions, stored as a predictions file (``scripts/collect_results.py``)."""


def per_video_matrix(scores) -> np.ndarray:
    """(N, 10) per-video scores in percent, columns in ``SCORE_COLUMNS`` order, of an AVVPScores."""
    return 100.0 * np.stack([scores.per_video[level][m] for level, m in SCORE_COLUMNS], axis=1)


def run_per_video(run_dir, test) -> np.ndarray:
    """(N, 10) per-video test scores (percent) of a run folder holding ``test_decisions.npz``.

    test: the test split's annotations (``load_annotations("test")``); rows follow its order.
    When the folder holds a finished run record, the decisions must score its ten test numbers:
    decisions of another run (or another test set) raise a UserError naming the file.
    """
    from pathlib import Path

    from linkpaper.metrics import evaluate_probs
    from linkpaper.predictions import load_predictions
    from linkpaper.runs import RESULTS_FILE, RunRecord

    path = Path(run_dir) / DECISIONS_FILE
    if not path.is_file():
        raise UserError(f"{path}: no test decisions here; write them with scripts/collect_results.py")
    predictions = load_predictions(path).aligned_to(test.filenames, "test")
    scores = evaluate_probs(predictions.frame_prob, predictions.video_prob, test.gt_audio, test.gt_visual)
    if (Path(run_dir) / RESULTS_FILE).is_file():
        record = RunRecord.read(run_dir)
        row = scores.row()
        if record.complete and not np.allclose(row, record.test_row, atol=1e-6, rtol=0):
            raise UserError(f"{path}: these decisions do not score the test row of its {RESULTS_FILE} (Seg type "
                            f"{row[3]:.2f} against {record.test_row[3]:.2f}); they belong to another run or test "
                            "set: write them again with scripts/collect_results.py")
    return per_video_matrix(scores)


def _as_runs(per_video) -> np.ndarray:
    """(N, 10) or (S, N, 10) -> (S, N, 10) float64."""
    array = np.asarray(per_video, dtype=np.float64)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or array.shape[-1] != len(SCORE_COLUMNS):
        raise UserError(f"per-video scores must be (N, {len(SCORE_COLUMNS)}) or (seeds, N, {len(SCORE_COLUMNS)}), "
                        f"got shape {array.shape}")
    return array


@dataclass
class BootstrapGain:
    """A paired-bootstrap gain of model A over model B on each of the ten scores (percent).

    gain: (10,) observed gain (mean over videos of the per-video difference). low, high: (10,)
    the ``level`` percentile interval over ``resamples`` resamplings of the test videos.
    """

    gain: np.ndarray
    low: np.ndarray
    high: np.ndarray
    level: float
    resamples: int
    videos: int

    def excludes_zero(self) -> np.ndarray:
        """(10,) bool: whether the interval lies entirely above or entirely below zero."""
        return (self.low > 0) | (self.high < 0)


def paired_bootstrap(per_video_a, per_video_b, resamples: int = 2000, level: float = 0.95,
                     seed: int = 0) -> BootstrapGain:
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
        raise UserError(f"paired bootstrap: the two models were scored on different videos ({a.shape[0]} vs {b.shape[0]})")
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


__all__ = ["BootstrapGain", "DECISIONS_FILE", "run_per_video", "SeedGain", "paired_bootstrap", "per_video_matrix", "seed_gain", "seeds_needed"]
