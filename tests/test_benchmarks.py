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
