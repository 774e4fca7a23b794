"""CLIP / CLAP teacher extraction from raw clips (the optional ``linkpaper[extract]`` extra).

Reproduces VALOR's preprocessing (book/decisions.md#ref-teachers) and writes the released VALOR
layout that ``linkpaper.data.features`` reads::

    <out>/CLIP/features/<id11>.npy                      (10, 768) float32, L2-normalised
    <out>/CLIP/segment_logits/<id11>.npy                (10, 25) float32, 100 x cosine
    <out>/CLIP/segment_pseudo_labels_ungated/<id11>.npy (10, 25) int64, logit > threshold
    <out>/CLIP/segment_pseudo_labels/<id11>.npy         (10, 25) int64, ungated AND weak label
    <out>/CLAP/...                                      the same, audio; features (64, 768)
    <out>/text_tables/clip_text.npy (25, 768), clap_text.npy (25, 512), L2-normalised

Modules, lightest first: ``labels`` (threshold and gate, numpy only), ``frames`` (frame
indices and the image transform, PIL + torch), ``audio`` (loading and 10 chunks),
``clip_teacher`` (open_clip), ``clap_teacher`` (laion_clap), ``extract`` (the resumable
loop). Only the last three need the extra; importing this package imports none of them.
"""
