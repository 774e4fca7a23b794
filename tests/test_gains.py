"""Gains over the baseline: seed spread, paired bootstrap over test videos, seeds needed."""

import numpy as np
import pytest

from linkpaper.errors import UserError
from linkpaper.evaluation.gains import paired_bootstrap, per_video_matrix, seed_gain, seeds_needed
from linkpaper.evaluation.metrics import SCORE_COLUMNS, evaluate_predictions


def test_identical_predictions_give_a_zero_width_interval_at_zero():
    rng = np.random.default_rng(0)
    scores = rng.uniform(0, 100, size=(300, 10))
    result = paired_bootstrap(scores, scores.copy(), resamples=500)
    assert np.array_equal(result.gain, np.zeros(10))
    assert np.array_equal(result.low, np.zeros(10)) and np.array_equal(result.high, np.zeros(10))
    assert not result.excludes_zero().any()


def test_a_known_difference_is_recovered():
    rng = np.random.default_rng(1)
    base = rng.uniform(20, 80, size=(1200, 10))
    shift = np.linspace(-3, 3, 10)  # column 5 (index 5) gets +0.33, others clearly apart from 0
    better = base + shift + rng.normal(0, 5, size=base.shape)  # per-video noise around the shift
    result = paired_bootstrap(better, base, resamples=2000, seed=3)
    assert np.allclose(result.gain, (better - base).mean(axis=0))
    assert (result.low < result.gain).all() and (result.gain < result.high).all()
    assert (result.low <= shift + 0.75).all() and (shift - 0.75 <= result.high).all()  # covers the truth
    width = result.high - result.low
    assert np.allclose(width, 2 * 1.96 * 5 / np.sqrt(1200), rtol=0.15)  # the normal-theory width
    assert result.excludes_zero()[[0, 1, 8, 9]].all()


def test_seeds_are_averaged_per_video_and_the_same_seed_gives_the_same_interval():
    rng = np.random.default_rng(2)
    a = rng.uniform(0, 100, size=(3, 50, 10))
    b = rng.uniform(0, 100, size=(2, 50, 10))
    one = paired_bootstrap(a, b, resamples=300, seed=7)
    two = paired_bootstrap(a.mean(axis=0), b.mean(axis=0), resamples=300, seed=7)
    assert np.array_equal(one.low, two.low) and np.array_equal(one.high, two.high)
    assert np.allclose(one.gain, a.mean(axis=(0, 1)) - b.mean(axis=(0, 1)))
    with pytest.raises(UserError, match="different videos"):
        paired_bootstrap(a, b[:, :40])
    with pytest.raises(UserError, match="must be"):
        paired_bootstrap(np.zeros((5, 3)), np.zeros((5, 3)))


def test_per_video_matrix_means_are_the_table():
    rng = np.random.default_rng(3)
    pred_a, pred_v = rng.random((40, 10, 25)) > 0.9, rng.random((40, 10, 25)) > 0.9
    gt_a, gt_v = rng.random((40, 10, 25)) > 0.9, rng.random((40, 10, 25)) > 0.9
    scores = evaluate_predictions(pred_a, pred_v, gt_a, gt_v)
    matrix = per_video_matrix(scores)
    assert matrix.shape == (40, len(SCORE_COLUMNS))
    assert np.allclose(matrix.mean(axis=0), scores.row())


def test_seed_gain_and_seeds_needed():
    a = np.array([[66.0] * 10, [68.0] * 10, [67.0] * 10])
    b = np.array([[65.0] * 10, [65.5] * 10, [66.0] * 10])
    gain = seed_gain(a, b)
    assert np.allclose(gain.gain, 1.5) and np.allclose(gain.std_a, 1.0) and np.allclose(gain.std_b, 0.5)
    assert np.allclose(gain.stderr, np.sqrt(1 / 3 + 0.25 / 3))
    # (1.96 + 0.8416)^2 * (1 + 0.25) / 0.7^2 = 20.03 seeds per model for a 0.7-point gain
    assert seeds_needed(0.7, 1.0, 0.5) == pytest.approx(7.849 * 1.25 / 0.49, rel=1e-3)
    assert seeds_needed(0.0, 1.0, 1.0) == float("inf")
    assert seeds_needed(10.0, 0.1, 0.1) == 1.0
    with pytest.raises(UserError, match="at least one"):
        seed_gain(np.zeros((0, 10)), b)


def test_run_per_video_refuses_decisions_of_another_run(tmp_path):
    """A run folder's test_decisions.npz must score its own results.json: decisions copied from
    another run would give the bootstrap interval of another model."""
    import json
    from types import SimpleNamespace

    from linkpaper.classes import NUM_CLASSES, NUM_SEGMENTS
    from linkpaper.evaluation.predictions import save_predictions
    from linkpaper.training.runs import DECISIONS_FILE, run_per_video

    rng = np.random.default_rng(3)
    n = 30
    gt_a, gt_v = (rng.random((n, NUM_SEGMENTS, NUM_CLASSES)) > 0.85 for _ in range(2))
    test = SimpleNamespace(filenames=[f"vid{i:08d}_0_10" for i in range(n)], gt_audio=gt_a, gt_visual=gt_v)
    frames = {}
    for name, noise in (("own", 0.05), ("other", 0.2)):
        pred_a, pred_v = gt_a ^ (rng.random(gt_a.shape) < noise), gt_v ^ (rng.random(gt_v.shape) < noise)
        frames[name] = (
            np.stack([pred_a, pred_v], axis=2).astype(np.float32),
            evaluate_predictions(pred_a, pred_v, gt_a, gt_v).row(),
        )
    run = tmp_path / "run"
    run.mkdir()
    record = {
        "config": {"model": "valor++"},
        "data": {"description": "test data"},
        "seed": 87,
        "plsim": {"used": False, "labels": "none"},
        "epochs": [],
        "complete": True,
        "test_row": frames["own"][1],
    }
    (run / "results.json").write_text(json.dumps(record))
    ones = np.ones((n, NUM_CLASSES), np.float32)
    save_predictions(run / DECISIONS_FILE, test.filenames, frames["own"][0], ones)
    np.testing.assert_allclose(run_per_video(run, test).mean(axis=0), frames["own"][1])
    save_predictions(run / DECISIONS_FILE, test.filenames, frames["other"][0], ones)
    with pytest.raises(UserError, match="do not score the test row"):
        run_per_video(run, test)


# ---- the two-level bootstrap (seeds, then videos) and the seeds-needed range -----------------


def _runs(rng, seeds, base, seed_sd, video_sd, shift=0.0):
    return base[None] + shift + rng.normal(0, seed_sd, (seeds, 1, 10)) + rng.normal(0, video_sd, (seeds, len(base), 10))


def test_two_level_recovers_a_known_difference_and_is_never_narrower():
    from linkpaper.evaluation.gains import paired_bootstrap, two_level_bootstrap

    rng = np.random.default_rng(3)
    for trial in range(5):
        base = rng.normal(60, 20, (400, 10))
        a = _runs(rng, 3, base, 1.5, 4.0, shift=3.0)
        b = _runs(rng, 3, base, 1.5, 4.0)
        videos = paired_bootstrap(a, b, resamples=1000, seed=trial)
        both = two_level_bootstrap(a, b, resamples=1000, seed=trial)
        assert np.allclose(both.gain, a.mean(axis=(0, 1)) - b.mean(axis=(0, 1)))
        assert np.allclose(both.gain, videos.gain)
        assert ((both.high - both.low) >= (videos.high - videos.low)).all()
        assert both.resampled == "seeds and videos" and videos.resampled == "videos"
    # a large true gain with little noise is recovered inside the interval
    base = rng.normal(60, 20, (400, 10))
    a, b = _runs(rng, 4, base, 0.1, 1.0, shift=5.0), _runs(rng, 4, base, 0.1, 1.0)
    result = two_level_bootstrap(a, b, resamples=500)
    assert (result.low < 5.0 + 0.5).all() and (result.high > 5.0 - 0.5).all() and result.excludes_zero().all()


def test_two_level_is_zero_width_at_zero_for_identical_runs_and_equals_videos_for_one_seed():
    from linkpaper.evaluation.gains import paired_bootstrap, two_level_bootstrap

    rng = np.random.default_rng(4)
    runs = np.repeat(rng.normal(60, 20, (1, 300, 10)), 3, axis=0)  # three identical runs per model
    same = two_level_bootstrap(runs, runs.copy(), resamples=300)
    assert np.allclose(same.gain, 0) and np.allclose(same.low, 0) and np.allclose(same.high, 0)
    # the same three *different* seeds on both sides: the seeds are drawn independently per model
    spread = rng.normal(60, 20, (3, 300, 10))
    assert (two_level_bootstrap(spread, spread.copy(), resamples=300).high > 0.1).all()
    one_a, one_b = runs[:1], rng.normal(60, 20, (1, 300, 10))
    both, videos = (
        two_level_bootstrap(one_a, one_b, resamples=300, seed=7),
        paired_bootstrap(one_a, one_b, resamples=300, seed=7),
    )
    assert np.allclose(both.low, videos.low) and np.allclose(both.high, videos.high)
    with pytest.raises(UserError, match="different videos"):
        two_level_bootstrap(runs, runs[:, :10])


def test_seeds_needed_range_brackets_the_point_and_follows_the_chi_square_interval():
    from linkpaper.evaluation.gains import chi2_quantile, seeds_needed, seeds_needed_range

    assert chi2_quantile(0.975, 4) == pytest.approx(11.1433, abs=1e-3)
    assert chi2_quantile(0.025, 4) == pytest.approx(0.48442, abs=1e-4)
    assert chi2_quantile(0.5, 2) == pytest.approx(2 * np.log(2), abs=1e-6)
    low, point, high = seeds_needed_range(0.7, 1.46, 1.46, 3, 3)
    assert point == pytest.approx(seeds_needed(0.7, 1.46, 1.46))
    assert low < point < high
    assert high / point == pytest.approx(4 / chi2_quantile(0.025, 4), rel=1e-6)  # variance ratio at the upper end
    assert all(np.isnan(x) for x in seeds_needed_range(0.7, 0.0, 0.0, 1, 1))
    assert seeds_needed_range(0.0, 1.0, 1.0, 3, 3)[1] == float("inf")
