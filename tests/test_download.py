"""Annotation download: sha256 verification, skipping verified files, clean offline errors, CLI."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from linkpaper.cli import main
from linkpaper.data import download
from linkpaper.data.download import ChecksumError, download_annotations, sha256_of
from linkpaper.data.files import (
    ANNOTATION_FILES,
    DATA_ENV_VAR,
    MissingDataError,
    annotation_path,
    resolve_data_dir,
)


@pytest.fixture
def real_data() -> Path:
    root = resolve_data_dir()
    if not all((root / spec.relpath).is_file() for spec in ANNOTATION_FILES.values()):
        pytest.skip(f"LLP annotations not found under {root} (set {DATA_ENV_VAR})")
    return root


class FakeResponse:
    def __init__(self, payload: bytes):
        self.payload = payload

    def read(self) -> bytes:
        return self.payload

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture
def served(monkeypatch, real_data):
    """Serve every pinned URL from the local copy; ``served.tamper[key]`` changes one payload."""

    class Server:
        requested: list[str] = []
        tamper: dict[str, bytes] = {}
        offline = False

    by_url = {spec.url: key for key, spec in ANNOTATION_FILES.items()}

    def urlopen(url, timeout=None):
        Server.requested.append(url)
        if Server.offline:
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
        key = by_url[url]
        return FakeResponse(Server.tamper.get(key, (real_data / ANNOTATION_FILES[key].relpath).read_bytes()))

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    Server.requested, Server.tamper = [], {}
    return Server


def test_download_verifies_and_then_skips_present_files(tmp_path, served):
    status = download_annotations(tmp_path)
    assert status == {key: "downloaded" for key in ANNOTATION_FILES}
    assert sorted(served.requested) == sorted(spec.url for spec in ANNOTATION_FILES.values())
    for spec in ANNOTATION_FILES.values():
        path = tmp_path / spec.relpath
        assert sha256_of(path) == spec.sha256 and path.stat().st_size == spec.size
    assert sorted(p.name for p in (tmp_path / "llp").iterdir()) == sorted(
        Path(s.relpath).name for s in ANNOTATION_FILES.values() if s.relpath.startswith("llp/")
    )  # no temporary files left
    served.requested.clear()
    assert download_annotations(tmp_path) == {key: "present" for key in ANNOTATION_FILES}
    assert served.requested == []
    assert set(download_annotations(tmp_path, force=True).values()) == {"downloaded"}


def test_a_corrupted_local_file_is_fetched_again(tmp_path, served):
    download_annotations(tmp_path)
    (tmp_path / ANNOTATION_FILES["val"].relpath).write_text("filename\tevent_labels\n")
    served.requested.clear()
    status = download_annotations(tmp_path)
    assert status["val"] == "downloaded" and served.requested == [ANNOTATION_FILES["val"].url]
    assert sha256_of(tmp_path / ANNOTATION_FILES["val"].relpath) == ANNOTATION_FILES["val"].sha256


def test_a_wrong_checksum_is_rejected_without_leaving_a_bad_file(tmp_path, served):
    served.tamper["test"] = b"filename\tevent_labels\nnot the real file\n"
    with pytest.raises(ChecksumError) as caught:
        download_annotations(tmp_path)
    message = str(caught.value)
    assert ANNOTATION_FILES["test"].url in message and ANNOTATION_FILES["test"].sha256 in message
    assert not (tmp_path / ANNOTATION_FILES["test"].relpath).exists()
    assert [p.name for p in (tmp_path / "llp").iterdir() if "AVVP" not in p.name] == []


def test_a_failed_download_keeps_the_good_copy(tmp_path, served):
    download_annotations(tmp_path)
    served.offline = True
    with pytest.raises(MissingDataError):
        download_annotations(tmp_path, force=True)
    assert sha256_of(tmp_path / ANNOTATION_FILES["train"].relpath) == ANNOTATION_FILES["train"].sha256


def test_offline_failure_names_the_url_and_the_env_var(tmp_path, served):
    served.offline = True
    with pytest.raises(MissingDataError) as caught:
        download_annotations(tmp_path)
    message = str(caught.value)
    first = next(iter(ANNOTATION_FILES.values()))
    assert first.url in message and DATA_ENV_VAR in message and str(tmp_path / first.relpath) in message
    assert main(["download", "annotations", "--data-dir", str(tmp_path)]) == 2  # a message, no traceback


def test_annotation_path_on_an_empty_dir_says_how_to_fetch(tmp_path):
    with pytest.raises(MissingDataError) as caught:
        annotation_path("eval_audio", tmp_path)
    message = str(caught.value)
    assert str(tmp_path / "llp" / "AVVP_eval_audio.csv") in message
    assert "python -m linkpaper download annotations" in message
    with pytest.raises(KeyError, match="unknown data file 'nope'"):
        annotation_path("nope", tmp_path)


def test_data_dir_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "env"))
    assert resolve_data_dir() == (tmp_path / "env").resolve()
    assert resolve_data_dir(tmp_path / "arg") == (tmp_path / "arg").resolve()
    monkeypatch.delenv(DATA_ENV_VAR)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_data_dir() == (tmp_path / "home" / ".cache" / "linkpaper" / "data").resolve()


def test_cli_reports_a_verified_copy_as_present(tmp_path, real_data, monkeypatch, capsys):
    def no_network(*args, **kwargs):
        raise AssertionError("a verified copy must not be downloaded again")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    for spec in ANNOTATION_FILES.values():
        (tmp_path / spec.relpath).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(real_data / spec.relpath, tmp_path / spec.relpath)
    assert main(["download", "annotations", "--data-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(ANNOTATION_FILES)
    for line, spec in zip(lines, ANNOTATION_FILES.values()):
        assert line.split() == ["present", str(tmp_path / spec.relpath)]
    assert download.verify("glove", tmp_path) == tmp_path / ANNOTATION_FILES["glove"].relpath
