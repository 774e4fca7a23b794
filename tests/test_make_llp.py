"""``make llp`` end to end at tiny size on the fake hosts: download, score the released checkpoint,
a one-run grid (1 epoch, CPU), collect, one chapter executed on ``llp:...`` (chapter 8: executing
every chapter takes far longer than CI should spend here), and the book built into its own folder.

The environment says ``HF_HUB_OFFLINE=1`` (as the Makefile exports for every other target):
``make llp`` must unset it to reach the (fake) Hub.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("huggingface_hub")
pytest.importorskip("gdown")
pytest.importorskip("papermill")

from helpers_fakehub import FakeHost
from test_released import MODELS, REPO, archives, checkpoints, synth_root  # noqa: F401  (fixtures)

from linkpaper.data import released, remote
from linkpaper.data.layout import SPLITS_DIR

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_make_llp_tiny_on_the_fake_hosts(tmp_path, llp_data_dir, synth_root, archives, checkpoints):  # noqa: F811
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    data = tmp_path / "data"
    data.mkdir()
    for sub in ("llp", "leap"):
        (data / sub).symlink_to(llp_data_dir / sub)
    shutil.copytree(synth_root / SPLITS_DIR, data / released.FEATURES_DIR / SPLITS_DIR)
    out = tmp_path / "out"
    llp_args = (
        f"--data-dir {data} --features clip,clap,r2plus1d --checkpoints valor++ --variants valor++ "
        f"--seeds 1 --epochs 1 --warmup-epochs 0 --device cpu --threads 1 --runs {out}/runs "
        f"--results {out}/results --notebooks 08 --notebook-dir {out}/notebooks --html {out}/html "
        "--set epochs=1 --set warmup_epochs=0"
    )
    with FakeHost() as host:
        host.add_dataset_file(REPO, "CLIP.zip", archives["CLIP.zip"])
        host.add_dataset_file(REPO, "CLAP.zip", archives["CLAP.zip"])
        host.add_drive_file(released.HAN_DRIVE_ID, archives["han"])
        host.add_model_file(MODELS, "model_VALOR++/checkpoint_best.pt", checkpoints["valor++"])
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "HF_ENDPOINT": host.url,
            "LINKPAPER_DATA": str(data),
            remote.DRIVE_URL_VAR: host.url + "/drive/{id}",
            "NO_PROXY": "127.0.0.1",
            "no_proxy": "127.0.0.1",
            "PYTHONPATH": str(ROOT),
        }
        result = subprocess.run(
            ["make", "-o", ".venv/.linkpaper-installed", "llp", f"PY={sys.executable}", f"LLP_ARGS={llp_args}"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert host.gets(f"/datasets/{REPO}/resolve/main/CLIP.zip")  # reached the Hub despite HF_HUB_OFFLINE=1

    scores = json.loads((out / "results/released/valorpp.json").read_text())
    assert scores["checkpoint"] == "valor++" and "LLP test (real features" in scores["caption"]
    record = json.loads((out / "results/grid/valorpp/seed87/results.json").read_text())
    assert record["data"]["source"]["kind"] == "llp" and record["config"]["epochs"] == 1
    notebook = (out / "notebooks/08_training.ipynb").read_text()
    assert "LLP (real features)" in notebook and f"llp:{data}" in notebook
    html = out / "html"
    assert (
        "executed on the released LLP features (real features)" in (html / "index.html").read_text()
        or "executed on the released LLP features (real features)" in (html / "book/intro.html").read_text()
    )
    assert (html / "notebooks/08_training.html").is_file()
    assert not (html / "notebooks/09_results.html").exists()  # not executed on LLP: not in this book
    assert not list(out.glob(".html-src-*"))
