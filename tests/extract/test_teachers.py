"""The CLIP and CLAP teachers with small random-weight models of the real architectures, and
the clear errors when the published weights are missing. Needs the [extract] extra."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import TINY_CLIP, CharTokenizer, patch_laion_clap

pytestmark = pytest.mark.extract


def _unit_rows(array, atol=1e-5):
    return np.allclose(np.linalg.norm(array, axis=-1), 1.0, atol=atol)


# ----------------------------------------------------------------------------------- CLIP


def test_clip_teacher_shapes_and_normalisation(tiny_clip_teacher):
    clips = [torch.randn(10, 3, 32, 32), torch.randn(10, 3, 32, 32)]
    features, segment_emb = tiny_clip_teacher.encode_clips(clips)
    assert features.shape == (2, 10, 32) and features.dtype == np.float32
    assert _unit_rows(features) and np.array_equal(features, segment_emb)
    # batching clips together changes nothing
    alone, _ = tiny_clip_teacher.encode_clips(clips[1:])
    assert np.allclose(alone[0], features[1], atol=1e-5)
    table = tiny_clip_teacher.text_table()
    assert table.shape == (25, 32) and _unit_rows(table)
    assert len({row.tobytes() for row in table}) == 25  # 25 different prompts
    assert tiny_clip_teacher.image_size == 32
    assert tiny_clip_teacher.logit_scale == pytest.approx(1 / 0.07, rel=1e-5)  # open_clip's init


def test_load_clip_teacher_from_a_local_checkpoint(tmp_path, tiny_clip_model, tiny_clip_teacher):
    from linkpaper.teachers.clip_teacher import load_clip_teacher

    path = tmp_path / "tiny.pt"
    torch.save(tiny_clip_model.state_dict(), path)
    loaded = load_clip_teacher(path, model_name=TINY_CLIP)
    images = [torch.randn(10, 3, 32, 32)]
    assert loaded.source == str(path)
    # force_quick_gelu=True (the OpenAI weights need it) changes the activation, not the weights
    assert loaded.model.state_dict().keys() == tiny_clip_model.state_dict().keys()
    assert all(
        torch.equal(a, b) for a, b in zip(loaded.model.state_dict().values(), tiny_clip_model.state_dict().values())
    )
    assert loaded.encode_clips(images)[0].shape == (1, 10, 32)


def test_missing_clip_weights_give_an_actionable_error(tmp_path, monkeypatch):
    pytest.importorskip("open_clip")
    from linkpaper.teachers.clip_teacher import MissingWeightsError, load_clip_teacher

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(MissingWeightsError) as info:
        load_clip_teacher()
    message = str(info.value)
    assert "CLIP ViT-L/14 (OpenAI)" in message and "--clip-checkpoint PATH" in message
    assert "timm/vit_large_patch14_clip_224.openai" in message and "--allow-download" in message
    with pytest.raises(MissingWeightsError, match=r"--clip-checkpoint .*nowhere.pt: no such file"):
        load_clip_teacher(tmp_path / "nowhere.pt")


# ----------------------------------------------------------------------------------- CLAP


def test_missing_clap_checkpoint_is_refused(tmp_path, monkeypatch):
    pytest.importorskip("laion_clap")
    from linkpaper.teachers.clap_teacher import MissingWeightsError, load_clap_teacher

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(MissingWeightsError) as info:
        load_clap_teacher(tmp_path / "630k.pt")
    message = str(info.value)
    assert "630k.pt: no such file" in message and "630k-fusion-best.pt" in message
    assert "--clap-checkpoint PATH" in message and "roberta-base" in message
    # with a text encoder that builds, no checkpoint and no download: still no random weights
    patch_laion_clap(monkeypatch, tokenizer=type("Big", (CharTokenizer,), {"vocab_size": 50265}))
    with pytest.raises(MissingWeightsError, match=r"no --clap-checkpoint and no .*630k-fusion-best.pt"):
        load_clap_teacher(None)


def test_stub_roberta_tokenizer_is_refused(tmp_path, monkeypatch):
    """transformers silently returns a ~5-token tokenizer offline; that must not pass for roberta-base."""
    pytest.importorskip("laion_clap")
    from linkpaper.teachers.clap_teacher import MissingWeightsError, load_clap_teacher

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    patch_laion_clap(monkeypatch, tokenizer=type("Stub", (CharTokenizer,), {"vocab_size": 5}))
    checkpoint = tmp_path / "630k-fusion-best.pt"
    checkpoint.write_bytes(b"not read")
    with pytest.raises(MissingWeightsError, match=r"roberta-base tokenizer is not available \(got a 5-token stub\)"):
        load_clap_teacher(checkpoint)


def test_unreachable_roberta_is_an_actionable_error(tmp_path, monkeypatch):
    pytest.importorskip("laion_clap")
    import importlib

    from linkpaper.teachers.clap_teacher import MissingWeightsError, load_clap_teacher

    clap_model = importlib.import_module("clap_module.model")

    class Offline:
        @staticmethod
        def from_pretrained(*args, **kwargs):
            raise OSError("We couldn't connect to 'https://huggingface.co' to load the files")

    monkeypatch.setattr(clap_model, "RobertaModel", Offline)
    checkpoint = tmp_path / "630k-fusion-best.pt"
    checkpoint.write_bytes(b"not read")
    with pytest.raises(MissingWeightsError) as info:
        load_clap_teacher(checkpoint)
    assert "roberta-base text encoder is not available (OSError: We couldn't connect" in str(info.value)
    assert "--allow-download" in str(info.value)


def test_the_extraction_environment_runs_the_reference_laion_clap():
    """scripts/setup_extract_env.sh installs exactly the laion_clap release VALOR's extraction used."""
    from importlib.metadata import version

    pytest.importorskip("laion_clap")
    assert version("laion_clap") == "1.1.4", "build the environment with scripts/setup_extract_env.sh"
