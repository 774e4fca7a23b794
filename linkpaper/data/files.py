"""Where the public data files live and where they are on disk (reading them: ``annotations``;
fetching and verifying them: ``download``).

The data directory mirrors the project's `shared/data` layout::

    <data dir>/llp/AVVP_train.csv ...          the six LLP annotation CSVs (TAB-separated)
    <data dir>/leap/llp_label_glove_embeddings.pt   the 25 x 300 LEAP GloVe class table

It is chosen, in order, by an explicit ``data_dir`` argument (``--data-dir`` on the command
line), the ``LINKPAPER_DATA`` environment variable, or ``~/.cache/linkpaper/data``.
None of these files is committed to the project: ``python -m linkpaper download annotations``
fetches them from their pinned GitHub commits and verifies their sha256.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from linkpaper.errors import UserError

DATA_ENV_VAR = "LINKPAPER_DATA"
DEFAULT_DATA_DIR = Path("~/.cache/linkpaper/data")

_AVVP = "https://raw.githubusercontent.com/YapengTian/AVVP-ECCV20/fde56118f2c2e7c19188dfefa2569a37b70054fe/data/"
_LEAP = "https://raw.githubusercontent.com/jasongief/LEAP/fd4a8f5f79407daa2b0e94e79d31d51204e95272/glove/6B/300d/"


@dataclass(frozen=True)
class PublicFile:
    """One public file: its place under the data directory, its URL and its sha256."""

    relpath: str
    url: str
    sha256: str
    size: int


ANNOTATION_FILES: dict[str, PublicFile] = {
    "train": PublicFile(
        "llp/AVVP_train.csv", _AVVP + "AVVP_train.csv",
        "bbeb83e8af46a85075216b213d3464f92dd4ab71468c852ae454b82cc745c0a4", 341164),
    "val": PublicFile(
        "llp/AVVP_val_pd.csv", _AVVP + "AVVP_val_pd.csv",
        "1811813b54c5f43c3be0a97bd0971cfb8a93818ca7b3ab96cdc7f4ac37ef37a6", 23349),
    "test": PublicFile(
        "llp/AVVP_test_pd.csv", _AVVP + "AVVP_test_pd.csv",
        "3f7a2b040e3b67c15d08efef25002bf8c5b2320f11049eb99ae0eb2d62f8eb9b", 43014),
    "full": PublicFile(
        "llp/AVVP_dataset_full.csv", _AVVP + "AVVP_dataset_full.csv",
        "89f112ffc602279c87cc2b2040c4cd42eaf163a9d7e61cf4e74250a343d21e56", 407483),
    "eval_audio": PublicFile(
        "llp/AVVP_eval_audio.csv", _AVVP + "AVVP_eval_audio.csv",
        "d5435664668bec6e7eafb39059d2f424ed2682f6b55395262fc3cb691b7d0778", 134355),
    "eval_visual": PublicFile(
        "llp/AVVP_eval_visual.csv", _AVVP + "AVVP_eval_visual.csv",
        "e2274af694f3f27e38b840e0cd91a9d8d9ac85280f193e90828d26b22db69abe", 83874),
    "glove": PublicFile(
        "leap/llp_label_glove_embeddings.pt", _LEAP + "llp_label_glove_embeddings.pt",
        "7e936f2e6cbbc0288c9d16c2d7e7caa0b0e11c248f3f84fec7893b61f5b74eba", 35738),
}  # fmt: skip
"""Every file ``python -m linkpaper download annotations`` fetches, keyed by a short name."""


class MissingDataError(UserError, FileNotFoundError):
    """A data file the user asked for is not on disk; the message says how to get it."""


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The data directory: ``data_dir``, else ``$LINKPAPER_DATA``, else ``~/.cache/linkpaper/data``."""
    if data_dir is None:
        data_dir = os.environ.get(DATA_ENV_VAR) or DEFAULT_DATA_DIR
    return Path(data_dir).expanduser().resolve()


def fetch_hint(data_dir: Path) -> str:
    return (
        f"Fetch it with: python -m linkpaper download annotations --data-dir {data_dir}\n"
        f"(or point {DATA_ENV_VAR} / --data-dir at a folder that already holds llp/ and leap/)"
    )


def annotation_path(key: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Path of the public file ``key`` (see ``ANNOTATION_FILES``); raise if it is missing.

    Raises ``MissingDataError`` with one message naming the file and the command that fetches it.
    """
    if key not in ANNOTATION_FILES:
        raise KeyError(f"unknown data file {key!r}; known: {', '.join(ANNOTATION_FILES)}")
    root = resolve_data_dir(data_dir)
    path = root / ANNOTATION_FILES[key].relpath
    if not path.is_file():
        raise MissingDataError(f"{path} is missing.\n{fetch_hint(root)}")
    return path
