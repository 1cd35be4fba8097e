"""Charts drawn on the server as plain SVG: no JavaScript, no stylesheet, readable by screen readers."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from babel.dates import format_date

from seatwise.core.money import Money
from seatwise.i18n import _BABEL_LOCALE, format_money, gettext
from seatwise.web.metrics import MonthFigures

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 90, 50, 34, 30  # room for money ticks, churn ticks, legend, month labels
MRR_COLOUR, CHURN_COLOUR, GRID_COLOUR, TEXT_COLOUR = "#2563eb", "#dc2626", "#d1d5db", "#374151"


def revenue_chart_svg(*, months: list[MonthFigures], currency: str, locale: str, title: str) -> str:
    """MRR per month as bars on the left scale, churned subscriptions as thin bars on the right scale."""
    babel_locale = _BABEL_LOCALE.get(locale, "en_GB")
    mrr = [m.mrr.get(currency, 0) for m in months]
    churn = [m.churned for m in months]
    labels = [format_date(m.month_start.date(), "MMM yy", locale=babel_locale) for m in months]
    money_ticks = _ticks(max(mrr, default=0))
    churn_ticks = _ticks(max(churn, default=0)) if any(churn) else [0, 1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base = TOP + plot_h

    def y(value: int, ticks: list[int]) -> float:
        # A zero series has the single tick 0: everything sits on the baseline.
        return base - (plot_h * value / ticks[-1] if ticks[-1] else 0)

    def money(minor: int) -> str:
        return format_money(Money(minor, currency), locale)

    mrr_name = gettext(locale, "Monthly recurring revenue")
    churn_name = gettext(locale, "Churned subscriptions")
    said = [
        gettext(
            locale,
            "{month}: {mrr} monthly recurring revenue, {churned} churned subscriptions",
            month=label,
            mrr=money(value),
            churned=lost,
        )
        for label, value, lost in zip(labels, mrr, churn, strict=True)
    ]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label={quoteattr(title)} font-family="sans-serif" font-size="11" fill="{TEXT_COLOUR}">',
        f"<title>{escape(title)}</title>",
        f"<desc>{escape('; '.join(said))}</desc>",
    ]

    for tick in money_ticks:
        at = _n(y(tick, money_ticks))
        out.append(f'<line x1="{LEFT}" y1="{at}" x2="{WIDTH - RIGHT}" y2="{at}" stroke="{GRID_COLOUR}"/>')
        out.append(
            f'<text x="{LEFT - 6}" y="{at}" text-anchor="end" dominant-baseline="middle">{escape(money(tick))}</text>'
        )
    for tick in churn_ticks:
        out.append(
            f'<text x="{WIDTH - RIGHT + 6}" y="{_n(y(tick, churn_ticks))}" dominant-baseline="middle" '
            f'fill="{CHURN_COLOUR}">{tick}</text>'
        )

    slot = plot_w / max(len(months), 1)
    for i, (label, value, lost) in enumerate(zip(labels, mrr, churn, strict=True)):
        x = LEFT + i * slot
        top, churn_top = y(value, money_ticks), y(lost, churn_ticks)
        # One group per month, titled with its figures: the tooltip, and what a screen reader reads.
        out.append(f'<g class="month"><title>{escape(said[i])}</title>')
        out.append(
            f'<rect class="mrr" x="{_n(x + slot * 0.15)}" y="{_n(top)}" width="{_n(slot * 0.55)}" '
            f'height="{_n(base - top)}" fill="{MRR_COLOUR}"/>'
        )
        out.append(
            f'<rect class="churn" x="{_n(x + slot * 0.72)}" y="{_n(churn_top)}" width="{_n(slot * 0.12)}" '
            f'height="{_n(base - churn_top)}" fill="{CHURN_COLOUR}"/>'
        )
        out.append(f'<text x="{_n(x + slot / 2)}" y="{base + 18}" text-anchor="middle">{escape(label)}</text></g>')
    out.append(f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" stroke="{TEXT_COLOUR}"/>')

    for offset, colour, name in ((0, MRR_COLOUR, mrr_name), (260, CHURN_COLOUR, churn_name)):
        out.append(f'<rect x="{LEFT + offset}" y="10" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{LEFT + offset + 14}" y="19">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _ticks(highest: int) -> list[int]:
    """0 and about four round steps (1, 2 or 5 × a power of ten) up to at least `highest`."""
    if highest <= 0:
        return [0]
    rough = -(-highest // 4)
    power = 10 ** (len(str(rough)) - 1)
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    return list(range(0, -(-highest // step) * step + 1, step))


def _n(value: float) -> str:
    """An SVG coordinate: two decimals at most, without trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")
