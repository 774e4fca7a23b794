"""The book's publishing set-up: the deploy workflow (valid against GitHub's workflow schema),
the repository and launch-button settings, the Binder environment, and the offline math."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML comes with the [book] extra")

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def test_there_is_a_book_workflow():
    assert (ROOT / ".github" / "workflows" / "book.yml") in WORKFLOWS


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_the_github_schema(workflow):
    """check-jsonschema ships GitHub's workflow schema (``vendor.github-workflows``): offline."""
    pytest.importorskip("check_jsonschema", reason="pip install check-jsonschema (the [dev] extra)")
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(workflow)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path):
    pytest.importorskip("check_jsonschema", reason="pip install check-jsonschema (the [dev] extra)")
    broken = tmp_path / "broken.yml"
    broken.write_text("name: x\non: push\njobs:\n  build:\n    steps:\n      - run: make book\n")  # no runs-on
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0


def test_book_workflow_builds_with_the_readme_command_and_deploys():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text(encoding="utf-8"))
    build = workflow["jobs"]["build"]
    runs = [step.get("run", "") for step in build["steps"]]
    uses = [step.get("uses", "") for step in build["steps"]]
    assert "make book" in runs  # the README's first command
    assert "make book" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert any("linkpaper download annotations" in run for run in runs)
    assert any(u.startswith("actions/upload-pages-artifact") for u in uses)
    assert any("tests/browser" in run for run in runs)
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build" and deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert any(step.get("uses", "").startswith("actions/deploy-pages") for step in deploy["steps"])


def test_config_names_the_repository_and_turns_on_launch_buttons():
    config = _config()
    url = config["repository"]["url"]
    assert url.startswith("https://github.com/") and len(url.rstrip("/").split("/")) == 5
    assert config["html"]["use_repository_button"] and config["html"]["use_download_button"]
    assert config["launch_buttons"]["binderhub_url"].startswith("https://")
    assert config["launch_buttons"]["colab_url"].startswith("https://")
    assert "sphinx-mathjax-offline" in config["sphinx"]["extra_extensions"]
    # the URL is written once: no other file of the book repeats it
    for path in [ROOT / "README.md", *ROOT.joinpath("book").glob("*.md"), *WORKFLOWS]:
        assert url not in path.read_text(encoding="utf-8"), f"{path.name} repeats the repository URL"


def test_binder_environment_installs_the_package_and_its_data():
    requirements = (ROOT / "binder" / "requirements.txt").read_text(encoding="utf-8")
    assert "torch==" in requirements and "download.pytorch.org/whl/cpu" in requirements
    post_build = ROOT / "binder" / "postBuild"
    text = post_build.read_text(encoding="utf-8")
    assert post_build.stat().st_mode & 0o111, "binder/postBuild must be executable"
    assert '-e ".[book]"' in text and "linkpaper download annotations" in text


def test_book_extras_bring_the_renderers():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    book = " ".join(project["optional-dependencies"]["book"])
    assert "seaborn" in book and "sphinx-mathjax-offline" in book
    assert "check-jsonschema" in " ".join(project["optional-dependencies"]["dev"])
    assert (
        project["entry-points"]["myst_nb.mime_renderers"]["linkpaper_figures"]
        == "linkpaper.chapters.bookext:FigureRenderer"
    )


def test_cite_this_section():
    intro = (ROOT / "book" / "intro.md").read_text(encoding="utf-8")
    assert "## Cite this" in intro and "2412.20872" in intro and "@misc{" in intro


@pytest.mark.skipif(shutil.which("git") is None, reason="git missing")
def test_binder_post_build_is_committed_executable():
    result = subprocess.run(["git", "ls-files", "-s", "binder/postBuild"], cwd=ROOT, capture_output=True, text=True)
    if not result.stdout:
        pytest.skip("binder/postBuild is not committed yet")
    assert result.stdout.startswith("100755"), result.stdout
