"""The book's presentation helpers: the paper tables (linkpaper.chapters.tables), figure descriptions
(alt text and caption, linkpaper.chapters.viz.describe) and the build-time extension (linkpaper.chapters.bookext)."""

from __future__ import annotations

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

from linkpaper.chapters import bookext, tables, viz
from linkpaper.evaluation import paper


def _measured(model, label="SynthLLP small (synthetic), 6 epochs, seeds 87/88/89", n=3, base=60.0):
    return {
        "model": model,
        "label": label,
        "n": n,
        "mean": [base + i for i in range(10)],
        "std": [0.25] * 10,
        "seeds": [87, 88, 89][:n],
    }


def test_paper_table_splits_levels_and_tags_sources():
    measured = [_measured("valor++"), _measured("link"), _measured("+S/leap")]
    frame, legend = tables.paper_table_frame(paper.reported_rows("II"), measured, "segment")
    assert list(frame.columns) == ["Audio", "Visual", "Audio-visual", "Type@AV", "Event@AV"]
    assert frame.index.names == ["method", "src"]
    # reported rows keep the paper's one decimal, measured ones are mean ± std
    assert frame.loc[("VALOR++", "R")].tolist() == ["68.1", "68.4", "61.9", "66.2", "66.8"]
    assert frame.loc[("VALOR++", "M")].tolist()[0] == "60.0 ± 0.2"  # 0.25 rounds half to even
    # the measured row follows its reported row; a control without one comes last
    index = list(frame.index)
    assert index[index.index(("VALOR++", "R")) + 1] == ("VALOR++", "M")
    assert index[-1] == ("+S/leap", "M")
    assert set(legend) == {"R", "M"} and "LLP test set" in legend["R"] and "SynthLLP" in legend["M"]
    event, _ = tables.paper_table_frame(paper.reported_rows("II"), measured, "event")
    assert event.loc[("VALOR++", "R")].tolist() == ["61.2", "64.7", "55.5", "60.4", "59.0"]
    assert event.loc[("VALOR++", "M")].tolist()[0] == "65.0 ± 0.2"  # column 5: event-level audio


def test_paper_table_numbers_distinct_data_and_single_seeds():
    measured = [_measured("valor++"), _measured("link", label="LLP (real features), 60 epochs, seeds 87", n=1)]
    frame, legend = tables.paper_table_frame(paper.reported_rows("I"), measured, "segment")
    assert ("VALOR++", "M1") in frame.index and ("LINK", "M2") in frame.index
    assert frame.loc[("LINK", "M2")].tolist()[0] == "60.0"  # one seed: no ± 0.0
    assert "one seed" in legend["M2"] and "mean ± std" in legend["M1"]
    with pytest.raises(Exception, match="level"):
        tables.paper_table_frame([], measured, "frame")


def test_paper_table_html_is_stable_and_captioned():
    measured = [_measured("valor++")]
    first = tables.paper_table(paper.reported_rows("I"), measured, "event", title="Table I").to_html()
    second = tables.paper_table(paper.reported_rows("I"), measured, "event", title="Table I").to_html()
    assert first == second  # fixed ids: re-executing a notebook does not change the output
    assert 'class="paper-table"' in first and "<caption>" in first
    assert "Table I, event level" in first and "<strong>R</strong>" in first
    assert first.count('class="data row') and "measured" in first


def test_figures_carry_alt_text_and_caption():
    import matplotlib.pyplot as plt

    fig = viz.timeline_figure(
        {"GT audio": np.eye(10, 25, dtype=bool)}, source="hand-made (illustrative)", title="Example"
    )
    description = viz.figure_description(fig)
    assert description["caption"] == "Example. Data: hand-made (illustrative)."
    assert description["alt"].startswith("Segment timelines of one video")
    assert description["alt"].endswith("Data: hand-made (illustrative).")
    # a figure made without a helper still gets a description from its title
    other, ax = plt.subplots()
    other.suptitle(viz.titled("Learning rate", "the schedule, no data"))
    assert viz.figure_description(other)["caption"] == "Learning rate. Data: the schedule, no data."
    plt.close("all")


def test_book_style_uses_the_colour_blind_palette():
    import matplotlib as mpl

    viz.book_style()
    cycle = [mpl.colors.to_hex(c) for c in mpl.rcParams["axes.prop_cycle"].by_key()["color"]]
    assert cycle[:4] == [c.lower() for c in viz.PALETTE_HEX[:4]]
    assert viz.MODALITY_COLORS["audio"] == viz.PALETTE_HEX[0]


def test_docstring_bars_are_escaped_outside_literals():
    assert bookext.escape_bars("r = |A ∩ V| / |A ∪ V|") == r"r = \|A ∩ V\| / \|A ∪ V\|"
    assert bookext.escape_bars("``a | b`` and |x|") == r"``a | b`` and \|x\|"


def test_figure_renderer_turns_metadata_into_alt_and_caption():
    pytest.importorskip("myst_nb")
    from docutils import nodes
    from myst_nb.core.render import MimeData

    class FakeRenderer:
        def render_image(self, data):
            return [nodes.image(uri="x.png")]

    data = MimeData("image/png", "", output_metadata={"image/png": {"alt": "A plot. Data: d.", "caption": "C."}})
    (figure,) = bookext.FigureRenderer.handle_mime(FakeRenderer(), data, False)
    assert isinstance(figure, nodes.figure)
    assert figure[0]["alt"] == "A plot. Data: d." and figure[1].astext() == "C."
    plain = MimeData("image/png", "", output_metadata={})
    assert bookext.FigureRenderer.handle_mime(FakeRenderer(), plain, False) is None


def test_measured_table_holds_measured_rows_only():
    measured = [_measured("valor++"), _measured("link", n=1), _measured("+S/leap", n=2)]
    frame = tables.measured_table_frame(measured, "segment")
    assert list(frame.columns) == ["Audio", "Visual", "Audio-visual", "Type@AV", "Event@AV"]
    assert list(frame.index) == [("VALOR++", "87/88/89"), ("LINK (T, S, P)", "87"), ("+S/leap", "87/88")]
    assert frame.iloc[0, 0] == "60.0 ± 0.2" and frame.iloc[1, 0] == "60.0"  # one seed: no ±
    html = tables.measured_table(
        measured, "event", title="Table II, measured", source="SynthLLP small (synthetic)"
    ).to_html()
    assert (
        html
        == tables.measured_table(
            measured, "event", title="Table II, measured", source="SynthLLP small (synthetic)"
        ).to_html()
    )
    assert "Table II, measured, event level: F-scores (%), measured on SynthLLP small (synthetic)" in html
    assert "not LLP results" in html and "reported" not in html.split("</caption>")[1]
    with pytest.raises(Exception, match="level"):
        tables.measured_table_frame(measured, "frame")


def test_paper_table_of_reported_rows_alone_has_no_source_column():
    html = tables.paper_table(paper.reported_rows("II"), [], "segment", title="Table II (reported)").to_html()
    assert ">R<" not in html and "src" not in html
    assert "Reported: LINK paper, Table II: ablations on the LLP test set (reported)" in html
