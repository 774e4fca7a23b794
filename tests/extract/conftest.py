"""Fixtures for the extraction tests: generated clips and small random-weight teachers.

TEST-ONLY WORKAROUNDS. No published CLIP/CLAP weights can be
had offline, so these tests build models of the same architecture family with random weights:

* CLIP: ``open_clip.add_model_config`` registers a tiny ViT config (``linkpaper-tiny-vit``).
* CLAP: laion_clap's fusion ``CLAP_Module`` (the real HTS-AT-tiny audio tower) with its
  RoBERTa text branch replaced: ``RobertaModel.from_pretrained('roberta-base')`` -> a 1-layer
  random RoBERTa of width 768, and ``RobertaTokenizer.from_pretrained`` -> a character-level
  stand-in. Production code never does this (``load_clap_teacher`` refuses stub tokenizers).

Every test here is skipped unless the ``[extract]`` extra is installed (``.venv-extract``).
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before laion_clap is imported (its import hits the hub)

import numpy as np
import pytest
import torch

TINY_CLIP = "linkpaper-tiny-vit"
TINY_CLIP_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def write_frames(folder, count: int, size=(40, 30), seed: int = 0):
    """``count`` uniform JPEG frames 000001.jpg ... whose colour encodes their index (red = 3 * i)."""
    from PIL import Image

    folder.mkdir(parents=True)
    green = 40 + 100 * seed % 200
    for i in range(count):
        pixels = np.empty((size[1], size[0], 3), np.uint8)
        pixels[...] = ((3 * i) % 256, green, 90)
        Image.fromarray(pixels).save(folder / f"{i + 1:06d}.jpg", quality=95)
    return folder


def write_wave(path, seconds: float = 10.0, rate: int = 48_000, freq: float = 440.0, seed: int = 0):
    """A sine plus noise, written as 16-bit WAV with soundfile; returns the float waveform."""
    import soundfile

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    wave = (0.3 * np.sin(2 * np.pi * freq * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, wave, rate, subtype="PCM_16")
    return wave


@pytest.fixture(scope="session")
def tiny_clip_model(tmp_path_factory):
    open_clip = pytest.importorskip("open_clip")
    config_dir = tmp_path_factory.mktemp("open_clip_configs")
    (config_dir / f"{TINY_CLIP}.json").write_text(json.dumps(TINY_CLIP_CONFIG))
    open_clip.add_model_config(config_dir)
    torch.manual_seed(0)
    return open_clip.create_model(TINY_CLIP, pretrained=None)


@pytest.fixture
def tiny_clip_teacher(tiny_clip_model):
    import open_clip

    from linkpaper.teachers.clip_teacher import CLIPTeacher

    return CLIPTeacher(tiny_clip_model, open_clip.get_tokenizer(TINY_CLIP), source="random (test)")


class CharTokenizer:
    """Stand-in for RobertaTokenizer: one id per character (bos 0, pad 1, eos 2). TEST ONLY."""

    vocab_size = 300

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        return cls()

    def __len__(self):
        return self.vocab_size

    def __call__(self, texts, padding="max_length", truncation=True, max_length=77, return_tensors="pt"):
        texts = [texts] if isinstance(texts, str) else list(texts)
        ids = torch.ones(len(texts), max_length, dtype=torch.long)
        mask = torch.zeros(len(texts), max_length, dtype=torch.long)
        for row, text in enumerate(texts):
            tokens = [0] + [3 + ord(ch) % 250 for ch in text[: max_length - 2]] + [2]
            ids[row, : len(tokens)] = torch.tensor(tokens)
            mask[row, : len(tokens)] = 1
        return {"input_ids": ids, "attention_mask": mask}


def _tiny_roberta(*args, **kwargs):
    from transformers import RobertaConfig, RobertaModel

    config = RobertaConfig(
        vocab_size=CharTokenizer.vocab_size,
        hidden_size=768,
        num_hidden_layers=1,
        num_attention_heads=12,
        intermediate_size=256,
        max_position_embeddings=80,
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    return RobertaModel(config)


def patch_laion_clap(mp: pytest.MonkeyPatch, tokenizer=None) -> None:
    """Make laion_clap build offline: tiny random RoBERTa, character tokenizer. TEST ONLY.

    laion_clap appends its own folder to sys.path and imports ``clap_module`` as a top-level
    package, so the module to patch is ``clap_module.model``, not ``laion_clap.clap_module.model``.
    """
    import importlib

    pytest.importorskip("laion_clap")
    clap_model = importlib.import_module("clap_module.model")
    clap_hook = importlib.import_module("laion_clap.hook")

    class TinyRoberta:
        from_pretrained = staticmethod(_tiny_roberta)

    mp.setattr(clap_model, "RobertaModel", TinyRoberta)
    mp.setattr(clap_hook, "RobertaTokenizer", tokenizer or CharTokenizer)


@pytest.fixture(scope="session")
def random_clap_module():
    """The fusion HTS-AT-tiny CLAP_Module, random weights (built once per session). TEST ONLY."""
    pytest.importorskip("laion_clap")
    import laion_clap

    mp = pytest.MonkeyPatch()
    patch_laion_clap(mp)
    try:
        torch.manual_seed(0)
        module = laion_clap.CLAP_Module(enable_fusion=True, amodel="HTSAT-tiny", device="cpu")
    finally:
        mp.undo()
    return module.eval()
