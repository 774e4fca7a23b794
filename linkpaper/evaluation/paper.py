"""The numbers the LINK paper reports: Table I (comparison) and Table II (ablations).

One source of truth for every reported number in the book (the paper's Tables I and II). All
are F-scores in percent on the **LLP test set** (1,200 videos), in ``metrics.SCORE_COLUMNS``
order: segment level Audio, Visual, Audio-visual, Type@AV, Event@AV, then event level the same
five. They are quoted, never measured here: every row built from them carries
``provenance = "reported"`` so a table can never mix them up with measured rows.

Table II names its variants by the paper's labels ("+ T, S"); ``ReportedRow.variant`` gives
the ``linkpaper.models`` registry name of the same variant ("+T+S"), so a measured grid row
and its reported counterpart can be matched by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from linkpaper.errors import UserError

REPORTED = "reported"
PAPER_DATA = "LLP test set (real)"
TABLE_SOURCES = {
    "I": "LINK paper, Table I: LLP test set (reported)",
    "II": "LINK paper, Table II: ablations on the LLP test set (reported)",
}


@dataclass(frozen=True)
class ReportedRow:
    """One row of a paper table.

    method: the label printed in the paper; venue: where the method was published ("" for LINK
    itself); scores: the ten F-scores (percent) in ``SCORE_COLUMNS`` order; variant: the
    registry name of the model (``linkpaper.models.list_models()``) for the rows this
    repository can train, else None.
    """

    method: str
    venue: str
    scores: tuple[float, ...]
    variant: str | None = None


def _row(method: str, venue: str, segment: str, event: str, variant: str | None = None) -> ReportedRow:
    scores = tuple(float(x) for x in (segment + " " + event).split())
    return ReportedRow(method, venue, scores, variant)


# Table I of the paper: segment level a v av type event | event level a v av type event
TABLE_I: tuple[ReportedRow, ...] = (
    _row("HAN", "ECCV'20", "60.1 52.9 48.9 54.0 55.4", "51.3 48.9 43.0 47.7 48.0"),
    _row("MM-Pyr", "MM'22", "60.9 54.4 50.0 55.1 57.6", "52.7 51.8 44.4 49.9 50.0"),
    _row("MGN", "NeurIPS'22", "60.8 55.4 50.4 55.5 57.2", "51.1 52.4 44.4 49.3 49.1"),
    _row("JoMoLD", "ECCV'22", "61.3 63.8 57.2 60.8 59.9", "53.9 59.9 49.6 54.5 52.5"),
    _row("CMPAE", "CVPR'23", "64.2 66.4 59.2 63.3 62.8", "56.6 63.7 51.8 57.4 55.7"),
    _row("DGSCT", "NeurIPS'23", "59.0 59.4 52.8 57.1 57.0", "49.2 56.1 46.1 50.5 49.1"),
    _row("VALOR++", "NeurIPS'23", "68.1 68.4 61.9 66.2 66.8", "61.2 64.7 55.5 60.4 59.0", "valor++"),
    _row("CM-PIE", "ICASSP'24", "61.7 55.2 50.1 55.7 56.8", "53.7 51.3 43.6 49.5 51.3"),
    _row("LEAP", "ECCV'24", "64.8 67.7 61.8 64.8 63.6", "59.2 64.9 56.5 60.2 57.4"),
    _row("CoLeaF+", "ECCV'24", "64.2 67.1 59.8 63.8 61.9", "57.1 64.8 52.8 58.2 55.5"),
    _row("LINK", "", "69.7 69.0 62.1 66.9 68.5", "63.4 64.9 55.7 61.3 60.8", "link"),
)

# Table II (T = TSAM with CMIM, S = S-LOSS, P = PLSIM), same column order.
TABLE_II: tuple[ReportedRow, ...] = (
    _row("VALOR++", "", "68.1 68.4 61.9 66.2 66.8", "61.2 64.7 55.5 60.4 59.0", "valor++"),
    _row("+ T", "", "68.8 68.7 61.7 66.4 67.4", "62.0 63.4 55.1 60.2 60.2", "+T"),
    _row("+ S", "", "68.4 68.3 62.0 66.2 67.6", "62.7 64.4 55.5 60.9 59.9", "+S"),
    _row("+ P", "", "69.0 68.2 61.3 66.2 68.1", "62.9 63.6 55.1 60.5 60.2", "+P"),
    _row("+ T, S", "", "69.5 68.8 62.0 66.8 68.0", "63.1 63.7 55.1 60.6 60.5", "+T+S"),
    _row("+ S, P", "", "69.3 68.6 61.7 66.7 68.1", "63.2 64.4 55.5 61.0 60.5", "+S+P"),
    _row("+ T, P", "", "69.3 68.6 62.1 66.7 68.4", "63.1 64.7 55.5 61.1 60.3", "+T+P"),
    _row("LINK (T, S, P)", "", "69.7 69.0 62.1 66.9 68.5", "63.4 64.9 55.7 61.3 60.8", "link"),
)

TABLES = {"I": TABLE_I, "II": TABLE_II}


def _table(table: str) -> tuple[ReportedRow, ...]:
    key = str(table).upper()
    if key not in TABLES:
        raise UserError(f"unknown paper table {table!r}; choose one of {', '.join(TABLES)}")
    return TABLES[key]


def reported_rows(table: str = "I") -> list[dict]:
    """The rows of paper Table ``table`` ("I" or "II") as dicts, each marked ``"reported"``.

    Keys: ``method``, ``venue``, ``variant`` (registry name or None), ``scores`` (list of ten
    floats, ``SCORE_COLUMNS`` order), ``provenance`` ("reported"), ``data`` (the LLP test set)
    and ``source`` (which table of the paper). Ready for ``pandas.DataFrame``.
    """
    source = TABLE_SOURCES[str(table).upper()] if str(table).upper() in TABLE_SOURCES else None
    return [
        {
            "method": row.method,
            "venue": row.venue,
            "variant": row.variant,
            "scores": list(row.scores),
            "provenance": REPORTED,
            "data": PAPER_DATA,
            "source": source,
        }
        for row in _table(table)
    ]


def reported_scores(variant: str, table: str = "II") -> list[float]:
    """The ten reported scores of a registry variant (e.g. ``"+T+S"``, ``"link"``) in ``table``.

    Raises UserError naming the variant when the table has no row for it.
    """
    for row in _table(table):
        if row.variant == variant:
            return list(row.scores)
    known = [row.variant for row in _table(table) if row.variant]
    raise UserError(f"paper Table {table} has no row for variant {variant!r}; it has {', '.join(known)}")


# Rows where the printed Type@AV is not the mean of the printed audio, visual and audio-visual
# scores up to rounding (|difference| > 0.1): MM-Pyr event level 49.9 vs 49.63 and "+ S, P"
# segment level 66.7 vs 66.53. Kept as printed; listed so that a test can tell them from a
# transcription error.
PRINTED_INCONSISTENCIES = (("I", "MM-Pyr", "event"), ("II", "+ S, P", "segment"))

# Registry name -> the paper's label of the variant (Table II), e.g. "+T+S" -> "+ T, S".
VARIANT_LABELS = {row.variant: row.method for row in TABLE_II}

# Table I's method labels -> the registry names of the methods this repository trains
# (``linkpaper.models``): the field's four and the two grid variants of Table I.
TABLE_I_METHODS = {
    "HAN": "han",
    "MM-Pyr": "mm-pyramid",
    "JoMoLD": "jomold",
    "VALOR++": "valor++",
    "LEAP": "leap",
    "LINK": "link",
}

# The input features each row of Table I was trained on, as the method's released code reads
# them (for HAN, MM-Pyramid, JoMoLD and LEAP the repositories book/decisions.md#method-field
# names; for MGN, CMPAE and CoLeaF+ their public repositories' loaders; DG-SCT prompts frozen
# image and audio backbones on the raw clips): the rows are not a comparison on equal
# features. LINK has no released code; the paper follows VALOR++'s setting.
FEATURES_LLP = "VGGish, ResNet-152, R(2+1)D (LLP's release)"
FEATURES_CLIP_CLAP = "CLAP, CLIP, R(2+1)D (VALOR++'s)"
TABLE_I_FEATURES = {
    "HAN": FEATURES_LLP,
    "MM-Pyr": FEATURES_LLP,
    "MGN": FEATURES_LLP,
    "JoMoLD": FEATURES_LLP,
    "CMPAE": FEATURES_LLP,
    "DGSCT": "raw frames and audio (frozen Swin-V2 and HTS-AT with prompts)",
    "VALOR++": FEATURES_CLIP_CLAP,
    "CM-PIE": "not checked (no released code found)",
    "LEAP": FEATURES_LLP + "; trained on CLAP / CLIP pseudo labels",
    "CoLeaF+": FEATURES_LLP,
    "LINK": FEATURES_CLIP_CLAP,
}


def table_i_features(method: str) -> str:
    """The input features the row ``method`` (a Table I label, e.g. ``"MM-Pyr"``) was trained on.

    Raises UserError naming the label when Table I has no such row."""
    if method not in TABLE_I_FEATURES:
        raise UserError(f"paper Table I has no row {method!r}; it has {', '.join(TABLE_I_FEATURES)}")
    return TABLE_I_FEATURES[method]
