"""The typed run record (linkpaper.training.runs): the committed records load, round-trip byte for byte,
and read like the plain dict the notebooks index."""

import json
from pathlib import Path

import pytest

from linkpaper.errors import UserError
from linkpaper.training.runs import RESULTS_FILE, RunRecord, config_differences, read_results

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = sorted((ROOT / "results").glob("*/**/" + RESULTS_FILE))


def test_committed_records_exist():
    folders = {p.relative_to(ROOT / "results").parts[0] for p in COMMITTED}
    assert {"synth_small_grid", "synth_small_recipe", "synth_calibration"} <= folders


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(ROOT / "results").parent))
def test_committed_records_round_trip_byte_for_byte(path):
    plain = read_results(path.parent)
    record = RunRecord.read(path.parent)
    assert record.run_dir == path.parent
    assert record.to_dict() == plain and list(record.to_dict()) == list(plain)
    assert json.dumps(record.to_dict(), indent=2) + "\n" == path.read_text()
    # the Mapping view: what the notebooks index
    assert record == plain and dict(record) == plain and record.get("test_row") == plain.get("test_row")
    assert record.get("complete") is plain["complete"] and "config" in record and "nothing" not in record
    assert record.model == plain["config"]["model"] and record.seed == plain["seed"]
    assert record.caption().startswith(f"{record.model} seed {record.seed} on ")


def test_write_read_and_optional_keys(tmp_path):
    record = RunRecord(
        config={"model": "valor++", "epochs": 2},
        data={"description": "d"},
        seed=1,
        plsim={"used": False, "labels": "none", "text_source": "unused"},
    )
    plain = record.to_dict()
    assert "test" not in plain and "caption" not in plain and "stopped" not in plain
    assert plain["best_epoch"] is None and list(plain)[:4] == ["config", "data", "seed", "plsim"]
    record.write(tmp_path)
    assert RunRecord.read(tmp_path).to_dict() == plain
    stopped = record.with_stopped({"reason": "non-finite loss", "epoch": 1, "step": 2})
    assert stopped.to_dict()["stopped"]["step"] == 2 and record.stopped is None
    partial = RunRecord.from_dict({"config": {"model": "link"}, "epochs": [], "unknown": 3})
    assert partial.to_dict() == {"config": {"model": "link"}, "epochs": [], "unknown": 3}


def test_leakage_caption_and_damaged_record(tmp_path):
    record = RunRecord(
        config={"model": "+P"}, data={"description": "d"}, seed=2, label_leakage=True, leakage_caption="x"
    )
    assert "ground-truth video labels" in record.caption()
    assert record.to_dict()["caption"] == "x"
    (tmp_path / RESULTS_FILE).write_text("[1, 2]")
    with pytest.raises(UserError, match="not a linkpaper run record"):
        RunRecord.read(tmp_path)


def test_config_differences_skip_what_changes_no_number():
    old = {"epochs": 6, "betas": [0.5, 0.999], "device": "cpu", "num_threads": 1}
    new = {"epochs": 8, "betas": (0.5, 0.999), "device": "cuda", "num_threads": 4}
    assert config_differences(old, new) == ["epochs: 6 -> 8"]


def test_the_engine_reexports_nothing_and_provenance_stays_below_runs():
    import ast
    import inspect

    from linkpaper import safe_io
    from linkpaper.training import engine, provenance

    # callers import each name from the module that defines it: the engine re-exports none
    for name in ("caption", "lr_at_epoch", "recipe_warmup", "plsim_inputs", "CHECKPOINT_KEYS", "RESUMABLE_CHANGES"):
        assert not hasattr(engine, name), name
    # provenance and safe files never import the run record (no import cycle with runs or the engine)
    for module in (provenance, safe_io):
        imported = {
            node.module for node in ast.walk(ast.parse(inspect.getsource(module))) if isinstance(node, ast.ImportFrom)
        }
        assert not imported & {"linkpaper.training.runs", "linkpaper.training.engine"}
        assert not hasattr(module, "read_results")
