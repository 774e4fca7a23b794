"""The benchmark scripts run and print their figures (tiny sizes: a smoke test, not a timing)."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_train_prints_every_figure_for_both_audio_forms():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_train.py"), "--train-videos", "128", "--val-videos", "64",
         "--max-batches", "1", "--val-repeats", "1", "--threads", "1"],
        capture_output=True, text=True, timeout=300, check=True,
    )
    out = result.stdout
    assert re.search(r"arithmetic: training epoch [\d.]+ TFLOP, validation pass [\d.]+ GFLOP", out)
    for form in ("pooled", "maps"):
        assert re.search(rf"cpu  {form}\s+train epoch\s+[\d.]+ s.*validation pass\s+[\d.]+ s", out), out
    assert "pooling the maps once per run" in out  # the maps are pooled before the epoch
    assert "vs reference" not in out  # ratios are only printed at LLP size


def _profile(*extra):
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "profile_step.py"), "--rounds", "1", "--repeats", "1",
         "--threads", "1", *extra],
        capture_output=True, text=True, timeout=300, check=True,
    ).stdout


def test_profile_step_splits_a_training_step_into_products_masks_and_the_rest():
    out = _profile("--batch-size", "8")
    step = re.search(r"training step \(batch 8\): ([\d.]+) ms = forward [\d.]+ \+ loss", out)
    assert step, out
    # VALOR++: 4 input projections + 8 HAN passes x 7 linears + 3 heads = 63 forward addmm;
    # 2 products per linear backward, less the 3 input projections' input gradients = 123 mm;
    # 16 attentions x (2 forward + 4 backward) = 96 bmm.
    assert re.search(r"\s63 addmm\s", out) and re.search(r"\s123 mm\s", out) and re.search(r"\s96 bmm\s", out), out
    operations, views = map(int, re.search(r"aten operations: (\d+) \((\d+) views", out).groups())
    assert 63 + 123 + 96 < operations - views < operations  # the products are among the non-view operations
    # 8 HAN passes x (2 attention weights + 4 activations) dropout masks
    assert "dropout masks alone (48 masks" in out, out
    products = float(re.search(r"matrix products alone \([\d.]+ GFLOP\): ([\d.]+) ms", out).group(1))
    masks = float(re.search(r"dropout masks alone .*: ([\d.]+) ms", out).group(1))
    assert products > 0 and masks > 0  # both were replayed, not just counted
    assert re.search(r"everything else .*: -?[\d.]+ ms = -?\d+ %", out), out


def test_profile_step_validation_pass_has_no_masks_and_no_backward():
    out = _profile("--validation", "--val-videos", "16")
    assert "validation pass (16 videos" in out, out
    assert re.search(r"\s63 addmm\s", out) and re.search(r"\s32 bmm\s", out) and not re.search(r"\d mm\s", out), out
    assert "dropout masks alone (0 masks" in out, out
