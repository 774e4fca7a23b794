"""The field's methods through the registry, the engine and ``python -m linkpaper train``.

Small networks (``--model-override``), ``synth:tiny``, one thread, one or two epochs.
"""

from __future__ import annotations

import json

import pytest
import torch

from linkpaper.cli import main
from linkpaper.errors import ConfigError, UserError
from linkpaper.models import build_model, canonical_name, get_method, list_methods
from linkpaper.training.engine import load_run, make_optimizer, train
from linkpaper.training.recipe import (
    TrainConfig,
    epoch_lr,
    method_recipe,
    recipe_config,
    select_epoch,
    step_lr_at_epoch,
)

SMALL = {
    "han": ["hidden_dim=32", "ff_dim=32"],
    "jomold": ["hidden_dim=32", "ff_dim=32"],
    "mm-pyramid": ["hidden_dim=32", "ff_dim=32", "num_levels=2"],
    "leap": ["hidden_dim=32", "ff_dim=32", "num_levels=2", "decoder_layers=1"],
}


def overrides(method):
    return [arg for item in SMALL[method] for arg in ("--model-override", item)]


@pytest.mark.parametrize("method", list_methods())
def test_train_command_trains_each_method(method, tmp_path, capsys):
    out = tmp_path / method
    code = main(
        [
            "train",
            "--model",
            method,
            "--data",
            "synth:tiny",
            "--epochs",
            "2",
            "--threads",
            "1",
            "--seed",
            "5",
            "--quiet",
            "--out",
            str(out),
            *overrides(method),
        ]
    )
    assert code == 0, capsys.readouterr().err
    record = json.loads((out / "results.json").read_text())
    assert record["complete"] and record["config"]["model"] == method
    assert len(record["test_row"]) == 10 and all(0 <= x <= 100 for x in record["test_row"])
    recipe = method_recipe(method)
    assert record["method"]["recipe"]["optimizer"] == "adam" and record["config"]["batch_size"] == recipe["batch_size"]
    assert record["config"]["clip_norm"] is None and record["config"]["lr"] == recipe["lr"]
    published = record["method"]["published_selection"]
    assert published == select_epoch(get_method(method).selection, record["epochs"])
    assert [e["lr"] for e in record["epochs"]] == [recipe["lr"]] * 2  # no step within two epochs
    if method == "jomold":
        stages = record["method"]["stages"]
        assert stages[0]["name"] == "jomold/estimator" and stages[0]["run_dir"] == "estimator"
        estimator = json.loads((out / "estimator" / "results.json").read_text())
        assert estimator["complete"] and estimator["config"]["model"] == "jomold/estimator"
        assert len(stages[0]["noise_ratios"]["audio"]) == 25
        assert json.loads((out / "hand_over.json").read_text()) == stages[0]
        assert "dropped_visual" in record["epochs"][-1]["diagnostics"]
    # the best checkpoint reloads into the method's network with its scores
    _, config, model, _ = load_run(out)
    assert type(model).__name__ == type(build_model(method, **dict(i.split("=") for i in SMALL[method]))).__name__


def test_same_seed_same_numbers_and_resume_of_a_stage(tmp_path):
    config = recipe_config(
        "jomold", data="synth:tiny", epochs=2, num_threads=1, seed=3, model_overrides={"hidden_dim": 32, "ff_dim": 32}
    )
    first = train(config, None, progress=False)
    second = train(config, None, progress=False)
    assert first.test_row == second.test_row
    interrupted = train(config, tmp_path / "run", progress=False, stop_after=1)
    assert not interrupted.complete
    resumed = train(config, tmp_path / "run", progress=False, resume=True)
    assert resumed.test_row == first.test_row
    with pytest.raises(UserError, match="a finished run is already there"):
        train(config, tmp_path / "run", progress=False)


def test_recipes_match_the_released_scripts():
    """HAN main_avvp.py, MM_Pyramid main_avvp.py, JoMoLD main.py, LEAP run_leap_train.sh."""
    expected = {  # optimiser, lr, step, gamma, epochs, batch
        "han": ("adam", 3e-4, 10, 0.1, 40, 16),
        "mm-pyramid": ("adam", 1e-4, 10, 0.1, 40, 16),
        "jomold": ("adam", 5e-4, 6, 0.25, 25, 128),
        "jomold/estimator": ("adam", 5e-4, 6, 0.25, 25, 128),
        "leap": ("adam", 1e-4, 10, 0.1, 30, 32),
    }
    for name, values in expected.items():
        r = method_recipe(name)
        assert (r["optimizer"], r["lr"], r["step_size"], r["gamma"], r["epochs"], r["batch_size"]) == values
        assert r["clip_norm"] is None and r["weight_decay"] == 0.0 and tuple(r["betas"]) == (0.9, 0.999)
    assert get_method("jomold").selection == {"level": "event", "score": "audio", "ties": "later"}
    assert get_method("han").selection == {"level": "segment", "score": "type", "ties": "later"}
    # VALOR++, LINK and the controls keep TrainConfig's recipe
    assert recipe_config("link") == TrainConfig(model="link") and method_recipe("+S/leap")["optimizer"] == "adamw"


def test_step_schedule_is_the_released_steplr():
    """StepLR(10, 0.1) stepped with scheduler.step(epoch) after each epoch: epochs 1-10 at lr."""
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.1)
    for epoch in range(1, 41):
        assert optimizer.param_groups[0]["lr"] == pytest.approx(step_lr_at_epoch(epoch, 3e-4, 10, 0.1), rel=1e-12)
        optimizer.step()
        scheduler.step()
    config = recipe_config("jomold")
    assert [epoch_lr(config, e) for e in (1, 6, 7, 13)] == pytest.approx([5e-4, 5e-4, 1.25e-4, 3.125e-5])
    assert isinstance(make_optimizer(build_model("han", hidden_dim=8, ff_dim=8), config, "cpu"), torch.optim.Adam)


def test_selection_rules_pick_ties_as_released():
    epochs = [
        {"epoch": e, "val": {"segment": {"type": s}, "event": {"audio": s}}} for e, s in ((1, 5.0), (2, 7.0), (3, 7.0))
    ]
    assert select_epoch({"level": "segment", "score": "type", "ties": "later"}, epochs)["best_epoch"] == 3
    assert select_epoch({"level": "segment", "score": "type", "ties": "earlier"}, epochs)["best_epoch"] == 2
    assert select_epoch({"level": "event", "score": "audio", "ties": "later"}, []) is None


def test_names_and_bad_options_are_one_line_errors(tmp_path, capsys):
    assert canonical_name("MM-Pyramid") == "mm-pyramid" and canonical_name("LEAP") == "leap"
    with pytest.raises(ConfigError, match="valid HANConfig fields"):
        build_model("han", use_tsam=True)
    code = main(
        [
            "train",
            "--model",
            "han",
            "--data",
            "synth:tiny",
            "--out",
            str(tmp_path / "x"),
            "--model-override",
            "num_levels=2",
        ]
    )
    assert code == 2 and "num_levels" in capsys.readouterr().err
    code = main(["train", "--model", "hann", "--data", "synth:tiny", "--out", str(tmp_path / "y")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "han, mm-pyramid, jomold, leap" in err
