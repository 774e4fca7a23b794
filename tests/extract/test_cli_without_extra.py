"""`python -m linkpaper extract` where the extra is not installed: exit 2, say how to install it.

Never skipped: in the main venv open_clip / laion_clap are absent; in the extract venv we hide
them by putting stand-in packages that raise ImportError first on PYTHONPATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_extract_without_the_extra_explains_the_install(tmp_path):
    hidden = tmp_path / "hide"
    for name in ("open_clip", "laion_clap"):
        (hidden / name).mkdir(parents=True)
        (hidden / name / "__init__.py").write_text(f'raise ImportError("No module named {name}")\n')
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": os.pathsep.join([str(hidden), str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    (tmp_path / "frames").mkdir()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "linkpaper",
            "extract",
            "--frames",
            str(tmp_path / "frames"),
            "--audio",
            str(tmp_path / "audio"),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: `extract` needs ")
    assert "open_clip" in result.stderr and "laion_clap" in result.stderr
    assert "pip install 'linkpaper[extract]'" in result.stderr and "separate environment" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_extract_needs_frames_or_audio(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-m", "linkpaper", "extract", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr == "error: give --frames DIR (CLIP), --audio DIR (CLAP), or both\n"


def test_core_modules_do_not_import_the_heavy_extra():
    """The book and training import linkpaper freely: none of this may pull open_clip & co."""
    code = (
        "import sys, linkpaper.cli, linkpaper.commands.extract, linkpaper.teachers.extract, "
        "linkpaper.teachers.labels, linkpaper.teachers.frames, linkpaper.teachers.audio; "
        "print(sorted(m for m in ('open_clip', 'laion_clap', 'torchvision', 'librosa', 'transformers') "
        "if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
