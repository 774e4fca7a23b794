"""Released features and checkpoints: download, resume, unpack, verify, score; against local fakes.

A loopback server (``helpers_fakehub.FakeHost``) plays the Hugging Face Hub (through
``HF_ENDPOINT``) and a Google Drive mirror (``LINKPAPER_GDRIVE_URL``). It serves CLIP.zip,
CLAP.zip and HAN's feature archive built from SynthLLP ``tiny`` in the released layouts, and
VALOR checkpoints saved from our networks. The data folder's ``valor_features/splits/`` holds
tiny's split lists, so "every LLP video" means tiny's 128 videos.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("huggingface_hub")
pytest.importorskip("gdown")

from helpers_fakehub import FakeHost

from linkpaper.cli import main
from linkpaper.data import released, remote
from linkpaper.data.layout import SPLITS_DIR

REPO = released.HF_FEATURES_REPO
MODELS = released.HF_MODELS_REPO


def _zip(root: Path, folders: list[str], prefix: str = "", drop: str | None = None) -> bytes:
    """A zip of ``folders`` under ``root`` (members ``prefix + folder/<id>.npy``), without ``drop``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for folder in folders:
            for path in sorted((root / folder).glob("*.npy")):
                name = f"{prefix}{folder}/{path.name}"
                if name != drop:
                    z.write(path, name)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory, llp_data_dir) -> Path:
    """SynthLLP tiny written in VALOR's layout, plus HAN's VGGish and ResNet-152 streams."""
    from linkpaper.data.synth import make_synth, write_valor_layout

    root = tmp_path_factory.mktemp("synth") / "layout"
    write_valor_layout(make_synth("tiny", seed=0, data_dir=llp_data_dir), root, progress=False)
    rng = np.random.default_rng(0)
    for folder, shape in (("feats/vggish", (10, 128)), ("feats/res152", (80, 2048))):
        (root / folder).mkdir(parents=True)
        for path in (root / "feats/r2plus1d_18").glob("*.npy"):
            row = rng.standard_normal(shape[1]).astype(np.float32)  # one row repeated: the zip stays small
            np.save(root / folder / path.name, np.tile(row, (shape[0], 1)))
    return root


@pytest.fixture(scope="module")
def archives(synth_root) -> dict[str, bytes]:
    return {
        "CLIP.zip": _zip(synth_root, ["CLIP/features", "CLIP/segment_pseudo_labels"]),
        "CLAP.zip": _zip(synth_root, ["CLAP/features", "CLAP/segment_pseudo_labels"]),
        # HAN's Drive file: a feats folder below a top folder
        "han": _zip(synth_root, ["feats/r2plus1d_18", "feats/vggish", "feats/res152"], prefix="LLP/"),
    }


@pytest.fixture(scope="module")
def checkpoints() -> dict[str, bytes]:
    result = {}
    for name in released.RELEASED_MODELS:
        torch.manual_seed(len(name))
        buffer = io.BytesIO()
        state = released._model(name).state_dict()
        # VALOR saves model.state_dict(); a {"model": ...} wrapper loads too
        torch.save(state if name == "valor++" else {"model": state, "epoch": 7}, buffer)
        result[name] = buffer.getvalue()
    return result


@pytest.fixture
def host(monkeypatch, archives, checkpoints):
    """The fake Hub and Drive, with HF_ENDPOINT / LINKPAPER_GDRIVE_URL pointing at them."""
    import huggingface_hub.constants

    with FakeHost() as server:
        for name in ("CLIP.zip", "CLAP.zip"):
            server.add_dataset_file(REPO, name, archives[name])
        server.add_drive_file(released.HAN_DRIVE_ID, archives["han"])
        server.add_model_file(MODELS, "model_VALOR++/checkpoint_best.pt", checkpoints["valor++"])
        server.add_model_file(MODELS, "model_VALOR+/checkpoint_best.pt", checkpoints["valor+"])
        server.add_model_file(MODELS, "models/model_VALOR/checkpoint_best.pt", checkpoints["valor"])  # the other layout
        for name in remote.OFFLINE_VARS:  # the Makefile exports HF_HUB_OFFLINE=1
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setenv(remote.DRIVE_URL_VAR, server.url + "/drive/{id}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
        yield server


@pytest.fixture
def data_dir(tmp_path, llp_data_dir, synth_root) -> Path:
    """A fresh data folder: the LLP annotations linked in, tiny's split lists under valor_features/."""
    root = tmp_path / "data"
    root.mkdir()
    for sub in ("llp", "leap"):
        (root / sub).symlink_to(llp_data_dir / sub)
    shutil.copytree(synth_root / SPLITS_DIR, root / released.FEATURES_DIR / SPLITS_DIR)
    return root


def _download(data_dir: Path, what: str, *extra: str) -> int:
    return main(["download", what, "--data-dir", str(data_dir), "--quiet", *extra])


def _same_files(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.glob("*.npy"))
    assert names == sorted(p.name for p in b.glob("*.npy")) and names
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def _leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(remote.UNPACK_PREFIX)]


# --------------------------------------------------------------------------- features


def test_features_download_unpack_verify_and_second_call(host, data_dir, synth_root, capsys):
    assert _download(data_dir, "features", "--only", "clip,clap,r2plus1d") == 0
    out = capsys.readouterr().out
    features = data_dir / released.FEATURES_DIR
    for folder in (
        "CLIP/features",
        "CLIP/segment_pseudo_labels",
        "CLAP/features",
        "CLAP/segment_pseudo_labels",
        "feats/r2plus1d_18",
    ):
        _same_files(features / folder, synth_root / folder)
    assert not (features / "feats/vggish").exists()  # han was not asked for
    assert f"--data llp:{features}" in out and "128 videos verified" in out
    manifest = json.loads((data_dir / "downloads" / "manifest.json").read_text())["files"]
    import hashlib

    for name, payload in (("CLIP.zip", host.files[f"/datasets/{REPO}/resolve/main/CLIP.zip"]),):
        assert manifest[name]["size"] == len(payload)
        assert manifest[name]["sha256"] == hashlib.sha256(payload).hexdigest()
    assert set(manifest["han_feats.zip"]["unpacked"]) == {"feats/r2plus1d_18"}

    # the unpacked layout is what --data llp: reads
    from linkpaper.data.features import load_llp

    data = load_llp(features, data_dir=data_dir, progress=False)
    assert len(data.test) == 32 and "LLP (real features)" in data.describe()

    gets = len([entry for entry in host.log if entry[0] == "GET"])
    assert _download(data_dir, "features", "--only", "clip,clap,r2plus1d") == 0
    assert len([entry for entry in host.log if entry[0] == "GET"]) == gets  # verified, not downloaded
    assert "present" in capsys.readouterr().out


def test_han_streams_from_the_shared_drive_file(host, data_dir, synth_root):
    assert _download(data_dir, "features", "--only", "r2plus1d") == 0
    assert _download(data_dir, "features", "--only", "han") == 0  # the same archive, unpacked again
    drive = "/drive/" + released.HAN_DRIVE_ID
    assert len(host.gets(drive)) == 1
    for folder in ("feats/vggish", "feats/res152", "feats/r2plus1d_18"):
        _same_files(data_dir / released.FEATURES_DIR / folder, synth_root / folder)


def test_download_cut_halfway_resumes_on_the_next_call(host, data_dir, archives, monkeypatch, capsys):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "DOWNLOAD_CHUNK_SIZE", 1 << 16)  # real files: many chunks
    key = f"/datasets/{REPO}/resolve/main/CLIP.zip"
    half = len(archives["CLIP.zip"]) // 2
    host.cut[key] = half
    host.fail[key] = 10  # huggingface_hub retries within the call; the host stays down for it
    assert _download(data_dir, "features", "--only", "clip") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "stopped after" in err and "run the same command again" in err
    part = data_dir / "downloads" / "CLIP.zip.part"
    kept = part.stat().st_size
    assert half // 2 < kept <= half and f"{kept:,} of {len(archives['CLIP.zip']):,} bytes" in err
    assert not (data_dir / released.FEATURES_DIR / "CLIP").exists()
    host.fail[key] = 0
    assert _download(data_dir, "features", "--only", "clip") == 0
    assert host.gets(key)[-1] == f"bytes={kept}-"  # continued, not restarted
    assert (data_dir / "downloads" / "CLIP.zip").read_bytes() == archives["CLIP.zip"]
    assert not part.exists()


def test_wrong_bytes_from_the_host_are_refused(host, data_dir, archives, capsys):
    key = f"/datasets/{REPO}/resolve/main/CLAP.zip"
    good = archives["CLAP.zip"]
    part = data_dir / "downloads" / "CLAP.zip.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"x" * 100)  # a stale partial file that is not a prefix of the real one
    assert _download(data_dir, "features", "--only", "clap") == 2
    err = capsys.readouterr().err
    assert "sha256" in err and "host announces" in err and err.count("\n") == 1
    assert not part.exists() and not (data_dir / "downloads" / "CLAP.zip").exists()
    assert _download(data_dir, "features", "--only", "clap") == 0
    assert (data_dir / "downloads" / "CLAP.zip").read_bytes() == good
    assert host.gets(key)[-1] is None


def test_corrupt_zip_leaves_nothing_unpacked(host, data_dir, archives, capsys):
    bad = bytearray(archives["CLIP.zip"])
    bad[len(bad) // 3 : len(bad) // 3 + 200] = b"\0" * 200  # the host's sha256 is of these bytes
    host.files[f"/datasets/{REPO}/resolve/main/CLIP.zip"] = bytes(bad)
    assert _download(data_dir, "features", "--only", "clip") == 2
    err = capsys.readouterr().err
    assert "CLIP.zip" in err and "corrupt" in err and err.count("\n") == 1
    features = data_dir / released.FEATURES_DIR
    assert not (features / "CLIP").exists() and not _leftovers(features)


def test_missing_member_names_the_video_and_unpacks_nothing(host, data_dir, synth_root, capsys):
    victim = sorted((synth_root / "CLIP/segment_pseudo_labels").glob("*.npy"))[5].name
    host.files[f"/datasets/{REPO}/resolve/main/CLIP.zip"] = _zip(
        synth_root, ["CLIP/features", "CLIP/segment_pseudo_labels"], drop=f"CLIP/segment_pseudo_labels/{victim}"
    )
    assert _download(data_dir, "features", "--only", "clip") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "incomplete" in err and victim in err and "1 missing" in err
    features = data_dir / released.FEATURES_DIR
    assert not (features / "CLIP").exists() and not _leftovers(features)


def test_wrong_shape_in_the_archive_is_named(host, data_dir, synth_root, tmp_path, capsys):
    copy = tmp_path / "bad"
    shutil.copytree(synth_root / "CLAP", copy / "CLAP")
    victim = sorted((copy / "CLAP/features").glob("*.npy"))[0]
    np.save(victim, np.zeros((10, 512), np.float32))
    host.files[f"/datasets/{REPO}/resolve/main/CLAP.zip"] = _zip(copy, ["CLAP/features", "CLAP/segment_pseudo_labels"])
    assert _download(data_dir, "features", "--only", "clap") == 2
    err = capsys.readouterr().err
    assert "wrong shape" in err and victim.name in err and "(10, 512)" in err


def test_wrong_sha_on_the_second_call(host, data_dir, capsys):
    assert _download(data_dir, "features", "--only", "clip") == 0
    archive = data_dir / "downloads" / "CLIP.zip"
    payload = bytearray(archive.read_bytes())
    payload[-1] ^= 0xFF  # same size, other bytes
    archive.write_bytes(bytes(payload))
    capsys.readouterr()
    assert _download(data_dir, "features", "--only", "clip") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sha256" in err and "manifest" in err and str(archive) in err
    assert _download(data_dir, "features", "--only", "clip", "--force") == 0  # --force fetches it anew


def test_a_deleted_video_is_found_on_the_second_call(host, data_dir, capsys):
    assert _download(data_dir, "features", "--only", "clip") == 0
    victim = sorted((data_dir / released.FEATURES_DIR / "CLIP/features").glob("*.npy"))[3]
    victim.unlink()
    capsys.readouterr()
    assert _download(data_dir, "features", "--only", "clip") == 2
    err = capsys.readouterr().err
    assert victim.name in err and "--force --only clip" in err


def test_archive_placed_by_hand_is_used_offline(host, data_dir, archives, monkeypatch, capsys):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    (data_dir / "downloads").mkdir()
    (data_dir / "downloads" / "CLIP.zip").write_bytes(archives["CLIP.zip"])
    assert _download(data_dir, "features", "--only", "clip") == 0
    assert "placed by hand" in capsys.readouterr().out
    assert not [entry for entry in host.log if entry[0] == "GET"]


def test_offline_messages_name_the_url_and_the_manual_steps(host, data_dir, monkeypatch, capsys):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    assert _download(data_dir, "features", "--only", "clip") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"https://huggingface.co/datasets/{REPO}/resolve/main/CLIP.zip" in err
    assert f"save it as {data_dir / 'downloads' / 'CLIP.zip'}" in err

    monkeypatch.setenv(remote.DRIVE_URL_VAR, "http://127.0.0.1:9/drive/{id}")
    assert _download(data_dir, "features", "--only", "r2plus1d") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"https://drive.google.com/file/d/{released.HAN_DRIVE_ID}/view" in err
    assert f"save it as {data_dir / 'downloads' / 'han_feats.zip'}" in err

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert _download(data_dir, "checkpoints", "--only", "valor++") == 2
    err = capsys.readouterr().err
    assert "HF_HUB_OFFLINE=1 is set" in err and "model_VALOR++/checkpoint_best.pt" in err


# --------------------------------------------------------------------------- checkpoints


def test_checkpoints_download_both_repository_layouts_and_verify(host, data_dir, checkpoints, capsys):
    assert _download(data_dir, "checkpoints") == 0
    out = capsys.readouterr().out
    for name in released.RELEASED_MODELS:
        path = released.checkpoint_path(name, data_dir)
        assert path.read_bytes() == checkpoints[name]
        assert f"loads into {name}" in out
    assert host.gets(f"/{MODELS}/resolve/main/models/model_VALOR/checkpoint_best.pt")
    gets = len(host.log)
    assert _download(data_dir, "checkpoints") == 0
    assert len(host.log) == gets


def test_a_checkpoint_of_the_wrong_network_is_refused(host, data_dir, checkpoints, capsys):
    host.files[f"/{MODELS}/resolve/main/model_VALOR++/checkpoint_best.pt"] = checkpoints["valor"]
    assert _download(data_dir, "checkpoints", "--only", "valor++") == 2
    err = capsys.readouterr().err
    assert "not a valor++ checkpoint" in err and "shape mismatch" in err


def test_released_checkpoints_are_scored_with_our_metric(host, data_dir, checkpoints, capsys):
    from linkpaper.data.features import load_split
    from linkpaper.models.registry import load_valor_checkpoint
    from linkpaper.training.scoring import evaluate_split, prepare_split, scores_record

    assert _download(data_dir, "features") == 0
    assert _download(data_dir, "checkpoints") == 0
    features = data_dir / released.FEATURES_DIR
    out_json = data_dir / "scores.json"
    capsys.readouterr()
    assert (
        main(
            [
                "test",
                "--checkpoint",
                "valor++",
                "--data",
                f"llp:{features}",
                "--data-dir",
                str(data_dir),
                "--out",
                str(out_json),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "released valor++ checkpoint" in printed and "32 videos" in printed

    model = released._model("valor++")
    load_valor_checkpoint(model, released.checkpoint_path("valor++", data_dir))
    split = prepare_split(model, load_split(features, "test", data_dir, progress=False), "cpu")
    expected = scores_record(evaluate_split(model, split)[0])
    assert json.loads(out_json.read_text())["test"] == expected

    # VALOR reads HAN's VGGish / ResNet-152; its scores differ from VALOR++'s
    assert main(["test", "--checkpoint", "valor", "--data-dir", str(data_dir), "--out", str(out_json)]) == 0
    assert json.loads(out_json.read_text())["test"] != expected


def test_scoring_without_the_checkpoint_says_how_to_get_it(data_dir, capsys):
    (data_dir / released.FEATURES_DIR).mkdir(exist_ok=True)
    assert main(["test", "--checkpoint", "valor+", "--data-dir", str(data_dir)]) == 2
    err = capsys.readouterr().err
    assert "download checkpoints --only valor+" in err
    assert main(["test", "--checkpoint", "valor3", "--data-dir", str(data_dir)]) == 2
    assert "choose one of valor++, valor+, valor" in capsys.readouterr().err
    assert main(["test", "runs/x", "--checkpoint", "valor"]) == 2


def test_drive_download_cut_halfway_resumes_on_the_next_call(host, data_dir, archives, capsys):
    key = "/drive/" + released.HAN_DRIVE_ID
    size = len(archives["han"])
    host.cut[key] = size // 2
    host.fail[key] = 20  # gdown retries within the call; the host stays down for it
    assert _download(data_dir, "features", "--only", "r2plus1d") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: could not download https://drive.google.com/")
    target = data_dir / "downloads" / "han_feats.zip"
    partial = remote.drive_partial_files(target)
    assert len(partial) == 1 and 0 < partial[0].stat().st_size <= size // 2
    kept = partial[0].stat().st_size
    host.fail[key] = 0
    assert _download(data_dir, "features", "--only", "r2plus1d") == 0
    assert host.gets(key)[-1] == f"bytes={kept}-"
    assert target.read_bytes() == archives["han"] and not remote.drive_partial_files(target)


def test_interrupted_unpack_leaves_nothing_and_the_next_call_finishes(host, data_dir, monkeypatch, capsys):
    copied = []
    original = remote._copy_member

    def copy_then_interrupt(opener, dest, archive, name):
        if len(copied) == 150:
            raise KeyboardInterrupt
        copied.append(name)
        original(opener, dest, archive, name)

    monkeypatch.setattr(remote, "_copy_member", copy_then_interrupt)
    assert _download(data_dir, "features", "--only", "clip") == 130
    assert "interrupted" in capsys.readouterr().err
    features = data_dir / released.FEATURES_DIR
    assert not (features / "CLIP").exists() and not _leftovers(features)
    assert (data_dir / "downloads" / "CLIP.zip").is_file()  # the archive is complete: kept
    monkeypatch.setattr(remote, "_copy_member", original)
    gets = len(host.gets(f"/datasets/{REPO}/resolve/main/CLIP.zip"))
    assert _download(data_dir, "features", "--only", "clip") == 0
    assert len(host.gets(f"/datasets/{REPO}/resolve/main/CLIP.zip")) == gets  # not downloaded again
    assert len(list((features / "CLIP/features").glob("*.npy"))) == 128
