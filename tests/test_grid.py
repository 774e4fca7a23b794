"""The ablation grid: every variant trains, interrupted grids resume, the summary is right."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from linkpaper.cli import main
from linkpaper.models import list_models
from linkpaper.training.engine import train
from linkpaper.training.grid import format_summary, resolve_variants, run_dir_for, summarise_runs, variant_slug
from linkpaper.training.recipe import TrainConfig

OVERRIDES = [
    "--threads",
    "1",
    "--model-override",
    "hidden_dim=16",
    "--model-override",
    "num_layers=1",
    "--model-override",
    "ff_dim=32",
]


def test_variant_slugs_are_distinct_folder_names():
    slugs = [variant_slug(v) for v in list_models()]
    assert len(set(slugs)) == len(slugs)
    assert all("+" not in s and "/" not in s for s in slugs)
    assert variant_slug("valor++") == "valorpp" and variant_slug("+T+S") == "valorpp_T_S"


def test_resolve_variants_keeps_registry_order():
    names = list_models()
    assert resolve_variants("all") == names
    assert resolve_variants(f"{names[-1]},{names[0]}") == [names[0], names[-1]]
    with pytest.raises(Exception, match="unknown.*'bogus'"):
        resolve_variants("bogus")


def test_summary_is_mean_and_sample_std_over_seeds(tmp_path):
    from linkpaper.data.sources import load_data

    tiny = load_data("synth:tiny")
    rows = []
    for seed in (1, 2):
        cfg = TrainConfig(
            model="valor++",
            model_overrides={"hidden_dim": 16, "num_layers": 1, "ff_dim": 32},
            data="synth:tiny",
            epochs=1,
            batch_size=32,
            seed=seed,
            num_threads=1,
        )
        rows.append(train(cfg, tmp_path / f"s{seed}", data=tiny, progress=False)["test_row"])
    (table_row,) = summarise_runs([tmp_path / "s1", tmp_path / "s2"])
    assert table_row["model"] == "valor++" and table_row["n"] == 2 and table_row["seeds"] == [1, 2]
    np.testing.assert_allclose(table_row["mean"], np.mean(rows, axis=0))
    np.testing.assert_allclose(table_row["std"], np.std(rows, axis=0, ddof=1))
    text = format_summary([table_row], "caption here")
    assert text.startswith("caption here") and f"{table_row['mean'][0]:.2f} ± {table_row['std'][0]:.2f}" in text


def test_grid_cli_trains_every_variant_and_resumes(tmp_path, capsys):
    out = tmp_path / "grid"
    argv = [
        "grid",
        "--variants",
        "all",
        "--seeds",
        "1",
        "--seed-base",
        "3",
        "--data",
        "synth:tiny",
        "--epochs",
        "1",
        "--batch-size",
        "64",
        "--out",
        str(out),
        "--quiet",
        *OVERRIDES,
    ]
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert [row["model"] for row in summary["rows"]] == list_models()
    assert all(row["n"] == 1 and len(row["mean"]) == 10 for row in summary["rows"])
    assert summary["seeds"] == [3] and summary["data_spec"] == "synth:tiny" and "commit" in summary["code"]
    markdown = (out / "summary.md").read_text()
    assert all(f"| {name} | 1 |" in markdown for name in list_models())
    # A second call finds every run complete and retrains nothing.
    results = run_dir_for(out, "link", 3) / "results.json"
    stamp = results.stat().st_mtime_ns
    assert main(argv) == 0
    assert results.stat().st_mtime_ns == stamp
    assert "Seg type" in capsys.readouterr().out


def test_summarise_only_trains_nothing_and_counts_the_missing_runs(tmp_path, capsys):
    out = tmp_path / "grid"
    common = [
        "--seeds",
        "2",
        "--seed-base",
        "3",
        "--data",
        "synth:tiny",
        "--epochs",
        "1",
        "--batch-size",
        "64",
        "--out",
        str(out),
        "--quiet",
        *OVERRIDES,
    ]
    assert main(["grid", "--variants", "valor++", "--seeds", "1", *common[2:]]) == 0  # seed 3 only
    trained = sorted(p.relative_to(out) for p in out.rglob("results.json"))
    assert main(["grid", "--variants", "valor++,link", *common, "--summarise-only"]) == 1
    assert sorted(p.relative_to(out) for p in out.rglob("results.json")) == trained  # nothing trained
    summary = json.loads((out / "summary.json").read_text())
    assert summary["missing_runs"] == 3 and [(r["model"], r["seeds"]) for r in summary["rows"]] == [("valor++", [3])]
    printed = capsys.readouterr().out
    assert "INCOMPLETE: 3 run(s)" in printed and "not trained (--summarise-only): link seed 4" in printed


def test_summarise_only_refuses_a_missing_folder_and_names_damaged_or_unfinished_runs(tmp_path, capsys):
    common = [
        "grid",
        "--variants",
        "valor++",
        "--seeds",
        "1",
        "--seed-base",
        "3",
        "--data",
        "synth:tiny",
        "--epochs",
        "1",
        "--batch-size",
        "64",
        "--quiet",
        *OVERRIDES,
    ]
    missing = tmp_path / "typo"
    assert main([*common, "--out", str(missing), "--summarise-only"]) == 2
    assert not missing.exists() and f"--out {missing}: no such folder" in capsys.readouterr().err
    out = tmp_path / "grid"
    assert main([*common, "--out", str(out)]) == 0
    path = run_dir_for(out, "valor++", 3) / "results.json"
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "test_row": record["test_row"][:9]}))  # complete, but damaged
    capsys.readouterr()
    assert main([*common, "--out", str(out), "--summarise-only"]) == 2
    assert f"{path}: not a linkpaper run record" in capsys.readouterr().err  # not "not trained"
    path.write_text(json.dumps({**record, "complete": False}))  # an interrupted run
    assert main([*common, "--out", str(out), "--summarise-only"]) == 1
    assert "not finished: valor++ seed 3" in capsys.readouterr().out


def test_the_book_group_is_table_ii_and_the_controls_the_chapters_read():
    names = resolve_variants("book")
    assert names == list_models() + ["+S/label", "valor++/weak", "+P/self"]
    assert resolve_variants("book,link,+P/self") == names  # no duplicates, registry order
    assert resolve_variants("all,+S/label,valor++/weak,+P/self") == names


def test_make_llp_refuses_a_misspelt_variant_before_any_step(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "llp.py"
    spec = importlib.util.spec_from_file_location("llp_script", path)
    llp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(llp)
    runs = tmp_path / "runs"
    argv = ["--variants", "book,+S/lable", "--steps", "grid,collect", "--runs", str(runs)]
    with pytest.raises(SystemExit) as exit_info:
        llp.main([*argv, "--results", str(tmp_path / "results"), "--data-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--variants: unknown ['+S/lable']" in err and "'book'" in err
    assert not runs.exists() and not (tmp_path / "results").exists()  # nothing ran


def test_methods_join_the_grid_under_their_own_recipes():
    from linkpaper.models import list_methods
    from linkpaper.training.grid import grid_config
    from linkpaper.training.recipe import method_recipe

    assert resolve_variants("methods") == list_methods()
    assert resolve_variants("han,valor++") == ["valor++", "han"]  # Table II first, the field after
    base = TrainConfig(data="synth:tiny")
    han = grid_config(base, "han", 88)
    recipe = method_recipe("han")
    assert (han.model, han.seed, han.epochs, han.batch_size, han.lr) == (
        "han",
        88,
        recipe["epochs"],
        recipe["batch_size"],
        recipe["lr"],
    )
    assert (han.epochs, han.batch_size) != (base.epochs, base.batch_size)  # not VALOR++'s 60 x 64
    # a recipe field set on the command line holds for every run, the method's own included
    short = grid_config(dataclasses.replace(base, epochs=2), "han", 88, recipe_given={"epochs"})
    assert short.epochs == 2 and short.batch_size == recipe["batch_size"]
    assert grid_config(base, "valor++", 88).epochs == base.epochs  # the grid's variants: unchanged


def test_grid_cli_trains_a_method_and_summarises_it_beside_a_variant(tmp_path, capsys):
    out = tmp_path / "grid"
    argv = [
        "grid",
        "--variants",
        "han,valor++",
        "--seeds",
        "1",
        "--data",
        "synth:tiny",
        "--epochs",
        "1",
        "--threads",
        "1",
        "--out",
        str(out),
        "--quiet",
    ]
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert [row["model"] for row in summary["rows"]] == ["valor++", "han"]
    han = json.loads((run_dir_for(out, "han", 87) / "results.json").read_text())
    assert han["config"]["model"] == "han" and han["config"]["epochs"] == 1
    assert han["config"]["batch_size"] == 16  # HAN's recipe, not VALOR++'s 64
    assert "| han | 1 |" in capsys.readouterr().out


def test_grid_differences_allow_each_method_its_own_recipe_and_nothing_else():
    from linkpaper.training.grid import grid_config, grid_differences

    base = TrainConfig(data="synth:small")
    valor, han = grid_config(base, "valor++", 87).to_dict(), grid_config(base, "han", 88).to_dict()
    assert valor["epochs"] != han["epochs"] and grid_differences(valor, han) == []
    other_data = grid_config(dataclasses.replace(base, data="synth:tiny"), "han", 88).to_dict()
    assert grid_differences(valor, other_data) == ["data: 'synth:small' -> 'synth:tiny'"]
    # a method trained off its recipe is another grid, even when it matches the reference's value
    short = grid_config(dataclasses.replace(base, epochs=60), "han", 88, recipe_given={"epochs"}).to_dict()
    assert grid_differences(valor, short) == ["epochs: 60 (recipe) -> 60"]
    assert grid_differences(short, han) == ["epochs: 60 -> 40 (recipe)"]
    assert grid_differences(short, dict(short, seed=89)) == []  # both off the recipe, alike


def test_grid_differences_take_a_variants_own_plsim_labels_as_the_same_grid():
    from linkpaper.training.grid import grid_config, grid_differences

    base = TrainConfig(data="synth:small")
    link, self_run = grid_config(base, "link", 87).to_dict(), grid_config(base, "+P/self", 87).to_dict()
    assert (link["plsim_labels"], self_run["plsim_labels"]) == ("ungated", "self")
    assert grid_differences(link, self_run) == [] and grid_differences(self_run, link) == []
    # a run of a variant without fixed labels that reads other labels is another grid
    gated = dict(link, plsim_labels="gated")
    assert grid_differences(link, gated) == ["plsim_labels: 'ungated' -> 'gated'"]
    # +P/self holding labels other than its own is refused too
    assert grid_differences(link, dict(self_run, plsim_labels="gated")) == ["plsim_labels: 'ungated' -> 'gated'"]
