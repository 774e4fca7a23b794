#!/usr/bin/env python
"""``make llp``: the book on real LLP, from a clean clone, on the user's machine (internet + GPU).

    python scripts/llp.py                                    # everything, paper's recipe, --device cuda
    python scripts/llp.py --device cuda -- --executor slurm --partition gpu --gpus-per-job 1
    python scripts/llp.py --steps notebooks,book             # only re-execute and rebuild
    make llp LLP_ARGS="--seeds 1 --variants valor++,link"    # the same through make

Steps (``--steps``, default all, in this order):

1. ``download``: the LLP annotations, the released features (``--features``) and the released
   VALOR checkpoints (``--checkpoints``) into ``--data-dir`` (``python -m linkpaper download``;
   a second run verifies them against the manifest instead of downloading).
2. ``released``: each released checkpoint scored on LLP test (``python -m linkpaper test
   --checkpoint``), written to ``<results>/released/<name>.json``.
3. ``grid``: the book's grid (``--variants``, default ``book``: Table II's eight and the three
   controls chapters 6, 7 and 9 read; checked before any step runs; ``--seeds``) with the paper's recipe
   (``--epochs 60 --warmup-epochs 10``) on ``llp:<data dir>/valor_features`` into ``--runs``;
   arguments after ``--`` go to ``python -m linkpaper grid`` (``--executor slurm ...``).
   Run again, it keeps finished runs and resumes interrupted ones.
4. ``collect``: the run records into ``<results>/grid`` (``scripts/collect_results.py``), a
   folder of its own, never mixed with the synthetic results.
5. ``notebooks``: the chapters (``--notebooks``) executed with ``data=llp:...``, the LLP results
   folder and ``--device`` into ``--notebook-dir``; the committed notebooks are untouched.
   Chapter 3 describes SynthLLP itself and runs with its defaults.
6. ``book``: the book built from those notebooks into ``--html`` (``_build/html-llp``), its
   first page saying which data every table was computed on.

Every step is a command of this repository run in a subprocess; the first that fails stops
the run with its message (exit status 1). Each step can be run again: downloads and the grid
resume, and the book is built in a temporary folder that replaces ``--html`` only when complete.
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
STEPS = ("download", "released", "grid", "collect", "notebooks", "book")
SYNTH_CHAPTERS = ("03",)  # about SynthLLP itself: executed with its own defaults
RESULT_PARAMETERS = ("results_dir", "recipe_dir")  # notebook parameters naming the recipe grid's records
BOOK_FILES = ("_config.yml", "_static", "book")
BANNER = """
:::{{important}}
**This build of the book was executed on the released LLP features (real features)**, at
`{features}`: every measured table and figure of chapters {chapters} comes from real LLP
(their captions say "LLP (real features)"), the run records are in `{results}`. Chapter 3
describes SynthLLP, the synthetic stand-in, and the prose around some tables was written for
the SynthLLP build: where the two disagree, the table's caption names its data.
:::
"""


class StepFailed(Exception):
    pass


def parameters_of(source: Path) -> list[str]:
    """The names assigned in a jupytext notebook's ``parameters`` cell."""
    lines = source.read_text(encoding="utf-8").splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("# %%") and '"parameters"' in line), None)
    if start is None:
        return []
    body = []
    for line in lines[start + 1 :]:
        if line.startswith("# %%"):
            break
        body.append(line)
    tree = ast.parse("\n".join(body))
    return [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)]


def notebook_sources(selection: str) -> list[Path]:
    sources = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
    if selection == "all":
        return sources
    chosen = []
    for name in (part.strip() for part in selection.split(",") if part.strip()):
        matches = [p for p in sources if p.stem == name or p.stem.startswith(name)]
        if not matches:
            raise SystemExit(
                f"llp: --notebooks {selection!r}: no notebook matches {name!r}; "
                f"available: {', '.join(p.stem for p in sources)}"
            )
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


def notebook_parameters(source: Path, args, features: Path, results: Path) -> dict[str, str]:
    """The ``-p`` values for one chapter: only the parameters its ``parameters`` cell has."""
    names = parameters_of(source)
    if source.stem[:2] in SYNTH_CHAPTERS:
        return {"data_dir": str(args.data_dir)} if "data_dir" in names else {}
    values = {
        "data": f"llp:{features}",
        "data_dir": str(args.data_dir),
        "device": args.device,
        "out_dir": str(args.runs.parent / f"{args.runs.name}_book_training"),
    }
    for name in RESULT_PARAMETERS:
        values[name] = str(results / "grid")
    if "recipe_dir" not in names:  # chapters whose grid_dir is the recipe grid
        values["grid_dir"] = str(results / "grid")
    values["field_dir"] = str(results / "grid")  # chapter 11: the field's methods, if the grid trained them
    for item in args.set:
        key, _, value = item.partition("=")
        values[key] = value
    return {k: v for k, v in values.items() if k in names}


def run(command: list[str], step: str, env: dict | None = None) -> None:
    shown = " ".join(str(c) for c in command)
    print(f"llp [{step}]: {shown}", flush=True)
    start = time.perf_counter()
    result = subprocess.run([str(c) for c in command], cwd=ROOT, env=env)
    if result.returncode != 0:
        raise StepFailed(f"llp: step {step} failed (exit {result.returncode}): {shown}")
    print(f"llp [{step}]: done in {time.perf_counter() - start:.0f} s", flush=True)


def toc_of(toc_path: Path, stems: set[str]) -> str:
    """``_toc.yml`` without the chapters not in ``stems``, and without parts left empty."""
    lines = toc_path.read_text(encoding="utf-8").splitlines()
    out, part, kept = [], [], False
    for line in lines + ["  - caption: (end)"]:
        stripped = line.strip()
        if stripped.startswith("- caption:"):
            if kept or not part:
                out.extend(part)
            part, kept = [line], False
            continue
        if not part:
            out.append(line)
            continue
        if stripped.startswith("- file: notebooks/"):
            if Path(stripped.removeprefix("- file:").strip()).name not in stems:
                continue  # a chapter not executed on LLP stays out of this book
        if stripped.startswith("- file:"):
            kept = True
        part.append(line)
    return "\n".join(out) + "\n"


def stage_book(args, executed: list[Path], features: Path, results: Path) -> None:
    """Build the book from the executed chapters into ``args.html`` (a temporary folder, then renamed)."""
    build = args.html.parent / f".{args.html.name}-src-{os.getpid()}"
    shutil.rmtree(build, ignore_errors=True)
    try:
        build.mkdir(parents=True)
        for name in BOOK_FILES:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, build / name)
            else:
                shutil.copy2(source, build / name)
        (build / "notebooks").mkdir()
        for notebook in executed:
            shutil.copy2(notebook, build / "notebooks" / notebook.name)
        (build / "_toc.yml").write_text(toc_of(ROOT / "_toc.yml", {p.stem for p in executed}), encoding="utf-8")
        intro = build / "book" / "intro.md"
        text = intro.read_text(encoding="utf-8").splitlines(keepends=True)
        title = next(i for i, line in enumerate(text) if line.startswith("# "))
        chapters = ", ".join(str(int(p.stem[:2])) for p in executed if p.stem[:2] not in SYNTH_CHAPTERS) or "(none)"
        text.insert(title + 1, BANNER.format(features=features, chapters=chapters, results=results))
        intro.write_text("".join(text), encoding="utf-8")
        jupyter_book = Path(sys.executable).with_name("jupyter-book")
        complete = len(executed) == len(sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py")))
        command = [
            str(jupyter_book) if jupyter_book.exists() else "jupyter-book",
            "build",
            "-n",
            "--keep-going",
            "--path-output",
            str(build),
            str(build),
        ]
        if complete:  # with chapters left out, links to them would be warnings
            command.insert(2, "-W")
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        }
        env.pop("MPLBACKEND", None)
        run(command, "book", env)
        html = build / "_build" / "html"
        if not (html / "index.html").is_file():
            raise StepFailed(f"llp: step book: jupyter-book wrote no {html / 'index.html'}")
        old = args.html.with_name(f".{args.html.name}-old-{os.getpid()}")
        if args.html.exists():
            os.replace(args.html, old)
        os.replace(html, args.html)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(build, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    grid_extra = []
    if "--" in argv:
        cut = argv.index("--")
        argv, grid_extra = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog="Arguments after -- go to 'python -m linkpaper grid'."
    )
    parser.add_argument("--steps", default=",".join(STEPS), help=f"comma list of {', '.join(STEPS)} (default all)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="annotations, downloads and features (default $LINKPAPER_DATA or ~/.cache/linkpaper/data)",
    )
    parser.add_argument(
        "--features", default="clip,clap,r2plus1d,han", help="feature sets to download (default %(default)s)"
    )
    parser.add_argument(
        "--checkpoints",
        default="valor++,valor+,valor",
        help="released checkpoints to download and score (default %(default)s)",
    )
    parser.add_argument(
        "--variants",
        default="book",
        help="grid variants, as 'python -m linkpaper grid' takes them (default %(default)s: Table II's "
        "eight and the controls +S/label, valor++/weak, +P/self that the book reads)",
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds per variant, from 87 (default %(default)s)")
    parser.add_argument("--epochs", type=int, default=60, help="the paper's recipe: 60 (default)")
    parser.add_argument("--warmup-epochs", type=int, default=10, help="the paper's recipe: 10 (default)")
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads per run (CPU only)")
    parser.add_argument(
        "--runs", type=Path, default=ROOT / "runs" / "grid_llp", help="grid run folders (default %(default)s)"
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=ROOT / "results" / "llp",
        help="the LLP run records: <results>/grid, <results>/released (default %(default)s)",
    )
    parser.add_argument("--notebooks", default="all", help="'all' or a comma list of chapters, e.g. 08,09")
    parser.add_argument(
        "--notebook-dir",
        type=Path,
        default=ROOT / "_build" / "llp-notebooks",
        help="where the executed chapters go (default %(default)s)",
    )
    parser.add_argument(
        "--html", type=Path, default=ROOT / "_build" / "html-llp", help="the built book (default %(default)s)"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a notebook parameter for the chapters that have it, e.g. --set epochs=60",
    )
    args = parser.parse_args(argv)
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        parser.error(f"--steps: unknown step(s) {', '.join(unknown)}; choose from {', '.join(STEPS)}")

    sys.path.insert(0, str(ROOT))
    from linkpaper.data.files import resolve_data_dir
    from linkpaper.data.released import FEATURES_DIR, RELEASED_MODELS, parse_only
    from linkpaper.errors import ConfigError
    from linkpaper.models.registry import variant_slug
    from linkpaper.training.grid import resolve_variants

    try:  # before any step: a misspelt variant must not surface after hours of training
        variants = resolve_variants(args.variants)
    except ConfigError as err:
        parser.error(str(err))
    args.data_dir = resolve_data_dir(args.data_dir)
    args.runs, args.results = args.runs.resolve(), args.results.resolve()
    args.notebook_dir, args.html = args.notebook_dir.resolve(), args.html.resolve()
    features = args.data_dir / FEATURES_DIR
    py = [sys.executable, "-m", "linkpaper"]
    data_dir = ["--data-dir", str(args.data_dir)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    }
    start = time.perf_counter()
    try:
        if "download" in steps:
            run(py + ["download", "annotations"] + data_dir, "download", env)
            run(py + ["download", "features", "--only", args.features] + data_dir, "download", env)
            run(py + ["download", "checkpoints", "--only", args.checkpoints] + data_dir, "download", env)
        if "released" in steps:
            have = set(parse_only(args.features, {"clip": 0, "clap": 0, "r2plus1d": 0, "han": 0}))
            for name in parse_only(args.checkpoints, RELEASED_MODELS):
                if not set(RELEASED_MODELS[name].needs) <= have:
                    print(
                        f"llp [released]: {name} skipped: it reads {', '.join(RELEASED_MODELS[name].needs)}", flush=True
                    )
                    continue
                run(
                    py
                    + [
                        "test",
                        "--checkpoint",
                        name,
                        "--data",
                        f"llp:{features}",
                        "--device",
                        args.device,
                        "--out",
                        str(args.results / "released" / f"{variant_slug(name)}.json"),
                    ]
                    + data_dir,
                    "released",
                    env,
                )
        if "grid" in steps:
            command = (
                py
                + [
                    "grid",
                    "--variants",
                    args.variants,
                    "--seeds",
                    str(args.seeds),
                    "--data",
                    f"llp:{features}",
                    "--epochs",
                    str(args.epochs),
                    "--warmup-epochs",
                    str(args.warmup_epochs),
                    "--device",
                    args.device,
                    "--out",
                    str(args.runs),
                ]
                + data_dir
            )
            if args.threads:
                command += ["--threads", str(args.threads)]
            run(command + grid_extra, "grid", env)
        if "collect" in steps:
            keep = [f"{variant_slug(v)}/seed87" for v in ("valor++", "link") if v in variants]
            run(
                [sys.executable, ROOT / "scripts" / "collect_results.py", args.runs, args.results / "grid"]
                + (["--predictions", *keep] if keep else []),
                "collect",
                env,
            )
        if "notebooks" in steps:
            args.notebook_dir.mkdir(parents=True, exist_ok=True)
            for source in notebook_sources(args.notebooks):
                params = notebook_parameters(source, args, features, args.results)
                command = [
                    sys.executable,
                    ROOT / "scripts" / "run_notebooks.py",
                    source.stem,
                    "--output-dir",
                    args.notebook_dir,
                ]
                for key, value in params.items():
                    command += ["-p", key, value]
                run(command, "notebooks", env)
        if "book" in steps:
            executed = [args.notebook_dir / f"{s.stem}.ipynb" for s in notebook_sources(args.notebooks)]
            missing = [str(p) for p in executed if not p.is_file()]
            if missing:
                raise StepFailed(f"llp: step book: no executed chapter {', '.join(missing)}; run the notebooks step")
            stage_book(args, executed, features, args.results)
    except StepFailed as err:
        print(err, file=sys.stderr)
        return 1
    print(
        f"llp: {', '.join(steps)} done in {time.perf_counter() - start:.0f} s"
        + (f"; open {args.html / 'index.html'}" if "book" in steps else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
