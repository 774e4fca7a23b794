"""The paper's tables for the book, set to fit a page (presentation only, like ``viz``).

:func:`paper_table` puts the rows the paper reports (``linkpaper.evaluation.paper``) beside the rows this
repository measured (``run_records.measured_rows``), one evaluation level per table: five
score columns, a short source tag per row (``R`` reported, ``M`` measured, ``M1``, ``M2`` ...
when the measured rows come from different data or seeds) and a legend that spells each tag
out, so no row is read without its data. Reported numbers keep the paper's one decimal;
measured ones are ``mean ± std`` over seeds, also with one decimal. The result is a pandas
``Styler`` with a fixed id (re-running a notebook gives the same HTML) and the CSS class
``paper-table`` (``_static/book.css`` right-aligns the numbers).

Any set of measured variants works (the eight of Table II, control variants such as
``+S/leap``, any number of seeds): rows without a reported counterpart come last.
"""

from __future__ import annotations

from linkpaper.errors import UserError

REPORTED_TAG = "R"
LEVELS = ("segment", "event")


def _cell(mean: float, std: float | None, n: int = 1, digits: int = 1) -> str:
    if std is None or n < 2:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _measured_tags(measured: list[dict]) -> dict[str, str]:
    """label -> tag: ``M`` when every measured row shares its label, else ``M1``, ``M2`` ..."""
    labels = list(dict.fromkeys(row["label"] for row in measured))
    if len(labels) == 1:
        return {labels[0]: "M"}
    return {label: f"M{i}" for i, label in enumerate(labels, 1)}


def paper_table_frame(
    reported: list[dict],
    measured: list[dict],
    level: str = "segment",
    names: dict | None = None,
    interleave: bool = True,
    digits: int = 1,
):
    """The table as a pandas DataFrame of strings, and its legend.

    Returns ``(frame, legend)``: ``frame`` has the row index (method, src) and the five
    columns of ``level`` ("segment" or "event"); ``legend`` maps each source tag to what it
    means (``"reported: LINK paper, Table I: LLP test set (reported)"``, ``"measured: mean ±
    std over seeds; SynthLLP small (synthetic), 6 epochs, seeds 87/88/89"``). With
    ``interleave`` each measured row follows the reported row of the same variant.
    """
    import pandas as pd

    from linkpaper.evaluation.metrics import COLUMN_TITLES, SCORE_COLUMNS
    from linkpaper.evaluation.paper import VARIANT_LABELS

    if level not in LEVELS:
        raise UserError(f"paper_table: level {level!r}; choose one of {', '.join(LEVELS)}")
    columns = [i for i, (lvl, _) in enumerate(SCORE_COLUMNS) if lvl == level]
    names = {**VARIANT_LABELS, **(names or {})}
    tags = _measured_tags(measured)
    by_model = {row["model"]: row for row in measured}
    placed: set[str] = set()
    index, cells = [], []

    def add_measured(row, method=None):
        placed.add(row["model"])
        index.append((method or names.get(row["model"], row["model"]), tags[row["label"]]))
        cells.append([_cell(row["mean"][c], row["std"][c], row.get("n", 1), digits) for c in columns])

    for row in reported:
        index.append((row["method"], REPORTED_TAG))
        cells.append([_cell(row["scores"][c], None) for c in columns])
        variant = row.get("variant")
        if interleave and variant in by_model and variant not in placed:
            add_measured(by_model[variant], row["method"])  # under the paper's name of the row
    for row in measured:
        if row["model"] not in placed:
            add_measured(row)
    frame = pd.DataFrame(
        cells,
        columns=[COLUMN_TITLES[SCORE_COLUMNS[c][1]] for c in columns],
        index=pd.MultiIndex.from_tuples(index, names=["method", "src"]),
    )
    legend = {}
    if reported:
        sources = " / ".join(dict.fromkeys(str(row.get("source") or row["data"]) for row in reported))
        legend[REPORTED_TAG] = f"reported: {sources}"
    for label, tag in tags.items():
        seeds = (
            "mean ± std over seeds"
            if any(row.get("n", 1) > 1 for row in measured if row["label"] == label)
            else "one seed"
        )
        legend[tag] = f"measured here: {seeds}; {label}"
    return frame, legend


def paper_table(
    reported: list[dict],
    measured: list[dict],
    level: str = "segment",
    title: str = "",
    names: dict | None = None,
    interleave: bool = True,
    digits: int = 1,
    table_id: str = "",
):
    """:func:`paper_table_frame` as a styled HTML table with its title and legend as caption.

    ``title`` e.g. ``"Table I"``; ``table_id`` fixes the HTML ids (default from title and
    level) so the output is the same at every run. Measured rows get the CSS class
    ``measured`` (shaded in the book). With no measured rows the table is the paper's alone:
    no source column, and the caption says where the numbers are reported.
    """
    import html

    import pandas as pd

    frame, legend = paper_table_frame(reported, measured, level, names, interleave, digits)
    heading = f"{title + ', ' if title else ''}{level} level: F-scores (%)"
    caption = f"<strong>{html.escape(heading)}</strong><br>" + "<br>".join(
        f"<strong>{tag}</strong> = {html.escape(text)}" for tag, text in legend.items()
    )
    classes = pd.DataFrame(
        [["measured" if tag != REPORTED_TAG else ""] * frame.shape[1] for _, tag in frame.index],
        index=frame.index,
        columns=frame.columns,
    )
    if not measured:  # the paper's rows alone: every row is reported, no tag column needed
        frame, classes = frame.droplevel("src"), classes.droplevel("src")
        caption = f"<strong>{html.escape(heading)}</strong><br>" + html.escape(
            legend[REPORTED_TAG][0].upper() + legend[REPORTED_TAG][1:]
        )
    uid = table_id or "-".join(filter(None, ("paper", title.replace(" ", "-"), level))).lower()
    return (
        frame.style.set_caption(caption)
        .set_table_attributes('class="paper-table"')
        .set_td_classes(classes)
        .set_uuid(uid)
    )


def measured_table_frame(measured: list[dict], level: str = "segment", names: dict | None = None, digits: int = 1):
    """The measured rows alone, with the columns of :func:`paper_table_frame` for ``level``.

    Row index (``method``: the paper's label of the variant, e.g. ``"+ T, S"``, or the
    registry name of a control; ``seeds``: the seeds averaged, e.g. ``"87/88/89"``);
    cells ``mean ± std`` over seeds (the mean alone for one seed). No reported row is ever
    placed here: the paper's numbers are another table (:func:`paper_table` with no measured
    rows), because the two are different data.
    """
    import pandas as pd

    from linkpaper.evaluation.metrics import COLUMN_TITLES, SCORE_COLUMNS
    from linkpaper.evaluation.paper import VARIANT_LABELS

    if level not in LEVELS:
        raise UserError(f"measured_table: level {level!r}; choose one of {', '.join(LEVELS)}")
    columns = [i for i, (lvl, _) in enumerate(SCORE_COLUMNS) if lvl == level]
    names = {**VARIANT_LABELS, **(names or {})}
    index = [(names.get(row["model"], row["model"]), "/".join(map(str, row["seeds"]))) for row in measured]
    cells = [[_cell(row["mean"][c], row["std"][c], row.get("n", 1), digits) for c in columns] for row in measured]
    return pd.DataFrame(
        cells,
        columns=[COLUMN_TITLES[SCORE_COLUMNS[c][1]] for c in columns],
        index=pd.MultiIndex.from_tuples(index, names=["method", "seeds"]),
    )


def measured_table(
    measured: list[dict],
    level: str = "segment",
    title: str = "",
    source: str = "",
    names: dict | None = None,
    digits: int = 1,
    table_id: str = "",
):
    """:func:`measured_table_frame` as a styled HTML table whose caption names the data.

    ``title`` e.g. ``"Table II, measured"``; ``source`` what the rows were measured on (e.g.
    ``"recipe grid on SynthLLP small (synthetic), 60 epochs"``); by default the distinct data
    labels of the rows. The caption says that cells are mean ± std over the seeds listed in
    each row and that the rows are not LLP results.
    """
    import html

    frame = measured_table_frame(measured, level, names, digits)
    data = source or " / ".join(dict.fromkeys(str(row.get("data", "?")) for row in measured))
    heading = f"{title + ', ' if title else ''}{level} level: F-scores (%), measured on {data}"
    legend = (
        "mean ± std over the seeds listed in each row (one seed: the value alone); "
        "measured here, not LLP results: compare them with each other, not with the "
        "paper's table"
    )
    caption = f"<strong>{html.escape(heading)}</strong><br>{html.escape(legend)}"
    uid = table_id or "-".join(filter(None, ("measured", title.replace(" ", "-").replace(",", ""), level))).lower()
    # "mean ± std" cells are wider than the paper's one number: tighter cells keep the
    # table inside the text column at 1280 px (checked by the browser test)
    compact = [{"selector": "th, td", "props": "padding: 0.15rem 0.35rem;"}]
    return (
        frame.style.set_caption(caption)
        .set_table_attributes('class="paper-table"')
        .set_table_styles(compact)
        .set_uuid(uid)
    )
