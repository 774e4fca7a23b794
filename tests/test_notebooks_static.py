"""Static checks of the book's notebooks: sources, executed copies and the table of contents.

No notebook is executed here (nbval does that: ``make nbval``); these checks are fast and
catch the usual mistakes: a stale executed copy, a missing parameters cell, a notebook that
re-implements the package instead of importing it, figures switched off by a backend, a
notebook missing from ``_toc.yml``. The conventions are documented in notebooks/README.md.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext", reason="the [book] extra is needed for notebook checks")
nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SOURCES = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
MAX_IPYNB_BYTES = 1_000_000

# Shared parameter names and, where the book fixes one, their embedded default.
SHARED_DEFAULTS = {"data": "synth:small", "device": "cpu", "data_dir": None}
SHARED_NAMES = {"data", "preset", "seed", "seeds", "device", "epochs", "data_dir"}
MAX_CODE_LINE = 88  # a code line longer than this is cut off on the right of a book page


def _load_build_book():
    spec = importlib.util.spec_from_file_location("build_book", ROOT / "scripts" / "build_book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _code_cells(notebook):
    return [c for c in notebook.cells if c.cell_type == "code"]


def _parameters(source: Path) -> dict:
    cell = next(c for c in _code_cells(jupytext.read(source)) if "parameters" in c.metadata.get("tags", []))
    values = {}
    for node in ast.parse(cell.source).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name), (
            f"{source.name}: the parameters cell may only hold simple `name = literal` assignments"
        )
        values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def test_there_are_notebooks():
    assert SOURCES, "no notebooks/NN_*.py found"
    assert [p.stem[:2] for p in SOURCES] == sorted(p.stem[:2] for p in SOURCES)
    assert len({p.stem[:2] for p in SOURCES}) == len(SOURCES), "two notebooks share a number"


def test_toc_and_notebooks_agree():
    problems = _load_build_book().check_toc(ROOT)
    assert problems == [], "\n".join(problems)


def test_toc_check_reports_a_missing_notebook(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "intro.md").write_text("# x\n")
    (tmp_path / "notebooks" / "05_x.py").write_text("# %%\n")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: notebooks/09_gone\n")
    problems = _load_build_book().check_toc(tmp_path)
    assert any("09_gone" in p for p in problems)
    assert any("05_x.py has no executed" in p for p in problems)
    assert any("05_x.py is not listed" in p for p in problems)


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_source_conventions(source):
    text = source.read_text(encoding="utf-8")
    notebook = jupytext.read(source)
    assert notebook.metadata.get("kernelspec", {}).get("name") == "python3", (
        f"{source.name}: kernelspec must be python3"
    )
    assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith("# "), (
        f"{source.name}: start with a markdown cell holding the page title ('# N. Title')"
    )
    first_code = _code_cells(notebook)[0]
    assert "parameters" in first_code.metadata.get("tags", []), (
        f'{source.name}: the first code cell must be tagged parameters (# %% tags=["parameters"])'
    )
    params = _parameters(source)
    for name, default in SHARED_DEFAULTS.items():
        if name in params:
            assert params[name] == default, f"{source.name}: parameter {name} must default to {default!r}"
    assert re.search(r"^\s*(from linkpaper[\w.]* import|import linkpaper)", text, re.M), (
        f"{source.name}: notebooks import what they compute from linkpaper"
    )
    assert "matplotlib.use(" not in text and "MPLBACKEND" not in text, (
        f"{source.name}: do not set a matplotlib backend (Agg removes the inline figures)"
    )
    assert not re.search(r"['\"]/(work|home|root|tmp)/", text), f"{source.name}: no absolute paths; use data_dir"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_code_lines_fit_the_page(source):
    long = [
        (n, line)
        for cell in _code_cells(jupytext.read(source))
        for n, line in enumerate(cell.source.splitlines(), 1)
        if len(line) > MAX_CODE_LINE
    ]
    assert not long, (
        f"{source.name}: {len(long)} code line(s) over {MAX_CODE_LINE} characters, e.g. "
        f"{long[0][1].strip()[:70]!r}; wrap them (the book cuts them off)"
    )


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_equations_link_to_their_code(source):
    """Every display equation tagged with a paper number sits in a markdown cell that links to
    the function implementing it ({py:func} / {py:class} into the API page)."""
    for cell in jupytext.read(source).cells:
        if cell.cell_type == "markdown" and "\\tag{" in cell.source:
            assert re.search(r"\{py:(func|class)\}`~?linkpaper\.", cell.source), (
                f"{source.name}: a cell with a numbered equation has no link to its implementation"
            )
            # Sphinx wraps display math holding "\\" in a split environment, where MathJax
            # refuses \tag: separate rows with \cr instead
            for block in re.findall(r"\$\$(.*?)\$\$", cell.source, re.S):
                assert "\\tag{" not in block or "\\\\" not in block, (
                    f"{source.name}: use \\cr, not \\\\, between rows of a tagged equation"
                )


def test_every_equation_of_the_paper_is_typeset():
    """Eqs 1-17 (the ones the code implements) each appear, typeset with the paper's number."""
    numbers = set()
    for source in SOURCES:
        for tag in re.findall(r"\\tag\{([^}]*)\}", source.read_text(encoding="utf-8")):
            first, _, last = tag.replace("–", "-").partition("-")
            numbers.update(range(int(first), int(last or first) + 1))
    assert numbers == set(range(1, 18)), f"typeset equation numbers: {sorted(numbers)}"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_executed_copy_is_fresh_and_clean(source):
    executed = source.with_suffix(".ipynb")
    assert executed.exists(), f"run: python scripts/run_notebooks.py {source.stem}"
    assert executed.stat().st_size < MAX_IPYNB_BYTES, f"{executed.name} is over 1 MB: shrink its figures"
    stored = nbformat.read(executed, as_version=4)
    cells = [c for c in _code_cells(stored) if "injected-parameters" not in c.metadata.get("tags", [])]
    expected = _code_cells(jupytext.read(source))
    assert [c.source for c in cells] == [c.source for c in expected], (
        f"{executed.name} is stale: its code differs from {source.name}; "
        f"run python scripts/run_notebooks.py {source.stem}"
    )
    for cell in cells:
        assert cell.execution_count is not None, f"{executed.name}: a cell was not executed"
        for output in cell.outputs:
            assert output.output_type != "error", f"{executed.name}: a cell raised {output.get('ename')}"
            if output.output_type == "stream" and output.name == "stderr":
                assert "Traceback" not in output.text, f"{executed.name}: a traceback on stderr"
    prose = [c.source for c in stored.cells if c.cell_type == "markdown"]
    assert prose == [c.source for c in jupytext.read(source).cells if c.cell_type == "markdown"], (
        f"{executed.name} is stale: its text differs from {source.name} (the book renders the executed "
        f"copy); run python scripts/run_notebooks.py {source.stem}"
    )
    injected = [c for c in _code_cells(stored) if "injected-parameters" in c.metadata.get("tags", [])]
    assert not injected, f"{executed.name} was executed with non-default parameters; commit the default run"


def test_run_notebooks_parameter_values_are_typed():
    spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "scripts" / "run_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    parse = module.parse_value
    assert parse("60") == 60 and isinstance(parse("60"), int)
    assert parse("0.5") == 0.5
    assert parse("None") is None and parse("true") is True
    assert parse("[87, 88, 89]") == [87, 88, 89]
    assert parse("synth:full") == "synth:full" and parse("llp:/data/x") == "llp:/data/x"
    assert parse("") == ""
    with pytest.raises(SystemExit, match="cannot read"):
        parse("[87, 88")
    assert [p.stem for p in module.discover(["02"])] == [p.stem for p in SOURCES if p.stem.startswith("02")]
    with pytest.raises(SystemExit, match="no notebook matches"):
        module.discover(["99_nothing"])


# --- A reader's path: every chapter opens with what it teaches and ends with what to keep ---

HIDING_TAGS = {"hide-input", "remove-input", "hide-cell", "remove-cell"}
DRAWS = re.compile(r"\bplt\.show\(\)|\bsns\.|\.savefig\(")


def _markdown(notebook):
    return [c for c in notebook.cells if c.cell_type == "markdown"]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_chapter_opens_with_objectives_prerequisites_and_run_time(source):
    notebook = jupytext.read(source)
    first_code = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code")
    opening = "\n".join(c.source for c in notebook.cells[:first_code] if c.cell_type == "markdown")
    assert ":::{admonition} In this chapter" in opening, (
        f"{source.name}: open with the ':::{{admonition}} In this chapter' box before the first code cell"
    )
    for part in ("**You will learn**", "**Prerequisites**", "**Run time**"):
        assert part in opening, f"{source.name}: the opening box lacks {part}"
    run_time = opening.split("**Run time**", 1)[1].splitlines()[0]
    assert re.search(r"\d+\s*(s|min|seconds|minutes)\b", run_time), (
        f"{source.name}: say the run time in seconds or minutes ({run_time.strip()!r})"
    )


def _numbered_items(text: str) -> int:
    return len(re.findall(r"^\d+\.\s", text, re.M))


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_chapter_ends_with_summary_and_exercises(source):
    cells = jupytext.read(source).cells
    heads = [(i, c.source) for i, c in enumerate(cells) if c.cell_type == "markdown"]
    summary = [i for i, text in heads if text.lstrip().startswith("## Summary")]
    exercises = [i for i, text in heads if text.lstrip().startswith("## Exercises")]
    assert len(summary) == 1 and len(exercises) == 1, f"{source.name}: one '## Summary' and one '## Exercises'"
    assert summary[0] < exercises[0] == len(cells) - 1, (
        f"{source.name}: end with '## Summary' then '## Exercises' (the last cell)"
    )
    assert _numbered_items(cells[summary[0]].source) == 3, f"{source.name}: the summary has three numbered points"
    assert 2 <= _numbered_items(cells[exercises[0]].source) <= 3, f"{source.name}: two or three exercises"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_plotting_and_checking_code_is_out_of_the_way(source):
    """Cells that draw a figure or assert a check are hidden in the rendered book (myst-nb
    tags); nbval still executes and compares them."""
    for cell in _code_cells(jupytext.read(source)):
        tags = set(cell.metadata.get("tags", []))
        try:
            body = ast.parse(cell.source).body
        except SyntaxError:  # IPython magics: not used by the book
            body = []
        checks = any(isinstance(node, ast.Assert) for node in body)
        if checks or DRAWS.search(cell.source):
            assert tags & HIDING_TAGS, (
                f"{source.name}: a cell that {'asserts' if checks else 'draws'} is not hidden "
                f"(tag it hide-input or remove-cell): {cell.source.strip().splitlines()[0][:60]!r}"
            )


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_prose_names_no_variables(source):
    """The text speaks of quantities ('one epoch'), not of the parameters that set them
    (`epochs`), except where parameters are the topic: the cell introducing the parameters
    cell and the exercises."""
    cells = jupytext.read(source).cells
    names = set(_parameters(source))
    params_at = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
    for i, cell in enumerate(cells):
        if cell.cell_type != "markdown" or i == params_at - 1 or cell.source.lstrip().startswith("## Exercises"):
            continue
        leaked = sorted(set(re.findall(r"`(\w+)`", cell.source)) & names)
        assert not leaked, f"{source.name}: the prose names the parameter(s) {leaked}: {cell.source[:60]!r}"
