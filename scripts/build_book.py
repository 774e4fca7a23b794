#!/usr/bin/env python
"""Build the Jupyter Book into ``_build/html``, offline and warning-free.

    python scripts/build_book.py            # jupyter-book build -W -n --keep-going .
    python scripts/build_book.py --all      # also rebuild unchanged pages (--all)

The build never executes a notebook (``execute_notebooks: "off"`` in ``_config.yml``): it
renders the committed, executed ``notebooks/NN_*.ipynb`` written by
``scripts/run_notebooks.py``. Before building, the table of contents is checked against the
notebooks on disk: every ``notebooks/NN_*.py`` must have its executed ``.ipynb`` and a line in
``_toc.yml``, and every file named in ``_toc.yml`` must exist. Any Sphinx warning fails the
build (``-W``). Exit status: 0 on success, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUFFIXES = (".md", ".ipynb", ".rst")


def toc_files(toc_path: Path) -> list[str]:
    """Every ``root:`` / ``file:`` entry of a jb-book ``_toc.yml`` (no YAML library needed)."""
    entries = []
    for line in toc_path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\s*(?:-\s*)?(?:root|file):\s*(\S+)\s*$", line.split("#", 1)[0])
        if match:
            entries.append(match.group(1).strip("'\""))
    return entries


def check_toc(root: Path = ROOT) -> list[str]:
    """Problems between ``_toc.yml`` and the files on disk (an empty list when consistent)."""
    problems = []
    entries = toc_files(root / "_toc.yml")
    for entry in entries:
        if not any((root / f"{entry}{suffix}").exists() for suffix in SUFFIXES) and not (root / entry).exists():
            problems.append(f"_toc.yml names {entry!r} but no {entry}.md/.ipynb exists")
    for source in sorted((root / "notebooks").glob("[0-9][0-9]_*.py")):
        stem = f"notebooks/{source.stem}"
        if not (root / f"{stem}.ipynb").exists():
            problems.append(
                f"{stem}.py has no executed {stem}.ipynb: run python scripts/run_notebooks.py {source.stem}"
            )
        if stem not in entries:
            problems.append(f"{stem}.py is not listed in _toc.yml (add '- file: {stem}')")
    for executed in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        if not executed.with_suffix(".py").exists():
            problems.append(f"notebooks/{executed.name} has no jupytext source notebooks/{executed.stem}.py")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--all", action="store_true", help="rebuild every page (jupyter-book --all)")
    parser.add_argument("--clean", action="store_true", help="remove _build/html first")
    args = parser.parse_args(argv)

    problems = check_toc()
    if problems:
        print("build_book: the table of contents and the notebooks disagree:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    if args.clean:
        shutil.rmtree(ROOT / "_build" / "html", ignore_errors=True)
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [
        str(jupyter_book) if jupyter_book.exists() else "jupyter-book",
        "build",
        "-W",
        "-n",
        "--keep-going",
        "--path-output",
        str(ROOT),
        str(ROOT),
    ]
    if args.all:
        command.append("--all")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("MPLBACKEND", None)
    print("build_book:", " ".join(command), flush=True)
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env)
    seconds = time.perf_counter() - start
    index = ROOT / "_build" / "html" / "index.html"
    if result.returncode != 0 or not index.exists():
        print(
            f"build_book: FAILED (exit {result.returncode}) after {seconds:.1f} s; see the warnings above",
            file=sys.stderr,
        )
        return 1
    print(f"build_book: done in {seconds:.1f} s -> {index.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
