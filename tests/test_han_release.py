"""HAN's feature release (``--data han:DIR``): layout, the 8-frame average, teacher labels, training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from linkpaper.cli import main
from linkpaper.data.annotations import read_weak_labels, video_id
from linkpaper.data.features import FeatureError
from linkpaper.data.han_release import load_han_release
from linkpaper.data.layout import HAN_LAYOUT, SPLIT_CSV, SPLITS_DIR, VALOR_LAYOUT, feature_file
from linkpaper.data.sources import load_data
from linkpaper.models.han import HAN, HAN_RELEASE_INPUTS, HANConfig

SIZES = {"train": 6, "val": 4, "test": 4}


def fake_release(root, data_dir, teacher=False, seed=0):
    """A HAN-layout folder over the first videos of each LLP split (split lists under splits/)."""
    rng = np.random.default_rng(seed)
    (root / SPLITS_DIR).mkdir(parents=True)
    for split, csv in SPLIT_CSV.items():
        lines = (data_dir / "llp" / csv).read_text().splitlines()
        kept = lines[:1] + lines[1 : 1 + SIZES[split]]
        (root / SPLITS_DIR / csv).write_text("\n".join(kept) + "\n")
        weak = read_weak_labels(root / SPLITS_DIR / csv)
        for name, row in zip(weak.filenames, weak.labels):
            for folder, shape in HAN_LAYOUT.values():
                (root / folder).mkdir(parents=True, exist_ok=True)
                np.save(root / folder / feature_file(video_id(name)), rng.standard_normal(shape).astype(np.float32))
            if teacher:
                for stream in ("pseudo_audio", "pseudo_visual"):
                    (root / VALOR_LAYOUT[stream]).mkdir(parents=True, exist_ok=True)
                    labels = (rng.random((10, 25)) < 0.5) & (row[None, :] > 0)
                    np.save(root / VALOR_LAYOUT[stream] / feature_file(video_id(name)), labels.astype(np.int64))
    return root


def test_the_release_loads_with_the_frames_averaged(tmp_path, llp_data_dir):
    root = fake_release(tmp_path / "han", llp_data_dir)
    data = load_han_release(root, data_dir=llp_data_dir)
    assert len(data.train) == 6 and len(data.val) == 4 and data.val.gt_audio.shape == (4, 10, 25)
    assert data.train.audio.shape == (6, 10, 128) and data.train.visual.shape == (6, 10, 2048)
    assert data.train.visual_3d.shape == (6, 10, 512)
    frames = np.load(root / "feats/res152" / feature_file(video_id(data.train.filenames[0])))
    np.testing.assert_allclose(data.train.visual[0].numpy(), frames.reshape(10, 8, 2048).mean(axis=1), rtol=1e-6)
    assert torch.equal(data.train.pseudo_audio, data.train.weak[:, None, :].expand(-1, 10, -1))
    assert "weak labels at every segment" in data.source["segment_labels"]
    # averaging before fc_v is the released fc_v-then-average, exactly up to rounding
    torch.manual_seed(0)
    model = HAN(HANConfig(hidden_dim=16, ff_dim=16, **HAN_RELEASE_INPUTS)).eval()
    with torch.no_grad():
        raw = torch.from_numpy(
            np.stack([np.load(root / "feats/res152" / feature_file(video_id(n))) for n in data.train.filenames])
        )
        pooled = model(data.train.audio, data.train.visual, data.train.visual_3d)
        released = model(data.train.audio, raw, data.train.visual_3d)
    torch.testing.assert_close(pooled.frame_prob, released.frame_prob, rtol=1e-5, atol=1e-6)


def test_teacher_labels_are_read_when_present(tmp_path, llp_data_dir):
    root = fake_release(tmp_path / "han", llp_data_dir, teacher=True)
    data = load_data(f"han:{root}", data_dir=llp_data_dir)
    assert data.source["kind"] == "han" and "VALOR" in data.source["segment_labels"]
    assert not torch.equal(data.train.pseudo_audio, data.train.weak[:, None, :].expand(-1, 10, -1))
    assert "HAN's released features" in data.describe()


def test_bad_files_are_listed_in_one_error(tmp_path, llp_data_dir):
    root = fake_release(tmp_path / "han", llp_data_dir)
    first = read_weak_labels(root / SPLITS_DIR / SPLIT_CSV["train"]).filenames[0]
    (root / "feats/vggish" / feature_file(video_id(first))).unlink()
    np.save(root / "feats/res152" / feature_file(video_id(first)), np.zeros((80, 2048), dtype=np.float64))
    with pytest.raises(FeatureError) as err:
        load_han_release(root, data_dir=llp_data_dir)
    assert "missing" in str(err.value) and "wrong dtype" in str(err.value)
    with pytest.raises(FeatureError, match="not HAN's feature release"):
        load_han_release(tmp_path, data_dir=llp_data_dir)


def test_train_command_on_the_release(tmp_path, llp_data_dir, capsys):
    root = fake_release(tmp_path / "han", llp_data_dir)
    code = main(
        [
            "train",
            "--model",
            "han",
            "--data",
            f"han:{root}",
            "--data-dir",
            str(llp_data_dir),
            "--epochs",
            "1",
            "--threads",
            "1",
            "--quiet",
            "--out",
            str(tmp_path / "run"),
            "--model-override",
            "hidden_dim=16",
            "--model-override",
            "ff_dim=16",
        ]
    )
    assert code == 0, capsys.readouterr().err
    import json

    record = json.loads((tmp_path / "run" / "results.json").read_text())
    assert record["data"]["source"]["kind"] == "han" and record["parameters"] > 16 * 2048
