"""Package-level invariants: constants, install files that must agree, the CLI dispatch."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from linkpaper import classes
from linkpaper.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[1]


def test_class_constants_are_consistent():
    assert classes.NUM_CLASSES == 25 and len(set(classes.CLASSES)) == 25
    assert classes.CLASSES[0] == "Speech" and classes.CLASSES[-1] == "Clapping"
    assert classes.CLASS_INDEX["Violin_fiddle"] == 13
    # the prompts keep the reference's typos verbatim
    assert classes.CLIP_PROMPTS[14] == "A photo of a vaccum cleaner."
    assert classes.CLAP_PROMPTS[12] == "This is a sound of chicken, rooster"
    assert classes.CLIP_THRESHOLDS[0] == 20 and classes.CLAP_THRESHOLDS[4] == 6
    assert classes.CLAP_THRESHOLDS[5] == -2 and classes.CLAP_THRESHOLDS[20] == -1


def test_multihot_collapses_duplicates_and_names_unknown_classes():
    vec = classes.class_names_to_multihot(["Clapping", "Clapping", "Speech"])
    assert vec.sum() == 2 and vec[24] == 1 and vec[0] == 1
    with pytest.raises(ValueError, match=r"f.csv, line 3: unknown class name 'Dgo'"):
        classes.class_names_to_multihot(["Dgo"], source="f.csv, line 3")


def test_environment_yml_and_pyproject_agree():
    env = (ROOT / "environment.yml").read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    makefile = (ROOT / "Makefile").read_text()
    # one torch pin, the same in the conda file and the Makefile's venv
    pins = set(re.findall(r"torch==([\d.]+)", env)) | set(re.findall(r"torch==([\d.]+)", makefile))
    assert len(pins) == 1
    # the conda file installs the package through pyproject's extras (single source of truth)
    assert "-e .[book,dev,cluster,download,tracking]" in env and ".[book,dev,cluster,download,tracking]" in makefile
    for extra in ("book", "dev", "cluster", "download", "tracking", "extract"):
        assert re.search(rf"^{extra} = \[", pyproject, re.M), extra


def test_cli_lists_every_command_and_each_module_exists():
    out = subprocess.run([sys.executable, "-m", "linkpaper", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0
    for name in COMMANDS:
        assert name in out.stdout
        assert (ROOT / "linkpaper" / "commands" / f"{name}.py").is_file(), name


def test_cli_reports_user_errors_without_traceback(tmp_path, capsys, monkeypatch):
    import urllib.request

    def offline(*args, **kwargs):
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    code = main(["download", "annotations", "--data-dir", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: could not download https://raw.githubusercontent.com/")
    assert "LINKPAPER_DATA" in err and "Traceback" not in err


CORE_MODULES = (
    "linkpaper.cli",
    "linkpaper.training.engine",
    "linkpaper.training.grid",
    "linkpaper.safe_io",
    "linkpaper.training.provenance",
    "linkpaper.evaluation.metrics",
    "linkpaper.losses",
    "linkpaper.models",
    "linkpaper.evaluation.gains",
    "linkpaper.evaluation.paper",
    "linkpaper.training.cluster",
    "linkpaper.data.sources",
    "linkpaper.data.features",
    "linkpaper.data.synth",
    "linkpaper.data.stats",
    "linkpaper.evaluation.predictions",
    *(f"linkpaper.commands.{name}" for name in COMMANDS),
)


def test_the_core_package_imports_no_plotting_and_no_pandas():
    """Training, scoring and the CLI need neither the [book] extra nor the chapters' helpers (linkpaper.chapters)."""
    code = (
        "import importlib, sys\n"
        f"for name in {CORE_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'pandas', 'seaborn')"
        " or m.startswith('linkpaper.chapters')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_evaluation_imports_nothing_of_training():
    """Data flows one way: training scores its runs with evaluation/, never the other way round
    (reading a run folder's scores is the run record's job, training/runs.py)."""
    import ast

    def imported(node):  # the dotted names an import statement binds or reads
        if isinstance(node, ast.ImportFrom):
            return [f"{node.module}.{alias.name}" for alias in node.names]
        return [alias.name for alias in node.names] if isinstance(node, ast.Import) else []

    upward = [
        f"{path.relative_to(ROOT)}:{node.lineno}: {name}"
        for path in sorted((ROOT / "linkpaper" / "evaluation").glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        for name in imported(node)
        if f"{name}.".startswith("linkpaper.training.")
    ]
    assert upward == []


def test_no_file_cites_documents_outside_the_repository():
    """Decisions are cited as book/decisions.md anchors or the paper's equations, never as files a
    reader of the repository or the book does not have."""
    outside = re.compile("link" + r"-spec\.md|avvp" + r"-reference\.md|llp" + r"-stats\.md")
    tracked = subprocess.run(["git", "ls-files"], capture_output=True, text=True, cwd=ROOT, check=True).stdout.split()
    citing = [
        name
        for name in tracked
        if (ROOT / name).is_file()
        and name.endswith((".py", ".md", ".yml", ".toml", ".cfg", ".txt"))
        and outside.search((ROOT / name).read_text(errors="replace"))
    ]
    assert citing == []
