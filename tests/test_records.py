"""Run-record provenance: the commit and whether the code differed from it."""

import subprocess

from linkpaper.training.provenance import git_commit


def git(repo, *args):
    subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=repo, check=True, capture_output=True
    )


def make_repo(root):
    for rel, text in {"notebooks/n.ipynb": "{}", "results/r.json": "{}", "pkg/m.py": "x = 1\n"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-qm", "init")


def test_outputs_do_not_make_the_code_dirty_but_code_does(tmp_path):
    clean, outputs, code = tmp_path / "clean", tmp_path / "outputs", tmp_path / "code"
    for repo in (clean, outputs, code):
        repo.mkdir()
        make_repo(repo)
    (outputs / "notebooks" / "n.ipynb").write_text('{"cells": []}')  # an executed notebook rewritten
    (outputs / "results" / "r.json").write_text('{"new": 1}')
    (code / "pkg" / "m.py").write_text("x = 2\n")
    assert git_commit(clean)["dirty"] is False
    assert git_commit(outputs)["dirty"] is False
    assert git_commit(code)["dirty"] is True
    assert len(git_commit(code)["commit"]) == 40
    # asked from a subfolder, the whole repository is still what counts
    assert git_commit(code / "notebooks")["dirty"] is True


def test_outside_a_repository_the_commit_is_unknown(tmp_path):
    assert git_commit(tmp_path) == {"commit": "unknown", "dirty": None}
