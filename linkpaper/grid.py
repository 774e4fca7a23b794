"""The ablation grid: every variant x every seed, resumable, summarised as mean +- std.

Layout: ``OUT/<variant slug>/seed<SEED>/`` is one run folder (``linkpaper.engine.train``);
``OUT/summary.json`` and ``OUT/summary.md`` hold the table of the ten test F-scores per variant.
A run already complete is skipped and an unfinished one resumed, so an interrupted grid simply
runs again. :func:`summarise_runs` builds the table from any run folders (the results notebook
uses it too).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from linkpaper.errors import ConfigError
from linkpaper.records import LEAKAGE_CAPTION, atomic_write_bytes, atomic_write_json, git_commit, read_results

COLUMN_LABELS = ("Seg a", "Seg v", "Seg av", "Seg type", "Seg event",
                 "Event a", "Event v", "Event av", "Event type", "Event event")


def variant_slug(name: str) -> str:
    """A folder name for a variant: ``valor++`` -> ``valorpp``, ``+T+S`` -> ``valorpp_T_S``,
    ``+S/leap-mu1`` -> ``valorpp_S__leap_mu1``, ``link/leap`` -> ``link__leap``."""
    base, _, control = name.partition("/")
    if base == "valor++":
        slug = "valorpp"
    elif base.startswith("+"):
        slug = "valorpp_" + "_".join(part for part in base.split("+") if part)
    else:
        slug = base.replace("+", "p")
    return slug + ("__" + control.replace("-", "_") if control else "")


def resolve_variants(variants: str | list[str]) -> list[str]:
    """``"all"`` (the eight of Table II), ``"controls"``, or a comma list of names and those two
    words -> variant names in registry order (Table II first, then the controls), validated."""
    from linkpaper.models import canonical_name, list_controls, list_models

    known = list(list_models()) + list(list_controls())
    groups = {"all": list(list_models()), "controls": list(list_controls())}
    items = [v.strip() for v in variants.split(",") if v.strip()] if isinstance(variants, str) else list(variants)
    wanted, unknown = set(), []
    for item in items:
        if item in groups:
            wanted.update(groups[item])
            continue
        try:
            wanted.add(canonical_name(item))
        except ConfigError:
            unknown.append(item)
    if unknown or not wanted:
        raise ConfigError(
            f"--variants: unknown {unknown or variants!r}; use 'all', 'controls' or a comma list of {', '.join(known)}"
        )
    return [v for v in known if v in wanted]


def run_dir_for(out_dir: str | Path, variant: str, seed: int) -> Path:
    return Path(out_dir) / variant_slug(variant) / f"seed{seed}"


def run_grid(base_config, variants, seeds, out_dir, progress: bool = True) -> list[dict]:
    """Train every (variant, seed) into ``out_dir`` (skipping complete runs), then summarise.

    base_config: a TrainConfig whose ``model`` and ``seed`` are replaced per run.
    Returns the summary table (see :func:`summarise_runs`) and writes summary.json / .md.
    """
    from tqdm.auto import tqdm

    from linkpaper.engine import is_complete, train
    from linkpaper.records import check_writable_dir

    variants = resolve_variants(variants)
    seeds = [int(s) for s in seeds]
    out_dir = Path(out_dir)
    check_writable_dir(out_dir, "--out")  # a file, under a file, not writable: one line, before any run
    run_dirs = []
    jobs = [(v, s) for v in variants for s in seeds]
    for variant, seed in tqdm(jobs, desc="grid", unit="run", disable=not progress):
        run_dir = run_dir_for(out_dir, variant, seed)
        run_dirs.append(run_dir)
        if is_complete(run_dir):
            continue
        config = dataclasses.replace(base_config, model=variant, seed=seed)
        train(config, run_dir, resume=True, progress=progress)
    table = summarise_runs(run_dirs)
    write_summary(out_dir, table, base_config, seeds)
    return table


def summarise_runs(run_dirs) -> list[dict]:
    """Mean +- std of the ten test F-scores per variant, over the complete runs given.

    Returns one row per model in first-seen order: ``{"model", "seeds", "n", "mean" (10),
    "std" (10, sample std, 0 for one seed), "runs", "label_leakage", "data"}``. Incomplete runs
    are skipped and counted in ``"incomplete"``.
    """
    groups: dict[str, dict] = {}
    for run_dir in run_dirs:
        record = read_results(run_dir)
        model = record["config"]["model"]
        group = groups.setdefault(model, {"model": model, "seeds": [], "rows": [], "runs": [],
                                          "label_leakage": False, "data": record["data"]["description"],
                                          "incomplete": 0})
        if not record.get("complete"):
            group["incomplete"] += 1
            continue
        group["seeds"].append(record["seed"])
        group["rows"].append(record["test_row"])
        group["runs"].append(str(run_dir))
        group["label_leakage"] |= bool(record.get("label_leakage"))
    table = []
    for group in groups.values():
        rows = np.asarray(group.pop("rows"), dtype=np.float64).reshape(-1, len(COLUMN_LABELS))
        group["n"] = len(rows)
        group["mean"] = rows.mean(axis=0).tolist() if len(rows) else [float("nan")] * len(COLUMN_LABELS)
        group["std"] = (rows.std(axis=0, ddof=1) if len(rows) > 1 else np.zeros(len(COLUMN_LABELS))).tolist()
        table.append(group)
    return table


def format_summary(table: list[dict], caption: str = "") -> str:
    """A markdown table: one row per variant, ten columns ``mean ± std``."""
    lines = []
    if caption:
        lines += [caption, ""]
    lines.append("| model | n | " + " | ".join(COLUMN_LABELS) + " |")
    lines.append("| --- | --- | " + " | ".join("---" for _ in COLUMN_LABELS) + " |")
    for row in table:
        cells = [f"{m:.2f} ± {s:.2f}" for m, s in zip(row["mean"], row["std"])]
        lines.append(f"| {row['model']} | {row['n']} | " + " | ".join(cells) + " |")
    if any(row["label_leakage"] for row in table):
        lines += ["", LEAKAGE_CAPTION]
    return "\n".join(lines) + "\n"


def write_summary(out_dir, table: list[dict], base_config, seeds) -> None:
    """``summary.json`` and ``summary.md`` in ``out_dir``."""
    out_dir = Path(out_dir)
    data = table[0]["data"] if table else base_config.data
    code = git_commit()
    caption = (f"Test F-scores (%), mean ± std over seeds {', '.join(map(str, seeds))}; data: {data}; "
               f"{base_config.epochs} epochs; commit {code['commit'][:12]}{' (dirty)' if code['dirty'] else ''}")
    atomic_write_json(out_dir / "summary.json", {
        "data": data, "data_spec": base_config.data, "seeds": list(seeds), "epochs": base_config.epochs,
        "code": code, "columns": list(COLUMN_LABELS), "label_leakage": any(r["label_leakage"] for r in table),
        "rows": table,
    })
    atomic_write_bytes(out_dir / "summary.md", format_summary(table, caption).encode())
