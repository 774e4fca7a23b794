"""Frames -> the 10 CLIP input images of a clip (book/decisions.md#ref-teachers; PIL + torch, no torchvision).

VALOR extracts JPEG frames at 8 fps with ffmpeg (``000001.jpg``, ...; about 80 per 10-s clip;
:func:`ffmpeg_frames_command` / :func:`extract_frames` do the same) and reads ``*.jpg`` files
only (:func:`is_frame_file`: a stray ``.png`` or ``.jpeg`` would shift the sampled indices). It keeps 10
of them at indices ``round(linspace(0, n - 1, 10))`` of the sorted list (not segment centres).
Each frame is PIL RGB -> ToTensor -> Resize to exactly (224, 224) -- the whole frame squashed,
no centre crop, bilinear without antialiasing as torchvision 0.13 does on tensors -> Normalize
with CLIP's mean and std.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from linkpaper.classes import NUM_SEGMENTS
from linkpaper.errors import UserError

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGE_SIZE = 224
FRAME_SUFFIX = ".jpg"
FRAME_FPS = 8


class FrameError(UserError):
    """A frame folder that cannot be used; the message names it."""


def frame_indices(num_frames: int, count: int = NUM_SEGMENTS) -> np.ndarray:
    """(count,) int64 indices ``round(linspace(0, n - 1, count))``; n = 80 -> 0, 9, 18, 26, ..., 79.

    numpy rounds halves to even, as the reference (``np.linspace(...).round()``) does.
    """
    if num_frames < 1:
        raise ValueError("a clip needs at least one frame")
    return np.round(np.linspace(0, num_frames - 1, count)).astype(np.int64)


def is_frame_file(path: Path) -> bool:
    """Whether ``path`` is a frame the reference reads: a ``*.jpg`` file (exact suffix, as its glob)."""
    return path.name.endswith(FRAME_SUFFIX) and path.is_file()


def list_frames(folder: str | os.PathLike) -> list[Path]:
    """The frame files of one clip folder, sorted by name (``000001.jpg`` < ``000002.jpg``)."""
    folder = Path(folder)
    frames = sorted(p for p in folder.iterdir() if is_frame_file(p))
    if not frames:
        raise FrameError(
            f"{folder}: no frame images (*.jpg); expected 000001.jpg, ... at 8 fps "
            "(make them with: " + " ".join(ffmpeg_frames_command("VIDEO.mp4", folder)) + ")"
        )
    return frames


def ffmpeg_frames_command(video: str | os.PathLike, out_dir: str | os.PathLike, fps: int = FRAME_FPS) -> list[str]:
    """The ffmpeg call that turns a clip into ``out_dir/000001.jpg, ...`` at ``fps`` frames per
    second, the reference's frame extraction (JPEG, 6-digit names from 1)."""
    return [
        "ffmpeg",
        "-nostdin",
        "-loglevel",
        "error",
        "-i",
        str(video),
        "-r",
        str(fps),
        "-y",
        str(Path(out_dir) / "%06d.jpg"),
    ]


def extract_frames(video: str | os.PathLike, out_dir: str | os.PathLike, fps: int = FRAME_FPS) -> list[Path]:
    """Run :func:`ffmpeg_frames_command` (needs ``ffmpeg`` on PATH); return the frames written."""
    import shutil
    import subprocess

    if shutil.which("ffmpeg") is None:
        raise FrameError("ffmpeg is not on PATH; install it (e.g. apt-get install ffmpeg) to extract frames")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(ffmpeg_frames_command(video, out, fps), capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no message"])[-1][:200]
        raise FrameError(f"{video}: ffmpeg could not extract frames ({detail})")
    return list_frames(out)


def to_clip_tensor(image, size: int = IMAGE_SIZE) -> torch.Tensor:
    """PIL image -> (3, size, size) float32: ToTensor, squash-resize (bilinear, no antialias), normalise."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0  # (H, W, 3) in [0, 1]
    tensor = torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0)
    tensor = F.interpolate(tensor, size=(size, size), mode="bilinear", align_corners=False, antialias=False)
    mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    return ((tensor - mean) / std)[0]


def load_clip_frames(folder: str | os.PathLike, size: int = IMAGE_SIZE) -> tuple[torch.Tensor, np.ndarray]:
    """A clip's frame folder -> ((10, 3, size, size) float32 images, (10,) frame indices used)."""
    from PIL import Image

    frames = list_frames(folder)
    indices = frame_indices(len(frames))
    images = []
    for i in indices:
        try:
            with Image.open(frames[i]) as image:
                images.append(to_clip_tensor(image, size))
        except OSError as err:
            raise FrameError(f"{frames[i]}: cannot read the image ({err})") from err
    return torch.stack(images), indices
