"""Inputs are checked wherever a run continues or is re-scored (issue 23, item 2): every record
carries its annotation checksums and data fingerprint; ``--resume``, grid reuse and ``test``
refuse other inputs with one line; ``test`` compares its scores with the record's and says
whether the run is finished."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import torch
from helpers_sizes import tiny_run_config

from linkpaper.cli import main
from linkpaper.errors import UserError
from linkpaper.training.engine import train
from linkpaper.training.runs import CHECKPOINT_BEST


def _annotations(llp_data_dir: Path, dst: Path) -> Path:
    """A private copy of the annotation folder (llp/ CSVs and leap/), to edit."""
    (dst / "llp").mkdir(parents=True)
    for path in (llp_data_dir / "llp").glob("*.csv"):
        shutil.copyfile(path, dst / "llp" / path.name)
    shutil.copytree(llp_data_dir / "leap", dst / "leap")
    return dst


def _edit_ground_truth(data_dir: Path) -> None:
    """One more dense audio event: the ground truth runs are scored on changes."""
    path = data_dir / "llp" / "AVVP_eval_audio.csv"
    path.write_text(path.read_text() + "zzzzzzzzzzz_0_10\t0\t3\tDog\n")


@pytest.fixture(scope="module")
def finished(tmp_path_factory, llp_data_dir):
    """A finished one-epoch run on synth:tiny with its own annotation copy: (run folder, data dir)."""
    root = tmp_path_factory.mktemp("inputs")
    data_dir = _annotations(llp_data_dir, root / "data")
    run = root / "run"
    train(tiny_run_config(epochs=1, data_dir=str(data_dir)), run, progress=False)
    return run, data_dir


def test_every_record_carries_annotation_checksums_and_a_fingerprint(finished):
    from linkpaper.data.download import sha256_of

    run, data_dir = finished
    inputs = json.loads((run / "results.json").read_text())["data"]["inputs"]
    assert inputs["annotations"]["AVVP_eval_audio.csv"] == sha256_of(data_dir / "llp" / "AVVP_eval_audio.csv")
    assert set(inputs["annotations"]) >= {
        "AVVP_train.csv",
        "AVVP_val_pd.csv",
        "AVVP_test_pd.csv",
        "AVVP_eval_visual.csv",
        "llp_label_glove_embeddings.pt",
    }
    assert len(inputs["fingerprint"]) == 32


def test_test_says_the_finished_run_matches_its_record(finished, capsys):
    run, _ = finished
    assert main(["test", str(run)]) == 0
    out = capsys.readouterr().out
    assert "the run is finished (1 of 1 epochs); these scores are the ones its record holds" in out


def test_test_names_scores_that_differ_from_the_record(finished, tmp_path, capsys):
    run, data_dir = finished
    other = tmp_path / "other"
    train(tiny_run_config(epochs=1, seed=6, data_dir=str(data_dir)), other, progress=False)
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    shutil.copyfile(other / CHECKPOINT_BEST, copy / CHECKPOINT_BEST)  # same architecture, other weights
    assert main(["test", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "NOT the recorded scores" in out and "WARNING: these scores differ from the ones the run record holds" in out


def test_test_refuses_edited_annotations_and_a_foreign_architecture(finished, tmp_path, capsys):
    run, data_dir = finished
    edited = _annotations(data_dir, tmp_path / "edited")
    _edit_ground_truth(edited)
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    record = json.loads((copy / "results.json").read_text())
    record["config"]["data_dir"] = str(edited)
    (copy / "results.json").write_text(json.dumps(record))
    assert main(["test", str(copy)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: test: {copy / 'results.json'} was trained on other inputs") and err.count("\n") == 1
    assert "AVVP_eval_audio.csv: sha256" in err
    # a checkpoint of another architecture: one line naming the file, not a load_state_dict traceback
    shutil.copytree(run, tmp_path / "arch")
    state = torch.load(run / CHECKPOINT_BEST, weights_only=True)
    state["model"] = {"nonsense.weight": torch.zeros(3)}
    torch.save(state, tmp_path / "arch" / CHECKPOINT_BEST)
    assert main(["test", str(tmp_path / "arch")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'arch' / CHECKPOINT_BEST}: its weights do not fit the run's model valor++" in err
    assert err.count("\n") == 1


def test_test_says_when_a_run_is_unfinished(tmp_path, llp_data_dir, capsys):
    run = tmp_path / "run"
    train(tiny_run_config(epochs=3), run, stop_after=1, progress=False)
    assert main(["test", str(run)]) == 0
    assert "note: the run is unfinished (1 of 3 epochs)" in capsys.readouterr().out


def test_resume_refuses_regenerated_llp_features(tmp_path, llp_data_dir):
    from linkpaper.data.synth import make_synth, write_valor_layout

    folder = tmp_path / "features"
    write_valor_layout(make_synth("tiny", seed=0, data_dir=llp_data_dir), folder, progress=False)
    config = tiny_run_config(data=f"llp:{folder}", epochs=2)
    train(config, tmp_path / "run", stop_after=1, progress=False)
    write_valor_layout(make_synth("tiny", seed=1, data_dir=llp_data_dir), folder, progress=False, overwrite=True)
    with pytest.raises(UserError, match=r"--resume: .*results\.json was trained on other inputs .*data fingerprint"):
        train(config, tmp_path / "run", resume=True, progress=False)


def test_resume_refuses_changed_annotations(tmp_path, llp_data_dir):
    data_dir = _annotations(llp_data_dir, tmp_path / "data")
    config = tiny_run_config(epochs=2, data_dir=str(data_dir))
    train(config, tmp_path / "run", stop_after=1, progress=False)
    _edit_ground_truth(data_dir)
    with pytest.raises(UserError, match=r"AVVP_eval_audio\.csv: sha256 [0-9a-f]{12}\.\.\. -> [0-9a-f]{12}\.\.\."):
        train(config, tmp_path / "run", resume=True, progress=False)


def test_grid_refuses_to_reuse_runs_scored_on_other_ground_truth(finished, tmp_path):
    from linkpaper.errors import ConfigError
    from linkpaper.training.grid import run_dir_for, run_grid

    run, data_dir = finished
    config = tiny_run_config(epochs=1, data_dir=str(data_dir))
    out = tmp_path / "grid"
    shutil.copytree(run, run_dir_for(out, "valor++", 5))
    edited = _annotations(data_dir, tmp_path / "edited")
    _edit_ground_truth(edited)
    with pytest.raises(ConfigError, match=r"valorpp/seed5 \(AVVP_eval_audio\.csv: sha256"):
        run_grid(dataclasses.replace(config, data_dir=str(edited)), ["valor++"], [5], out, progress=False)
    report = run_grid(config, ["valor++"], [5], out, progress=False)  # the same files: reused
    assert report.runs[0]["status"] == "complete"


def test_synth_spec_with_and_without_its_default_seed_is_one_configuration():
    from linkpaper.training.runs import config_differences

    assert config_differences({"data": "synth:tiny"}, {"data": "synth:tiny:0"}) == []
    # shown as written (the recorded spelling), compared as one dataset
    assert config_differences({"data": "synth:tiny"}, {"data": "synth:tiny:1"}) == [
        "data: 'synth:tiny' -> 'synth:tiny:1'"
    ]


def test_a_synth_folder_without_its_synthllp_json_is_still_recorded_as_synthetic(tmp_path, llp_data_dir):
    from linkpaper.data.features import load_llp
    from linkpaper.data.synth import make_synth, write_valor_layout
    from linkpaper.training.runs import RunRecord

    folder = tmp_path / "features"
    write_valor_layout(make_synth("tiny", seed=2, data_dir=llp_data_dir), folder, progress=False)
    (folder / "synthllp.json").unlink()
    data = load_llp(folder, data_dir=llp_data_dir, cache=False, progress=False)
    assert data.source["kind"] == "synth" and data.source["seed"] == 2
    record = RunRecord(data={"source": data.source, "description": data.describe()})
    assert record.data_label() == "SynthLLP tiny seed 2 (synthetic)"


def test_test_refuses_a_synth_run_of_another_generation_without_recorded_inputs(tmp_path):
    """A record written before inputs were recorded (or by a calibration run with a knob
    override) is not silently scored on the default generation."""
    import json

    from helpers_sizes import tiny_run_config

    from linkpaper.data.synth import make_synth
    from linkpaper.errors import UserError
    from linkpaper.training.engine import test_run, train

    data = make_synth("tiny", 0, class_noise=0.6)
    run = tmp_path / "run"
    train(tiny_run_config(epochs=1), run, data=data, progress=False)
    record = json.loads((run / "results.json").read_text())
    record["data"].pop("inputs")  # as records of earlier rounds
    (run / "results.json").write_text(json.dumps(record))
    with pytest.raises(UserError, match=r"another SynthLLP generation .*\(config, teachers differ\)"):
        test_run(run)  # synth:tiny regenerated with the default class_noise
    scores, _ = test_run(run, data=data)  # the run's own generation: scored
    assert scores.row()[3] == pytest.approx(record["test_row"][3])
