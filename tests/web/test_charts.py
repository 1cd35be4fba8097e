"""The operator's revenue chart: a plain, accessible SVG drawn on the server."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from seatwise.web.charts import revenue_chart_svg
from seatwise.web.metrics import MonthFigures, month_starts

SVG = "{http://www.w3.org/2000/svg}"


def months(mrr: list[int], churned: list[int] | None = None, currency: str = "EUR") -> list[MonthFigures]:
    firsts = month_starts(now=datetime(2026, 12, 5, tzinfo=UTC), months=len(mrr))
    churned = churned or [0] * len(mrr)
    return [
        MonthFigures(month_start=first, mrr={currency: value}, churned=lost, started=0)
        for first, value, lost in zip(firsts, mrr, churned, strict=True)
    ]


def chart(
    figures: list[MonthFigures], *, locale: str = "en", currency: str = "EUR", title: str = "Revenue"
) -> ET.Element:
    return ET.fromstring(revenue_chart_svg(months=figures, currency=currency, locale=locale, title=title))


def rects(svg: ET.Element, kind: str) -> list[ET.Element]:
    return [r for r in svg.iter(f"{SVG}rect") if r.get("class") == kind]


def month_labels(svg: ET.Element) -> list[str]:
    return [g.find(f"{SVG}text").text for g in svg.iter(f"{SVG}g") if g.get("class") == "month"]


def height(rect: ET.Element) -> float:
    return float(rect.get("height"))


def test_chart_is_an_accessible_svg_without_scripts_or_stylesheets():
    text = revenue_chart_svg(months=months([100, 200]), currency="EUR", locale="en", title="MRR & churn <2026>")
    svg = ET.fromstring(text)  # well-formed XML, the title's & and < escaped
    assert svg.tag == f"{SVG}svg"
    assert (svg.get("viewBox"), svg.get("role"), svg.get("aria-label")) == ("0 0 720 260", "img", "MRR & churn <2026>")
    assert svg.find(f"{SVG}title").text == "MRR & churn <2026>"
    assert "Dec 26: €2.00 monthly recurring revenue, 0 churned subscriptions" in svg.find(f"{SVG}desc").text
    assert "<script" not in text and "<style" not in text and "href" not in text and "onload" not in text


def test_one_mrr_bar_and_one_churn_bar_per_month_labelled_oldest_first():
    svg = chart(months([1000, 2000, 0, 500, 7000], churned=[0, 1, 0, 2, 0]))
    assert len(rects(svg, "mrr")) == len(rects(svg, "churn")) == 5
    assert month_labels(svg) == ["Aug 26", "Sept 26", "Oct 26", "Nov 26", "Dec 26"]  # en_GB says Sept
    xs = [float(r.get("x")) for r in rects(svg, "mrr")]
    assert xs == sorted(xs)


def test_bar_heights_are_proportional_to_mrr_and_to_churn_on_its_own_scale():
    svg = chart(months([12500, 25000, 0, 6250], churned=[1, 2, 0, 4]))
    jan, feb, mar, apr = map(height, rects(svg, "mrr"))
    assert feb > 0 and mar == 0
    assert abs(feb - 2 * jan) < 0.02 and abs(jan - 2 * apr) < 0.02  # coordinates are rounded to 0.01
    c1, c2, c0, c4 = map(height, rects(svg, "churn"))
    assert c0 == 0 and abs(c2 - 2 * c1) < 0.02 and abs(c4 - 2 * c2) < 0.02
    # every bar stands on the same baseline, inside the 260-high picture
    bottoms = {round(float(r.get("y")) + height(r), 2) for r in rects(svg, "mrr") + rects(svg, "churn")}
    assert len(bottoms) == 1 and 0 < bottoms.pop() < 260


def test_the_tallest_bar_fits_under_the_top_tick_which_is_formatted_money():
    svg = chart(months([12500, 3000]))
    ticks = [t.text for t in svg.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    # 12500 cents: steps of 5000 cents up to 15000
    assert ticks == ["€0.00", "€50.00", "€100.00", "€150.00"]
    tallest = max(map(height, rects(svg, "mrr")))
    top_tick_y = min(float(line.get("y1")) for line in svg.iter(f"{SVG}line"))
    baseline = max(float(line.get("y1")) for line in svg.iter(f"{SVG}line"))
    assert abs(tallest - (baseline - top_tick_y) * 12500 / 15000) < 0.02


def test_labels_and_money_are_dutch_in_nl():
    svg = chart(months([10000, 20000, 30000]), locale="nl")
    assert month_labels(svg) == ["okt 26", "nov 26", "dec 26"]
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "€\xa0100,00" in texts and "€100.00" not in texts  # Babel puts a no-break space after €


def test_an_all_zero_series_renders_flat_without_dividing_by_zero():
    svg = chart(months([0, 0, 0], churned=[0, 0, 0]))
    assert [height(r) for r in rects(svg, "mrr") + rects(svg, "churn")] == [0.0] * 6
    assert "€0.00" in [t.text for t in svg.iter(f"{SVG}text")]


def test_only_the_chosen_currency_is_drawn():
    figures = [
        MonthFigures(month_start=f.month_start, mrr={"EUR": 1000, "USD": 999999}, churned=0, started=0)
        for f in months([0, 0])
    ]
    usd = chart(figures, currency="USD")
    assert [t.text for t in usd.iter(f"{SVG}text") if t.get("text-anchor") == "end"][-1].startswith("US$")
    # a currency without figures draws an empty chart
    assert [height(r) for r in rects(chart(figures, currency="JPY"), "mrr")] == [0.0, 0.0]
