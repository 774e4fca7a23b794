"""The benchmark scripts run and print their figures (tiny sizes: a smoke test, not a timing)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_bench_train_prints_every_figure_for_both_audio_forms():
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_train.py"),
            "--train-videos",
            "128",
            "--val-videos",
            "64",
            "--max-batches",
            "1",
            "--val-repeats",
            "1",
            "--threads",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    out = result.stdout
    assert re.search(r"arithmetic: training epoch [\d.]+ TFLOP, validation pass [\d.]+ GFLOP", out)
    for form in ("pooled", "maps"):
        for precision in ("fp32", "bf16"):  # side by side, in one run
            assert re.search(rf"cpu  {form}\s+{precision}\s+train epoch\s+[\d.]+ s.*validation pass\s+[\d.]+ s", out), (
                out
            )
        assert re.search(rf"{form} \(one round; CPU: .*bf16 flags", out), out
        assert re.search(r"bf16\s+epoch\s+[\d.]+ s .*vs fp32: epoch [\d.]+x", out), out
    assert re.search(r"arithmetic: .*\n  fp32: .*GFLOP/s.*\n  bf16: .*GFLOP/s", out), out
    assert "pooling the maps once per run" in out  # the maps are pooled before the epoch
    assert "vs reference" not in out  # ratios are only printed at LLP size


def _profile(*extra):
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "profile_step.py"),
            "--rounds",
            "1",
            "--repeats",
            "1",
            "--threads",
            "1",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
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


def test_gpu_check_runs_its_code_paths_at_tiny_size_on_the_cpu(tmp_path):
    out = tmp_path / "gpu_check.json"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "gpu_check.py"),
            "--device",
            "cpu",
            "--tiny",
            "--threads",
            "1",
            "--jobs",
            "2",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    figures = json.loads(out.read_text())
    assert [run["precision"] for run in figures["full_run"]] == ["fp32", "bf16"]
    assert all(run["seconds"] > 0 and run["epochs"] == 2 for run in figures["full_run"])
    grid = figures["grid"]
    assert grid["runs"] == grid["complete"] == 2 and grid["jobs"] == 2 and grid["precision"] == "bf16"
    assert figures["hardware"]["bf16"].startswith("bf16 flags") and "commit" in figures["code"]
    assert re.search(
        r"\| grid: 2 variants x 1 seeds on synth:tiny, 2 at a time \(2/2 complete\) \| bf16 \|", result.stdout
    )
    assert result.stdout.count("-epoch run, VALOR++") == 2


def test_gpu_check_without_cuda_says_so_in_one_line(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--json", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "CUDA is not available" in result.stderr


FAKE_VALOR = {
    # A stand-in with the interface bench_train.py calls (not VALOR's code): MMIL_Net(args) returns
    # (global_prob, a_prob, v_prob, frame_prob, frame_logits); train() and eval() take VALOR's arguments.
    "main_network.py": """
import torch, torch.nn as nn

class MMIL_Net(nn.Module):
    def __init__(self, args):
        super().__init__()
        self.fc = nn.Linear(args.input_a_dim, 25)

    def forward(self, audio, visual, visual_st):
        logits = self.fc(audio + visual).unsqueeze(2).expand(-1, -1, 2, -1)
        prob = torch.sigmoid(logits)
        return prob.mean(dim=(1, 2)), prob[:, :, 0].mean(1), prob[:, :, 1].mean(1), prob, logits
""",
    "main_avvp.py": """
import os
import pandas as pd
import wandb, prettytable  # imported at the top, as the real script does
import torch.nn.functional as F

CALLS = {"train_batches": 0, "eval_videos": 0}

def train(args, model, train_loader, optimizer, criterion, epoch, device):
    for batch in train_loader:
        output, _, _, _, frame_logits = model(batch["audio"], batch["video_s"], batch["video_st"])
        loss = criterion(output.clamp(1e-7, 1 - 1e-7), batch["label"].float())
        loss = loss + F.binary_cross_entropy_with_logits(frame_logits[:, :, 0], batch["audio_pseudo_labels"].float())
        optimizer.zero_grad(); loss.backward(); optimizer.step()
        CALLS["train_batches"] += 1

def eval(args, model, data_loader, gt_csv_dir, criterion, device):
    df = pd.read_csv(os.path.join(gt_csv_dir, "AVVP_eval_audio.csv"), header=0, sep="\\t")
    assert list(df.columns) == ["filename", "event_labels", "onset", "offset"]
    for batch in data_loader:
        assert len(batch["video_name"]) == 1 and batch["audio"].shape[0] == 1
        model(batch["audio"], batch["video_s"], batch["video_st"])
        CALLS["eval_videos"] += 1
    return {}, {}
""",
}


def test_bench_train_times_a_named_reference_checkout_on_the_same_tensors(tmp_path):
    pytest.importorskip("pandas")
    for name, text in FAKE_VALOR.items():
        (tmp_path / name).write_text(text)
    code = (
        f"import sys; sys.argv = ['bench_train.py']; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); "
        "import bench_train, types; from linkpaper.training.precision import PRECISIONS; "
        "data = bench_train.random_data('pooled', 320, 24, 4); "
        "args = types.SimpleNamespace(max_batches=2, train_videos=320, val_videos=24); "
        f"r = bench_train.time_reference({str(tmp_path)!r}, data, args); "
        "import main_avvp; print(r['epoch'] > 0, r['val'] > 0, main_avvp.CALLS)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    # 2 warm-up batches + 2 timed ones; every validation video, one at a time.
    assert result.stdout.strip() == "True True {'train_batches': 4, 'eval_videos': 24}"


def test_bench_train_reference_is_printed_with_its_ratio_only_when_timed_here(tmp_path):
    pytest.importorskip("pandas")
    for name, text in FAKE_VALOR.items():
        (tmp_path / name).write_text(text)
    small = [
        "--train-videos",
        "192",
        "--val-videos",
        "16",
        "--max-batches",
        "1",
        "--val-repeats",
        "1",
        "--threads",
        "1",
        "--forms",
        "pooled",
    ]
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_train.py"), *small, "--reference", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    assert re.search(r"reference pooled \(VALOR's loop\) train epoch\s+[\d.]+ s", out), out
    assert re.search(r"bf16 .*vs fp32: epoch [\d.]+x.*vs reference: epoch [\d.]+x, incl. validation [\d.]+x", out), out
    assert re.search(r"CPU: .*bf16 flags: ", out) and out.count("bf16 flags") >= 2  # with the figures too
    missing = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_train.py"), *small, "--reference", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert missing.returncode == 1 and "no main_avvp.py, main_network.py there" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_bench_train_stored_reference_names_machine_and_date_and_gives_no_ratio():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_train

    for form in ("pooled", "maps"):
        text = bench_train.stored_reference_text(form)
        assert "no ratio" in text or "no stored figure" in text
        assert "x," not in text and "x (" not in text
        if bench_train.STORED_REFERENCE[form]["epoch"] is not None:
            assert bench_train.STORED_REFERENCE["machine"] in text and bench_train.STORED_REFERENCE["date"] in text
