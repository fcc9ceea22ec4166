"""The dashboard's chart: an SVG document a browser shows as it is, with nothing fetched from anywhere."""

from __future__ import annotations

from xml.etree import ElementTree

from engine.read.chart import stacked_bars

NS = "{http://www.w3.org/2000/svg}"


def test_bars_stack_to_scale_and_labels_are_escaped() -> None:
    svg = stacked_bars("<Week> & more", ["Mon", "Tue <b>"], {"email": [4, 0], "sms": [6, 10]})

    root = ElementTree.fromstring(svg)  # well-formed: the labels could not break out
    assert root.findtext(f"{NS}title") == "<Week> & more"
    bars = {
        r.findtext(f"{NS}title"): float(r.get("height", "0"))
        for r in root.iter(f"{NS}rect")
        if r.find(f"{NS}title") is not None
    }
    assert set(bars) == {"Mon email: 4", "Mon sms: 6", "Tue <b> sms: 10"}
    assert bars["Mon email: 4"] + bars["Mon sms: 6"] == bars["Tue <b> sms: 10"]  # both columns reach the top
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")


def test_an_empty_week_draws_axes_and_no_bars() -> None:
    root = ElementTree.fromstring(stacked_bars("Nothing", ["Mon"], {"email": [0]}))
    assert [r for r in root.iter(f"{NS}rect") if r.find(f"{NS}title") is not None] == []
