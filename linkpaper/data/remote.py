"""Large downloads that survive interruption, and archives unpacked all-or-nothing.

The transport for ``python -m linkpaper download features|checkpoints`` (which files: see
``linkpaper.data.released``):

* ``fetch_hf``: one file of a Hugging Face repository through ``huggingface_hub`` (it honours
  ``HF_ENDPOINT``, a token and proxies). The bytes go to ``<file>.part``, which a later call
  continues with an HTTP Range request; the finished file is checked against the size and, for
  LFS files, the sha256 the Hub announces, then renamed into place.
* ``fetch_drive``: one public Google Drive file through ``gdown`` (``resume=True``: gdown keeps
  ``<file>XXXXXXXX.part`` and continues it).
* ``unpack``: the members of a zip or tar archive that a caller maps to target folders are
  extracted into a hidden temporary folder, checked there, and only then renamed into place,
  so a target folder is either absent, the previous complete copy, or the new complete copy.
* ``Manifest``: ``downloads/manifest.json``, each file's size and sha256 and what was unpacked
  from it; a second call checks the files against it instead of downloading them again.

Both optional libraries come with the ``[download]`` extra (``pip install -e ".[download]"``).
Without a network every failure is one ``DownloadError`` line naming the URL and what to do by
hand (download the file in a browser, put it where the message says, run the command again).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from linkpaper.errors import UserError

PART_SUFFIX = ".part"
MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
UNPACK_PREFIX = ".unpack-"
OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
DRIVE_URL_VAR = "LINKPAPER_GDRIVE_URL"
"""A mirror of the Drive file: ``{id}`` in it is replaced by the Drive file id (tests use a local
server; without it gdown fetches ``https://drive.google.com/uc?id=<id>``)."""


class DownloadError(UserError, OSError):
    """A download, a checksum or an archive that failed; the message says what to do."""


class NotOnHost(DownloadError):
    """The host answered that the repository has no such file (HTTP 404)."""


def sha256_file(path: str | os.PathLike, progress: bool = False) -> str:
    """The sha256 of a file, read in 4 MiB blocks (with a progress bar for big files)."""
    from tqdm.auto import tqdm

    path = Path(path)
    digest = hashlib.sha256()
    with (
        open(path, "rb") as f,
        tqdm(
            total=path.stat().st_size,
            unit="B",
            unit_scale=True,
            leave=False,
            desc=f"sha256 {path.name}",
            disable=not progress,
        ) as bar,
    ):
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
            bar.update(len(block))
    return digest.hexdigest()


def _require(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise DownloadError(
            f'the {module} package is missing; install the download extra: pip install -e ".[download]"'
        ) from None


def _offline_setting() -> str | None:
    for name in OFFLINE_VARS:
        if os.environ.get(name, "").strip().upper() in ("1", "ON", "YES", "TRUE"):
            return name
    return None


def manual_steps(url: str, target: Path) -> str:
    """What to do without a network: the same message for every file."""
    return (
        f"Without network access: download {url} in a browser, save it as {target}, "
        "and run the same command again (it verifies and unpacks a file found there)."
    )


# --------------------------------------------------------------------------- Hugging Face


@dataclass(frozen=True)
class Fetched:
    """A file now complete on disk: where it is and what the host announced for it."""

    path: Path
    size: int
    sha256: str | None  # the host's sha256 (an LFS etag) when it announces one
    url: str


def hf_endpoint() -> str:
    """``$HF_ENDPOINT`` (read at call time, so a test's loopback server is honoured), else the Hub."""
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def hf_url(repo_id: str, filename: str, repo_type: str | None) -> str:
    """The public page of a file (``resolve`` URL) as a user would open it in a browser."""
    prefix = {"dataset": "datasets/", "space": "spaces/"}.get(repo_type or "", "")
    return f"https://huggingface.co/{prefix}{repo_id}/resolve/main/{filename}"


def fetch_hf(
    repo_id: str,
    filename: str,
    target: Path,
    *,
    repo_type: str | None = None,
    revision: str = "main",
    progress: bool = True,
) -> Fetched:
    """Download ``filename`` of a Hub repository to ``target``, resuming ``target.part``.

    The Hub's HEAD answer gives the size and, for LFS files, the sha256 (its etag); the finished
    bytes must match both before the ``.part`` file is renamed to ``target``. Raises
    ``DownloadError`` (one line: the URL, the cause, the manual steps) on any failure; a
    ``.part`` file with the bytes already received stays for the next call.
    """
    page = hf_url(repo_id, filename, repo_type)
    offline = _offline_setting()
    if offline:
        raise DownloadError(
            f"{offline}={os.environ[offline]} is set, so {page} cannot be fetched: unset it "
            f"(env -u {offline} ...). {manual_steps(page, target)}"
        )
    hub = _require("huggingface_hub")
    from huggingface_hub import file_download

    endpoint = hf_endpoint()
    url = hub.hf_hub_url(repo_id, filename, repo_type=repo_type, revision=revision, endpoint=endpoint)
    quiet = _quiet_logger("huggingface_hub")  # its retry warnings would break the one-line errors
    try:
        meta = hub.get_hf_file_metadata(url, endpoint=endpoint)
    except hub.errors.EntryNotFoundError:
        raise NotOnHost(f"{page}: the repository has no such file. {manual_steps(page, target)}") from None
    except Exception as err:  # connection refused, DNS, 401/403/5xx: one line each
        raise DownloadError(f"could not reach {page} ({_first_line(err)}). {manual_steps(page, target)}") from None
    finally:
        quiet.restore()
    size = meta.size
    expected_sha = meta.etag if meta.etag and len(meta.etag) == 64 and _is_hex(meta.etag) else None
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + PART_SUFFIX)
    have = part.stat().st_size if part.is_file() else 0
    if size is not None and have > size:  # longer than the file: not a prefix of it
        part.unlink()
        have = 0
    quiet = _quiet_logger("huggingface_hub")
    try:
        with open(part, "ab") as f:
            file_download.http_get(
                meta.location or url,
                f,
                resume_size=have,
                expected_size=size,
                displayed_filename=filename,
                tqdm_class=None if progress else _SilentTqdm,
                headers=hub.utils.build_hf_headers(),
            )
    except KeyboardInterrupt:
        raise
    except Exception as err:
        got = part.stat().st_size if part.is_file() else 0
        raise DownloadError(
            f"downloading {page} stopped after {got:,} of {size or 0:,} bytes ({_first_line(err)}); "
            f"run the same command again to continue from {part}. "
            f"{manual_steps(page, target)}"
        ) from None
    finally:
        quiet.restore()
    return _finish(part, target, size, expected_sha, page)


def _finish(part: Path, target: Path, size: int | None, expected_sha: str | None, url: str) -> Fetched:
    found_size = part.stat().st_size
    if size is not None and found_size != size:
        raise DownloadError(
            f"{part}: {found_size:,} bytes, but {url} has {size:,}; run the same command again to continue the download"
        )
    found_sha = sha256_file(part, progress=found_size > (256 << 20))
    if expected_sha and found_sha != expected_sha:
        part.unlink()
        raise DownloadError(
            f"{url}: the downloaded bytes have sha256 {found_sha}, the host announces "
            f"{expected_sha}; the partial file was removed, run the same command again"
        )
    os.replace(part, target)
    return Fetched(target, found_size, found_sha, url)


class _quiet_logger:
    """Raise a library logger to ERROR until ``restore()``."""

    def __init__(self, name: str):
        import logging

        self.logger = logging.getLogger(name)
        self.level = self.logger.level
        self.logger.setLevel(logging.ERROR)

    def restore(self) -> None:
        self.logger.setLevel(self.level)


class _SilentTqdm:
    """A tqdm stand-in for ``progress=False``."""

    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n=1):
        pass

    def close(self):
        pass


def _is_hex(text: str) -> bool:
    try:
        int(text, 16)
        return True
    except ValueError:
        return False


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:200]}" if text else type(err).__name__


# --------------------------------------------------------------------------- Google Drive


def drive_page(file_id: str) -> str:
    return f"https://drive.google.com/file/d/{file_id}/view"


def fetch_drive(file_id: str, target: Path, *, progress: bool = True) -> Fetched:
    """Download a public Google Drive file with gdown to ``target`` (resumable, atomic).

    gdown keeps the bytes in ``<target>XXXXXXXX.part`` and renames it when complete; a later call
    with ``resume=True`` continues that file. Drive announces no sha256: the caller records the
    one measured here in the manifest, and later calls compare against it.
    """
    page = drive_page(file_id)
    gdown = _require("gdown")
    mirror = os.environ.get(DRIVE_URL_VAR)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".gdown")  # gdown's output; renamed to target once verified
    try:
        if mirror:
            result = gdown.download(
                url=mirror.replace("{id}", file_id), output=str(tmp), quiet=not progress, resume=True, retries=3
            )
        else:
            result = gdown.download(id=file_id, output=str(tmp), quiet=not progress, resume=True, retries=3)
    except KeyboardInterrupt:
        raise
    except Exception as err:
        raise DownloadError(
            f"could not download {page} ({_first_line(err)}); a partial file stays next to "
            f"{target} and the same command continues it. {manual_steps(page, target)}"
        ) from None
    if result is None or not tmp.is_file():
        raise DownloadError(f"could not download {page} (gdown returned no file). {manual_steps(page, target)}")
    return _finish(tmp, target, None, None, page)


def drive_partial_files(target: Path) -> list[Path]:
    """gdown's partial files for ``target`` (``<name>.gdownXXXXXXXX.part``)."""
    stem = target.name + ".gdown"
    return sorted(p for p in target.parent.glob(f"{stem}*{PART_SUFFIX}"))


# --------------------------------------------------------------------------- manifest


class Manifest:
    """``<downloads>/manifest.json``: {file name: {url, size, sha256, recorded, unpacked}}."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.files: dict[str, dict] = {}
        if self.path.is_file():
            try:
                data = json.loads(self.path.read_text())
                self.files = dict(data["files"])
            except (OSError, ValueError, KeyError, TypeError) as err:
                raise DownloadError(
                    f"{self.path}: unreadable download manifest ({_first_line(err)}); delete it and "
                    "run the command again (every file is then checked and recorded anew)"
                ) from None

    def get(self, name: str) -> dict | None:
        return self.files.get(name)

    def record(self, name: str, **entry) -> None:
        self.files[name] = {
            **self.files.get(name, {}),
            **entry,
            "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        self.save()

    def forget(self, name: str) -> None:
        if self.files.pop(name, None) is not None:
            self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps({"version": MANIFEST_VERSION, "files": self.files}, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, self.path)


def check_against_manifest(path: Path, entry: dict) -> None:
    """Raise DownloadError unless ``path`` has the size and sha256 the manifest recorded."""
    size = path.stat().st_size
    if size != entry.get("size"):
        raise DownloadError(
            f"{path}: {size:,} bytes, but the download manifest recorded {entry.get('size'):,}; "
            "the file changed after it was downloaded. Delete it and run the command again "
            "(or add --force)"
        )
    found = sha256_file(path, progress=size > (256 << 20))
    if found != entry.get("sha256"):
        raise DownloadError(
            f"{path}: sha256 {found} does not match the {entry.get('sha256')} the download manifest "
            "recorded; the file changed after it was downloaded. Delete it and run the command "
            "again (or add --force)"
        )


# --------------------------------------------------------------------------- archives


@dataclass(frozen=True)
class Member:
    """One archive member to extract: its name in the archive and its path under the target root."""

    name: str
    dest: str


def archive_names(archive: Path) -> tuple[str, list[str]]:
    """("zip" | "tar", member file names) of a zip or tar archive; DownloadError if it is neither or corrupt."""
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                return "zip", [i.filename for i in z.infolist() if not i.is_dir()]
        if tarfile.is_tarfile(archive):
            with tarfile.open(archive) as t:
                return "tar", [m.name for m in t.getmembers() if m.isfile()]
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as err:
        raise DownloadError(
            f"{archive}: corrupt archive ({_first_line(err)}); delete it and run the command again (or add --force)"
        ) from None
    raise DownloadError(
        f"{archive}: not a zip or tar archive (corrupt or truncated?); delete it and run the "
        "command again (or add --force)"
    )


def unpack(archive: Path, members: list[Member], root: Path, folders: list[str], check, progress: bool = True) -> None:
    """Extract ``members`` of ``archive`` under ``root``, all-or-nothing per call.

    The members go to ``root/.unpack-<archive>-<pid>/``; ``check(tmp_root)`` then validates them
    there (raising on a problem); only then is each of ``folders`` (paths under ``root``) renamed
    into place, replacing an older copy. On any failure, interruption included, the temporary
    folder is removed and the existing folders are untouched.
    """
    from tqdm.auto import tqdm

    kind, _ = archive_names(archive)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f"{UNPACK_PREFIX}{archive.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        bar = tqdm(members, desc=f"unpacking {archive.name}", unit="file", leave=False, disable=not progress)
        if kind == "zip":
            with zipfile.ZipFile(archive) as z:
                for member in bar:
                    _copy_member(lambda m=member: z.open(m.name), tmp / member.dest, archive, member.name)
        else:
            with tarfile.open(archive) as t:
                for member in bar:
                    _copy_member(lambda m=member: t.extractfile(m.name), tmp / member.dest, archive, member.name)
        bar.close()
        check(tmp)
        for folder in folders:
            final = root / folder
            final.parent.mkdir(parents=True, exist_ok=True)
            old = final.with_name(f"{UNPACK_PREFIX}old-{final.name}-{os.getpid()}")
            if final.exists():
                os.replace(final, old)
            os.replace(tmp / folder, final)
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _copy_member(opener, dest: Path, archive: Path, name: str) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with opener() as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as err:
        raise DownloadError(
            f"{archive}: member {name} is corrupt ({_first_line(err)}); delete the archive and run "
            "the command again (or add --force)"
        ) from None


def leaf_folder(name: str) -> tuple[str, str] | None:
    """(parent folder path, file name) of an archive member, or None for a member at the top."""
    path = PurePosixPath(name)
    return (str(path.parent), path.name) if len(path.parts) > 1 else None
