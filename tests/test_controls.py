"""The attribution controls: ``valor++/weak`` (weak labels only, HAN's terms), ``+P/self`` (PLSIM
reads its own first pass), and the last-epoch test scores every run records."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from helpers_sizes import SMALL_RUN as SMALL
from helpers_sizes import tiny_run_config

from linkpaper.data.sources import load_data
from linkpaper.errors import ConfigError
from linkpaper.losses import compute_losses, weak_label_losses
from linkpaper.models import build_model, model_config
from linkpaper.models.valor import AVVPOutput
from linkpaper.training.engine import fit, train
from linkpaper.training.grid import grid_config
from linkpaper.training.recipe import TrainConfig


@pytest.fixture(scope="module")
def tiny():
    return load_data("synth:tiny")


def _output(global_prob, a_prob, v_prob):
    b, c = global_prob.shape
    zeros = torch.zeros(b, 10, 2, c)
    return AVVPOutput(global_prob, a_prob, v_prob, zeros, zeros, torch.zeros(b, 10, 4), torch.zeros(b, 10, 4))


def test_weak_label_losses_on_a_hand_made_batch():
    weak = torch.tensor([[1.0, 0.0]])
    p = torch.tensor([[0.8, 0.3]])
    losses = weak_label_losses(_output(p, p, p), weak)
    expected_hard = -(torch.log(torch.tensor(0.8)) + torch.log(torch.tensor(0.7))) / 2
    assert losses["video"] == pytest.approx(float(expected_hard), abs=1e-6)
    assert losses["audio_video"] == pytest.approx(float(expected_hard), abs=1e-6)
    # the visual target is smoothed: 0.95 for a weak label, 0.05 otherwise (HAN)
    soft = F.binary_cross_entropy(p, torch.tensor([[0.95, 0.05]]))
    assert losses["visual_video"] == pytest.approx(float(soft), abs=1e-6)
    assert set(losses) == {"video", "audio_video", "visual_video"}


def test_weak_control_reads_no_pseudo_label(tiny):
    model = build_model("valor++/weak", **SMALL)
    assert model_config("valor++/weak").supervision == "weak"
    batch = {k: v[:8] for k, v in tiny.train.tensor_fields().items()}
    output = model(batch["audio"], batch["visual"], batch["visual_3d"])
    scrambled = {**batch, "pseudo_audio": 1 - batch["pseudo_audio"], "pseudo_visual": 1 - batch["pseudo_visual"]}
    a, b = compute_losses(model, output, batch), compute_losses(model, output, scrambled)
    assert torch.equal(a["total"], b["total"])  # the pseudo labels do not enter the loss
    assert set(a) == {"video", "audio_video", "visual_video", "total"}
    a["total"].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    with pytest.raises(ConfigError, match="supervision='weak'"):
        model_config("valor++/weak", use_sloss=True)


def test_plus_p_self_fixes_its_label_mode():
    config = TrainConfig(model="+P/self").validate()
    assert config.plsim_labels == "self"
    assert grid_config(TrainConfig(), "+P/self", 88).plsim_labels == "self"
    assert grid_config(TrainConfig(), "+P", 88).plsim_labels == "ungated"
    with pytest.raises(ConfigError, match=r"--plsim-labels gated: the variant \+P/self reads self labels"):
        TrainConfig(model="+P/self", plsim_labels="gated", allow_label_leakage=True).validate()


def test_plus_p_self_trains_without_teacher_labels_at_test_time(tiny):
    no_teachers = dataclasses.replace(
        tiny, test=dataclasses.replace(tiny.test, pseudo_audio_ungated=None, pseudo_visual_ungated=None)
    )
    record = train(tiny_run_config(model="+P/self", epochs=1), None, data=no_teachers, progress=False)
    assert record.plsim == {"used": True, "labels": "self", "text_source": tiny.text_source}
    assert len(record.test_row) == 10


def test_every_run_records_its_last_epoch_test_scores(tiny, tmp_path):
    import json

    record = fit(tiny_run_config(epochs=3), tmp_path / "run", data=tiny, progress=False).record
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["last_epoch_test_row"] == record.last_epoch_test_row
    assert len(record.last_epoch_test_row) == 10 and record.best_epoch in (1, 2, 3)
    assert set(record.last_epoch_test) == {"segment", "event"}
    assert "last_epoch_test_row" in record.to_dict()
    if record.best_epoch == 3:
        assert record.last_epoch_test_row == record.test_row
