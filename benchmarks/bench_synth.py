"""SynthLLP speed (and, with --proxy, the difficulty calibration check).

    LINKPAPER_DATA=/path/to/data python benchmarks/bench_synth.py [--preset full] [--out DIR]
    LINKPAPER_DATA=/path/to/data python benchmarks/bench_synth.py --preset small --proxy

Speed: generating the preset in memory, then writing it in the VALOR layout (issue targets for
``full`` on one CPU core: < 60 s in memory, < 3 min to disk). Everything runs on one thread.

--proxy: the calibration proxy used to set SynthConfig's feature and teacher knobs before the
real VALOR++ existed. A VALOR++-like model small enough for a CPU: per-segment MLP heads for
audio (CLAP-like) and visual (CLIP + 3-D) trained with BCE on the *gated* pseudo labels, plus a
MIL video head (attention pooling over segments and modalities) trained with BCE on the weak
labels; inference gates segment predictions by predicted video labels (p >= 0.5), AV = A AND V,
exactly like VALOR's protocol. It prints segment-level A / V / AV / Type@AV on val, next to two
references computed with the same scorer: the GT-weak-label-full-length cheat (real LLP val:
77.07 / 58.65 / 52.07 / 62.60) and the gated teacher labels used directly as predictions.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import tempfile
import time

import numpy as np
import torch


def segment_scores(pred_a: np.ndarray, pred_v: np.ndarray, gt_a: np.ndarray, gt_v: np.ndarray) -> dict:
    """Segment-level A / V / AV / Type@AV (percent) with the official per-video rules (book/decisions.md#ref-metric)."""

    from linkpaper.evaluation.metrics import class_f_scores, video_scores

    def per_video(pred, gt):
        counts = (pred & gt).sum(1), (pred & ~gt).sum(1), (~pred & gt).sum(1)  # (N, C) each
        return video_scores(*class_f_scores(*counts))

    a = per_video(pred_a, gt_a).mean() * 100
    v = per_video(pred_v, gt_v).mean() * 100
    av = per_video(pred_a & pred_v, gt_a & gt_v).mean() * 100
    return {"A": a, "V": v, "AV": av, "Type": (a + v + av) / 3}


class ProxyModel(torch.nn.Module):
    """Per-segment MLP heads + MIL attention pooling to a video probability (VALOR++-like heads)."""

    def __init__(self, hidden: int = 256):
        super().__init__()
        self.audio = torch.nn.Sequential(torch.nn.Linear(768, hidden), torch.nn.ReLU())
        self.visual = torch.nn.Sequential(torch.nn.Linear(768 + 512, hidden), torch.nn.ReLU())
        self.frame = torch.nn.Linear(hidden, 25)
        self.frame_att = torch.nn.Linear(hidden, 25)
        self.av_att = torch.nn.Linear(hidden, 25)

    def forward(self, audio, visual, visual_3d):
        h = torch.stack([self.audio(audio), self.visual(torch.cat([visual, visual_3d], -1))], 2)  # (B,T,2,H)
        logits = self.frame(h)
        prob = torch.sigmoid(logits)
        frame_att = torch.softmax(self.frame_att(h), dim=1)
        av_att = torch.softmax(self.av_att(h), dim=2)
        video = (prob * frame_att * av_att).sum((1, 2)).clamp(1e-7, 1 - 1e-7)
        return logits, video


def run_proxy(data, epochs: int = 40, seed: int = 0) -> dict:
    torch.manual_seed(seed)
    model = ProxyModel()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-3)
    tr = data.train
    bce = torch.nn.functional.binary_cross_entropy
    bcel = torch.nn.functional.binary_cross_entropy_with_logits
    n = len(tr)
    gen = torch.Generator().manual_seed(seed)
    best = None
    for epoch in range(epochs):
        model.train()
        for idx in torch.randperm(n, generator=gen).split(64):
            logits, video = model(tr.audio[idx], tr.visual[idx], tr.visual_3d[idx])
            loss = (
                bce(video, tr.weak[idx])
                + bcel(logits[:, :, 0], tr.pseudo_audio[idx])
                + bcel(logits[:, :, 1], tr.pseudo_visual[idx])
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
        if (epoch + 1) % 5 == 0:
            scores = proxy_scores(model, data.val)
            if best is None or scores["Type"] > best[1]["Type"]:
                best = (epoch + 1, scores)
    return {"best_epoch": best[0], "val": best[1], "test": proxy_scores(model, data.test)}


@torch.no_grad()
def proxy_scores(model, split) -> dict:
    model.eval()
    logits, video = model(split.audio, split.visual, split.visual_3d)
    gate = (video >= 0.5)[:, None, :]
    pred = (torch.sigmoid(logits) >= 0.5) & gate[:, :, None, :]
    return segment_scores(pred[:, :, 0].numpy(), pred[:, :, 1].numpy(), split.gt_audio, split.gt_visual)


def references(split) -> dict:
    weak = (split.weak.numpy() > 0)[:, None, :].repeat(10, 1)
    return {
        "GT weak label, full length (cheat)": segment_scores(weak, weak, split.gt_audio, split.gt_visual),
        "gated teacher labels as predictions": segment_scores(
            split.pseudo_audio.numpy() > 0, split.pseudo_visual.numpy() > 0, split.gt_audio, split.gt_visual
        ),
    }


def main() -> None:
    from linkpaper.data.synth import format_teacher_quality, generate, teacher_quality, write_valor_layout

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="full")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="write here (default: a temporary folder, deleted after)")
    parser.add_argument("--no-write", action="store_true", help="skip the disk benchmark")
    parser.add_argument("--proxy", action="store_true", help="run the calibration proxy (CPU, a few minutes)")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument(
        "--valor",
        type=int,
        default=0,
        metavar="EPOCHS",
        help="also train the real VALOR++ (linkpaper.training.engine) for EPOCHS epochs and print its scores",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)

    start = time.perf_counter()
    result = generate(args.preset, args.seed)
    generate_s = time.perf_counter() - start
    sizes = result.data.source["sizes"]
    print(f"preset {args.preset} ({sizes['train']}/{sizes['val']}/{sizes['test']} videos), one thread")
    print(f"in memory: {generate_s:.1f} s (annotations {result.timings['annotations_s']:.1f} s)")
    if not args.no_write:
        with tempfile.TemporaryDirectory(prefix="synthllp-") as tmp:
            out = args.out or tmp
            summary = write_valor_layout(result.data, out, progress=False)
            print(f"to disk ({out}): {summary['seconds']:.1f} s, {summary['written']} files")
    if args.proxy:
        print(format_teacher_quality(teacher_quality(result.data)))
        for name, s in references(result.data.val).items():
            print(f"val {name:<40} A {s['A']:.2f} V {s['V']:.2f} AV {s['AV']:.2f} Type {s['Type']:.2f}")
        start = time.perf_counter()
        proxy = run_proxy(result.data, epochs=args.epochs, seed=args.seed)
        for split in ("val", "test"):
            s = proxy[split]
            print(
                f"{split} VALOR++-like proxy (best val epoch {proxy['best_epoch']})".ljust(44)
                + f" A {s['A']:.2f} V {s['V']:.2f} AV {s['AV']:.2f} Type {s['Type']:.2f}"
            )
        print(f"proxy training: {time.perf_counter() - start:.0f} s")
    if args.valor:
        run_valor(result.data, args.valor)


def run_valor(data, epochs: int) -> None:
    """A short VALOR++ run with the project's engine (recipe as VALOR's, fewer epochs)."""
    from linkpaper.training.engine import train
    from linkpaper.training.recipe import TrainConfig

    config = TrainConfig(model="valor++", epochs=epochs, warmup_epochs=max(1, epochs // 6), num_threads=1)
    start = time.perf_counter()
    record = train(config, data=data, progress=False)
    seg = {"best_val": record.best_val["segment"], "test": record.test["segment"]}
    for split, table in seg.items():
        print(
            f"{split} VALOR++ ({epochs} epochs, best epoch {record.best_epoch})".ljust(44)
            + f" A {table['audio']:.2f} V {table['visual']:.2f} AV {table['audio_visual']:.2f}"
            + f" Type {table['type']:.2f} Event {table['event']:.2f}"
        )
    print(f"VALOR++ training: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
