"""scripts/collect_results.py on bad input: one ``error:`` line naming the folder or file, nothing
copied; a copy of a results folder keeps its test decisions."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "results" / "synth_small_recipe"


def _script():
    spec = importlib.util.spec_from_file_location("collect_results", ROOT / "scripts" / "collect_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


collect_results = _script()


def _grid(tmp_path, runs=("valorpp/seed87", "link/seed87"), decisions=False) -> Path:
    """A grid folder of committed run records (with their test decisions when asked); returns it."""
    src = tmp_path / "src"
    for run in runs:
        (src / run).mkdir(parents=True)
        shutil.copyfile(RECIPE / run / "results.json", src / run / "results.json")
        if decisions:
            shutil.copyfile(RECIPE / run / "test_decisions.npz", src / run / "test_decisions.npz")
    return src


def _edit(path: Path, **changes) -> None:
    record = json.loads(path.read_text())
    for key, value in changes.items():
        if key == "epochs_config":
            record["config"]["epochs"] = value
        else:
            record[key] = value
    path.write_text(json.dumps(record))


def _run(capsys, *argv) -> tuple[int, str]:
    status = collect_results.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.err


def test_missing_empty_or_same_folder_is_one_error_line(tmp_path, capsys):
    dst = tmp_path / "dst"
    status, err = _run(capsys, tmp_path / "nope", dst)
    assert status == 2 and f"SRC {tmp_path / 'nope'}: no such folder" in err
    (tmp_path / "empty").mkdir()
    status, err = _run(capsys, tmp_path / "empty", dst)
    assert status == 2 and "no run records" in err
    src = _grid(tmp_path)
    status, err = _run(capsys, src, src)
    assert status == 2 and "is SRC" in err and not dst.exists()


def test_damaged_record_mixed_configurations_and_unknown_predictions_copy_nothing(tmp_path, capsys):
    src, dst = _grid(tmp_path), tmp_path / "dst"
    (src / "link/seed87/results.json").write_text("{")
    status, err = _run(capsys, src, dst)
    assert status == 2 and f"{src / 'link/seed87/results.json'}: not valid JSON" in err and not dst.exists()
    shutil.copyfile(RECIPE / "link/seed87/results.json", src / "link/seed87/results.json")
    _edit(src / "link/seed87/results.json", epochs_config=6)
    status, err = _run(capsys, src, dst)
    assert status == 2 and "valorpp/seed87/results.json (epochs: 6 -> 60)" in err and not dst.exists()
    _edit(src / "link/seed87/results.json", epochs_config=60)
    status, err = _run(capsys, src, dst, "--predictions", "link/seed99")
    assert status == 2 and "--predictions link/seed99: no complete run record" in err and not dst.exists()
    # a 6-epoch grid collected over the 60-epoch one already in DST
    assert _run(capsys, src, dst)[0] == 0
    other = _grid(tmp_path / "other", runs=("valorpp/seed88",))
    _edit(other / "valorpp/seed88/results.json", epochs_config=6)
    status, err = _run(capsys, other, dst)
    assert status == 2 and "another configuration" in err and not (dst / "valorpp/seed88").exists()


def test_incomplete_runs_are_skipped(tmp_path, capsys):
    src, dst = _grid(tmp_path), tmp_path / "dst"
    _edit(src / "link/seed87/results.json", complete=False)
    assert collect_results.main([str(src), str(dst)]) == 0
    assert "skip (incomplete)" in capsys.readouterr().out
    assert (dst / "valorpp/seed87/results.json").is_file() and not (dst / "link").exists()


def test_a_copy_of_a_results_folder_keeps_its_decisions_and_a_damaged_file_is_named(tmp_path, capsys,
                                                                                     llp_data_dir):
    src, dst = _grid(tmp_path, decisions=True), tmp_path / "dst"
    assert _run(capsys, src, dst)[0] == 0
    for run in ("valorpp/seed87", "link/seed87"):
        kept = (dst / run / "test_decisions.npz").read_bytes()
        assert kept == (RECIPE / run / "test_decisions.npz").read_bytes()
    (src / "link/seed87/test_predictions.npz").write_bytes(b"PK\x03\x04 not a zip")
    status, err = _run(capsys, src, tmp_path / "dst2")
    assert status == 2 and f"{src / 'link/seed87/test_predictions.npz'}: not a readable .npz" in err


def test_decisions_of_another_run_are_one_error_line_and_leave_no_folder(tmp_path, capsys, llp_data_dir):
    src, dst = _grid(tmp_path, runs=("valorpp/seed87",)), tmp_path / "dst"
    shutil.copyfile(RECIPE / "link/seed87/test_decisions.npz", src / "valorpp/seed87/test_decisions.npz")
    status, err = _run(capsys, src, dst)
    assert status == 2 and err.startswith("error: ")
    assert f"{src / 'valorpp/seed87/test_decisions.npz'}: the decisions do not reproduce" in err
    assert not (dst / "valorpp").exists()
