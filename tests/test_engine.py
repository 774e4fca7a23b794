"""The training engine: recipe, checkpoints, resume, determinism, run records, errors."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch

# A small network (and one thread, which is faster on a busy 2-core machine) keeps every run
# in this file to about a second.
from helpers_sizes import SMALL_RUN as SMALL
from helpers_sizes import tiny_run_config

from linkpaper.data.sources import load_data
from linkpaper.errors import ConfigError, UserError
from linkpaper.models.plsim_labels import PLSIM_LABEL_MODES
from linkpaper.training.engine import test_run, train, training_step
from linkpaper.training.recipe import TrainConfig, lr_at_epoch
from linkpaper.training.runs import CHECKPOINT_BEST, CHECKPOINT_LAST, PREDICTIONS_FILE


@pytest.fixture(scope="module")
def tiny():
    return load_data("synth:tiny")


config = tiny_run_config


def test_schedule_matches_valor_warmup_cosine():
    assert lr_at_epoch(1, 60) == pytest.approx(3e-5, rel=1e-12)
    assert lr_at_epoch(9, 60) == pytest.approx(2.7e-4, rel=1e-12)
    assert lr_at_epoch(10, 60) == pytest.approx(3e-4, rel=1e-12)
    assert lr_at_epoch(60, 60) == pytest.approx(3e-6, rel=1e-12)
    # Half-way through the cosine the rate is the midpoint of lr and lr_min.
    assert lr_at_epoch(35, 60) == pytest.approx(0.5 * (3e-4 + 3e-6), rel=1e-12)
    rates = [lr_at_epoch(e, 60) for e in range(10, 61)]
    assert all(a > b for a, b in zip(rates, rates[1:]))


def test_training_step_clips_the_gradient_norm(tiny):
    from linkpaper.models import build_model

    torch.manual_seed(0)
    model = build_model("valor++", **SMALL)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.0)
    batch = {k: v[:16] for k, v in tiny.train.tensor_fields().items()}
    limit = 1e-4
    training_step(model, optimizer, batch, clip_norm=limit)
    norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters() if p.grad is not None]))
    assert norm <= limit * (1 + 1e-4)
    training_step(model, optimizer, batch, clip_norm=1e6)  # no clipping: the raw norm is larger
    raw = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters() if p.grad is not None]))
    assert raw > 10 * limit


def test_record_shapes_and_files(tmp_path, tiny):
    from linkpaper.evaluation.predictions import load_predictions

    run = tmp_path / "run"
    record = train(config(epochs=2), run, data=tiny, progress=False)
    assert record["complete"] and record["best_epoch"] in (1, 2)
    saved = json.loads((run / "results.json").read_text())
    assert saved["test_row"] == record["test_row"] and len(saved["test_row"]) == 10
    assert [e["epoch"] for e in saved["epochs"]] == [1, 2]
    first = saved["epochs"][0]
    assert first["lr"] == pytest.approx(lr_at_epoch(1, 2))
    assert "total" in first["train_loss"] and math.isfinite(first["train_loss"]["total"])
    assert set(first["val"]) == {"segment", "event"} and len(first["val"]["segment"]) == 5
    assert saved["data"]["source"] == tiny.source and saved["seed"] == 5
    assert saved["config"]["model_overrides"] == SMALL
    assert set(saved["hardware"]) >= {"cpu", "torch", "threads", "device"}
    assert "commit" in saved["code"] and saved["label_leakage"] is False
    for name in (CHECKPOINT_LAST, CHECKPOINT_BEST, PREDICTIONS_FILE):
        assert (run / name).is_file()
    predictions = load_predictions(run / PREDICTIONS_FILE)
    frame_prob = predictions["frame_prob"] if isinstance(predictions, dict) else predictions.frame_prob
    assert frame_prob.shape == (len(tiny.test), 10, 2, 25)
    scores, _ = test_run(run, data=tiny)
    np.testing.assert_allclose(scores.row(), record["test_row"], rtol=1e-6)


def _weights(run_dir):
    return torch.load(run_dir / CHECKPOINT_LAST, weights_only=True)["model"]


def test_resume_after_interruption_equals_uninterrupted_run(tmp_path, tiny):
    whole = train(config(), tmp_path / "whole", data=tiny, progress=False)
    partial = train(config(), tmp_path / "split", data=tiny, stop_after=1, progress=False)
    assert not partial["complete"] and len(partial["epochs"]) == 1
    with pytest.raises(UserError, match="--resume"):
        train(config(), tmp_path / "split", data=tiny, progress=False)
    resumed = train(config(), tmp_path / "split", data=tiny, resume=True, progress=False)
    assert resumed["test_row"] == whole["test_row"]
    assert [e["val"] for e in resumed["epochs"]] == [e["val"] for e in whole["epochs"]]
    assert [e["train_loss"] for e in resumed["epochs"]] == [e["train_loss"] for e in whole["epochs"]]
    a, b = _weights(tmp_path / "whole"), _weights(tmp_path / "split")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # Same seed, no run folder: the same numbers again; another seed: different ones.
    again = train(config(), None, data=tiny, progress=False)
    assert again["test_row"] == whole["test_row"]
    other = train(config(seed=6, epochs=1), None, data=tiny, progress=False)
    assert other["epochs"][0]["train_loss"] != whole["epochs"][0]["train_loss"]


def test_finished_run_is_not_overwritten(tmp_path, tiny):
    run = tmp_path / "done"
    first = train(config(epochs=1), run, data=tiny, progress=False)
    with pytest.raises(UserError, match="finished run.*--resume.*new --out"):
        train(config(epochs=1), run, data=tiny, progress=False)
    assert train(config(epochs=1), run, data=tiny, resume=True, progress=False) == first
    with pytest.raises(ConfigError, match="epochs: 1 -> 2"):
        train(config(epochs=2), run, data=tiny, resume=True, progress=False)


def test_truncated_checkpoint_gives_a_clear_error(tmp_path, tiny):
    run = tmp_path / "cut"
    train(config(), run, data=tiny, stop_after=1, progress=False)
    path = run / CHECKPOINT_LAST
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(UserError, match=r"checkpoint_last\.pt.*truncated or corrupt"):
        train(config(), run, data=tiny, resume=True, progress=False)


class _Marker:
    """Unpickling this object would create a marker file (what a malicious checkpoint does)."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_checkpoints_load_without_running_code(tmp_path, tiny):
    run = tmp_path / "safe"
    train(config(), run, data=tiny, stop_after=1, progress=False)
    state = torch.load(run / CHECKPOINT_LAST, weights_only=True)  # the real format is weights-only
    assert isinstance(state["rng"]["numpy"]["keys"], torch.Tensor)
    marker = tmp_path / "pwned"
    state["extra"] = _Marker(marker)
    torch.save(state, run / CHECKPOINT_LAST)
    with pytest.raises(UserError, match=r"checkpoint_last\.pt: refused to load.*could run code"):
        train(config(), run, data=tiny, resume=True, progress=False)
    assert not marker.exists()


def test_checkpoint_of_the_wrong_kind_is_named(tmp_path, tiny):
    run = tmp_path / "swapped"
    train(config(), run, data=tiny, stop_after=1, progress=False)
    (run / CHECKPOINT_LAST).write_bytes((run / CHECKPOINT_BEST).read_bytes())
    with pytest.raises(
        UserError, match=r"checkpoint_last\.pt: not a linkpaper checkpoint_last\.pt \(missing optimizer"
    ):
        train(config(), run, data=tiny, resume=True, progress=False)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"epochs": 0}, "--epochs"),
        ({"batch_size": -4}, "--batch-size"),
        ({"model": "resnet"}, "unknown model 'resnet'"),
        ({"plsim_labels": "oracle"}, "--plsim-labels: unknown mode 'oracle'"),
        ({"device": "tpu"}, "--device"),
        ({"lr_min": 1.0}, "lr_min"),
    ],
)
def test_bad_configurations_are_named(changes, message):
    with pytest.raises(ConfigError, match=message):
        config(**changes).validate()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_cuda_without_cuda_is_refused():
    with pytest.raises(ConfigError, match="CUDA is not available"):
        config(device="cuda").validate()


def test_gated_plsim_labels_need_the_leakage_flag(tmp_path, tiny):
    with pytest.raises(ConfigError, match="ground-truth.*--allow-label-leakage"):
        train(config(model="+P", plsim_labels="gated", epochs=1), tmp_path / "g", data=tiny, progress=False)
    assert not (tmp_path / "g" / CHECKPOINT_LAST).exists()
    record = train(
        config(model="+P", plsim_labels="gated", allow_label_leakage=True, epochs=1),
        tmp_path / "g2",
        data=tiny,
        progress=False,
    )
    saved = json.loads((tmp_path / "g2" / "results.json").read_text())
    assert saved["label_leakage"] is True and record["label_leakage"] is True
    assert "ground-truth video labels" in saved["caption"]
    assert saved["plsim"] == {"used": True, "labels": "gated", "text_source": tiny.text_source}
    # Without PLSIM the mode does not matter and nothing leaks.
    plain = train(config(plsim_labels="gated", epochs=1), None, data=tiny, progress=False)
    assert plain["label_leakage"] is False and plain["plsim"]["used"] is False


def test_missing_ungated_labels_explain_the_alternatives(tiny):
    split = dataclasses.replace(tiny.val, pseudo_audio_ungated=None)
    with pytest.raises(ConfigError, match="--plsim-labels self"):
        PLSIM_LABEL_MODES["ungated"].labels(split)
    assert PLSIM_LABEL_MODES["self"].labels(split) == (None, None)
    audio, visual = PLSIM_LABEL_MODES["ungated"].labels(tiny.val)
    assert audio is tiny.val.pseudo_audio_ungated and visual is tiny.val.pseudo_visual_ungated


def test_train_and_test_commands(tmp_path, capsys):
    from linkpaper.cli import main

    out = tmp_path / "cli_run"
    argv = [
        "train",
        "--model",
        "valor++",
        "--data",
        "synth:tiny",
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--seed",
        "3",
        "--out",
        str(out),
        "--quiet",
        "--threads",
        "1",
    ]
    for key, value in SMALL.items():
        argv += ["--model-override", f"{key}={value}"]
    assert main(argv) == 0
    record = json.loads((out / "results.json").read_text())
    assert record["config"]["seed"] == 3 and record["complete"]
    capsys.readouterr()
    assert main(argv) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["test", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "SynthLLP" in printed and "seed 3" in printed
    assert main(["test", str(tmp_path / "nowhere")]) == 2
    assert "no run record" in capsys.readouterr().err
    assert main(["train", "--data", "synth:tiny", "--out", str(tmp_path / "x"), "--model-override", "hidden_dim"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


def test_plsim_self_mode_and_text_table_file(tmp_path, tiny):
    record = train(config(model="+P", plsim_labels="self", epochs=1), None, data=tiny, progress=False)
    assert record["plsim"] == {"used": True, "labels": "self", "text_source": tiny.text_source}
    table = np.random.default_rng(0).normal(size=(25, 16)).astype(np.float32)
    np.save(tmp_path / "table.npy", table)
    record = train(
        config(model="+P", text_table=str(tmp_path / "table.npy"), epochs=1), None, data=tiny, progress=False
    )
    assert "table.npy" in record["plsim"]["text_source"] and record["plsim"]["labels"] == "ungated"
    np.save(tmp_path / "bad.npy", table[:3])
    with pytest.raises(UserError, match="bad.npy"):
        train(config(model="+P", text_table=str(tmp_path / "bad.npy"), epochs=1), None, data=tiny, progress=False)


def test_predict_clamps_video_probabilities_above_one(tiny):
    """VALOR's attentive pooling can exceed 1; predictions files need [0, 1] (gate unchanged)."""
    from linkpaper.models import build_model
    from linkpaper.training.scoring import predict

    model = build_model("valor++")

    class Overshoot(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = model

        def forward(self, *args, **kwargs):
            out = self.inner(*args, **kwargs)
            return dataclasses.replace(out, global_prob=out.global_prob * 0 + 1.5)

    frame_prob, video_prob = predict(Overshoot(), tiny.val)
    assert video_prob.shape == (len(tiny.val), 25)
    assert video_prob.max() == 1.0 and video_prob.min() == 1.0


# --------------------------------------------------------------------------------------------
# fit: the model back in memory, a callback per step, a run cut short
# --------------------------------------------------------------------------------------------


def random_data(seed: int, prefix: str, n_train: int):
    """A small random AVVPData (train n_train / val 4 / test 4 videos) with dense GT = labels."""
    from linkpaper.data.split import AVVPData, AVVPSplit

    g = torch.Generator().manual_seed(seed)

    def split(name, n):
        labels = (torch.rand(n, 10, 25, generator=g) > 0.9).float()
        gt = labels.numpy() > 0.5
        return AVVPSplit(
            name,
            [f"{prefix}{name}{i:08d}_0_10.mp4" for i in range(n)],
            torch.randn(n, 10, 768, generator=g),
            torch.randn(n, 10, 768, generator=g),
            torch.randn(n, 10, 512, generator=g),
            labels.amax(1),
            labels,
            labels,
            gt_audio=gt,
            gt_visual=gt,
        )

    return AVVPData(split("train", n_train), split("val", 4), split("test", 4), source={"kind": "test"})


def test_fit_in_memory_returns_the_best_model_of_the_run_on_disk(tmp_path):
    from linkpaper.training.engine import fit, load_run
    from linkpaper.training.scoring import evaluate_split

    data = random_data(3, "v", 8)
    run = config(epochs=2, warmup_epochs=1, batch_size=4)
    fitted = fit(run, None, data=data, progress=False)
    assert fitted.record["complete"] and len(fitted.record["epochs"]) == 2
    scores, _, _ = evaluate_split(fitted.model, data.val)
    assert scores.table == fitted.record["best_val"]
    on_disk = fit(run, tmp_path / "run", data=data, progress=False)
    _, _, loaded, _ = load_run(tmp_path / "run", data=data)
    assert on_disk.record["test_row"] == fitted.record["test_row"]
    for (name, a), b in zip(fitted.model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name


def test_fit_can_skip_the_test_pass():
    from linkpaper.training.engine import fit

    data = random_data(4, "w", 8)
    record = fit(config(epochs=1, warmup_epochs=1, batch_size=4), data=data, evaluate_test=False, progress=False).record
    assert record["complete"] and "test" not in record and "test_row" not in record


def test_on_step_sees_every_step_and_max_steps_stops_the_run():
    from linkpaper.training.engine import fit

    data = random_data(6, "s", 10)
    run = config(model="+T", epochs=1, warmup_epochs=1, batch_size=4)
    seen = []

    def watch(step):
        seen.append(
            {
                "step": step.step,
                "epoch": step.epoch,
                "alpha1": step.model.cmim.alpha1.item(),
                "beta1": step.model.cmim.beta1.item(),
                "total": step.losses["total"].item(),
                "alpha1_seen": float(torch.as_tensor(step.output.diagnostics["alpha1"]).float().mean()),
            }
        )

    record = fit(run, data=data, on_step=watch, progress=False).record
    assert [s["step"] for s in seen] == [1, 2, 3] and {s["epoch"] for s in seen} == {1}  # ceil(10 / 4) steps
    assert all(s["alpha1"] == s["beta1"] for s in seen) and seen[-1]["alpha1"] != 1.0  # equal init, equal gradients
    # the record holds the epoch means of what each step's forward pass saw (before its update)
    epoch = record["epochs"][0]
    assert epoch["train_loss"]["total"] == pytest.approx(np.mean([s["total"] for s in seen]), abs=1e-6)
    assert epoch["diagnostics"]["alpha1"] == pytest.approx(np.mean([s["alpha1_seen"] for s in seen]), abs=1e-6)

    cut = []
    fitted = fit(
        run, data=data, max_steps=2, on_step=lambda step: cut.append(step.model.cmim.alpha1.item()), progress=False
    )
    assert cut == [s["alpha1"] for s in seen[:2]]  # the same steps, stopped after the second
    assert fitted.model.cmim.alpha1.item() == cut[-1]
    assert not fitted.record["complete"] and fitted.record["epochs"] == []
    with pytest.raises(ConfigError, match="max_steps"):
        fit(run, "somewhere", data=data, max_steps=2)


def test_recipe_warmup_is_the_books_rule():
    from linkpaper.training.recipe import RECIPE_WARMUP_EPOCHS, recipe_warmup

    assert TrainConfig().warmup_epochs == RECIPE_WARMUP_EPOCHS == recipe_warmup(60) == recipe_warmup(10) == 10
    assert recipe_warmup(9) == recipe_warmup(2) == recipe_warmup(1) == 1
