#!/usr/bin/env python
"""Execute the book's notebooks with papermill and write the committed, executed copies.

    python scripts/run_notebooks.py                       # every notebooks/NN_*.py, in order
    python scripts/run_notebooks.py 02 03_synthllp        # only these (prefix or stem)
    python scripts/run_notebooks.py 08 -p device cuda -p data synth:full -p epochs 60
    python scripts/run_notebooks.py --list                # show what would run
    python scripts/run_notebooks.py 08 --output-dir runs/executed   # keep committed copies intact

For each jupytext source ``notebooks/NN_name.py`` (percent format) the script converts it to a
notebook in memory (jupytext Python API), executes it with papermill on the kernel
``python3`` of the current environment, with the working directory ``notebooks/`` (the same
directory nbval and Jupyter Book use), and writes ``notebooks/NN_name.ipynb``. Parameters
not given with ``-p`` keep the defaults of the notebook's ``parameters`` cell.

Environment: ``HF_HUB_OFFLINE=1`` is set, ``MPLBACKEND`` is removed (with ``Agg`` the inline
figures would vanish from the executed notebooks), and the repository root is put on
``PYTHONPATH`` so ``import linkpaper`` works without an install. The first failing notebook
stops the run with a message naming it and the cell that failed (exit status 1).
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def parse_value(text: str):
    """papermill-like typing of a ``-p`` value: int, float, bool, None, a list/tuple/dict
    literal (``-p seeds "[87, 88, 89]"``), else the string."""
    if text and text[0] in "[({":
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise SystemExit(f"run_notebooks: cannot read the parameter value {text!r} as a Python literal") from None
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def discover(names: list[str]) -> list[Path]:
    """The jupytext sources to run: all ``NN_*.py`` in order, or those matching ``names``."""
    sources = sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.py"))
    if not names:
        return sources
    chosen = []
    for name in names:
        stem = Path(name).stem
        matches = [p for p in sources if p.stem == stem or p.stem.startswith(stem)]
        if not matches:
            available = ", ".join(p.stem for p in sources) or "(none)"
            raise SystemExit(f"run_notebooks: no notebook matches {name!r}; available: {available}")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


def prepare_environment() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    if os.environ.get("MPLBACKEND", "").lower() in ("agg", "pdf", "svg", "ps", "cairo"):
        del os.environ["MPLBACKEND"]
    paths = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))


def execute(source: Path, output: Path, parameters: dict, timeout: int | None) -> float:
    """Convert ``source`` with jupytext, run it with papermill into ``output``; return seconds."""
    import jupytext
    import nbformat
    import papermill

    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata.setdefault("language_info", {"name": "python"})
    notebook.metadata.get("jupytext", {}).pop("text_representation", None)
    for index, cell in enumerate(notebook.cells):  # stable ids: re-runs do not churn the file
        cell["id"] = f"cell-{index:03d}"
    tagged = [c for c in notebook.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not tagged:
        raise SystemExit(f"run_notebooks: {source.relative_to(ROOT)} has no cell tagged 'parameters'")
    staging = output.with_name(f".{output.stem}.input.ipynb")
    nbformat.write(notebook, staging)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(staging),
            str(output),
            parameters=parameters,
            kernel_name="python3",
            cwd=str(NOTEBOOKS),
            progress_bar=False,
            log_output=False,
            execution_timeout=timeout,
        )
    finally:
        staging.unlink(missing_ok=True)
    seconds = time.perf_counter() - start
    strip_volatile_metadata(output)
    return seconds


def strip_volatile_metadata(path: Path) -> None:
    """Drop papermill's per-run timestamps and temporary paths, so re-running a notebook only
    changes the committed file where an output changed (nbval ignores metadata anyway)."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    info = notebook.metadata.get("papermill", {})
    for key in ("start_time", "end_time", "duration", "input_path", "output_path", "exception"):
        info.pop(key, None)
    for cell in notebook.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = coalesce_streams(cell.outputs)
    nbformat.write(notebook, path)


def coalesce_streams(outputs: list) -> list:
    """Merge consecutive stdout (stderr) chunks: how a print is split into stream messages
    depends on timing, the text does not."""
    merged = []
    for output in outputs:
        if (
            output.get("output_type") == "stream"
            and merged
            and merged[-1].get("output_type") == "stream"
            and merged[-1].get("name") == output.get("name")
        ):
            merged[-1]["text"] += output["text"]
        else:
            merged.append(output)
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="notebook stems or NN prefixes (default: all)")
    parser.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("KEY", "VALUE"),
        help="override a parameter of the 'parameters' cell (repeatable)",
    )
    parser.add_argument(
        "--output-dir", type=Path, default=None, help="write executed notebooks here instead of next to their sources"
    )
    parser.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds")
    parser.add_argument("--list", action="store_true", help="list the notebooks and exit")
    args = parser.parse_args(argv)

    sources = discover(args.names)
    if args.list:
        print("\n".join(str(p.relative_to(ROOT)) for p in sources))
        return 0
    if not sources:
        print("run_notebooks: no notebooks/NN_*.py found", file=sys.stderr)
        return 1
    parameters = {key: parse_value(value) for key, value in args.parameter}
    prepare_environment()
    out_dir = args.output_dir.resolve() if args.output_dir else NOTEBOOKS
    out_dir.mkdir(parents=True, exist_ok=True)

    total = time.perf_counter()
    for i, source in enumerate(sources, 1):
        output = out_dir / f"{source.stem}.ipynb"
        shown = " ".join(f"{k}={v!r}" for k, v in parameters.items()) or "default parameters"
        print(f"[{i}/{len(sources)}] {source.relative_to(ROOT)} ({shown}) ...", flush=True)
        try:
            seconds = execute(source, output, parameters, args.timeout)
        except Exception as err:  # papermill raises PapermillExecutionError with the cell
            name = type(err).__name__
            message = str(err).strip().splitlines()
            detail = "\n    ".join(message[-12:])
            print(
                f"\nrun_notebooks: FAILED {source.relative_to(ROOT)} ({name}); the partially executed "
                f"notebook is {output}\n    {detail}",
                file=sys.stderr,
            )
            return 1
        print(
            f"      -> {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output} in {seconds:.1f} s",
            flush=True,
        )
    print(f"run_notebooks: {len(sources)} notebook(s) in {time.perf_counter() - total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
