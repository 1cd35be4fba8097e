"""Invoices and credit notes as PDF (R26) with the legal content of VAT Directive art. 226, in the document's
language. The same document always gives the same bytes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import cast

from fpdf import FPDF

from seatwise.core.documents import Kind, LegalDocument, Party, PaymentMeans
from seatwise.core.money import Money
from seatwise.core.vat import Category
from seatwise.i18n import format_day, format_day_range, format_money, format_price, format_rate, gettext

# Liberation Sans has glyphs for €, ¥, no-break spaces, Greek and Cyrillic, which the PDF core
# fonts lack, and at a fifth of DejaVu's glyphs it is read several times faster.
FONT_DIR = Path("/usr/share/fonts/truetype/liberation")
FONT = "Liberation Sans"
PRODUCER = "Seatwise"

# description, period, quantity, unit price, VAT rate, amount: the 180 mm between A4 margins
_COLUMNS = (64, 38, 15, 23, 16, 24)
_ALIGN = ("L", "L", "R", "R", "R", "R")
_LABEL = (90, 90, 90)  # labels in grey rather than bold: one embedded font instead of two, ~20 ms less
_LINE, _PAD = 5, 1.5  # mm


def document_pdf(doc: LegalDocument) -> bytes:
    """The invoice or credit note as a PDF."""
    lang = doc.language

    def _(msgid: str, **params: object) -> str:
        return gettext(lang, msgid, **params)

    def money(minor: int) -> str:
        return format_money(Money(minor, doc.currency), lang)

    credit_note = doc.kind is Kind.CREDIT_NOTE
    title = _("Credit note {number}", number=doc.number) if credit_note else _("Invoice {number}", number=doc.number)
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font(FONT, "", str(FONT_DIR / "LiberationSans-Regular.ttf"))
    # Fixed metadata and date, so that the bytes depend on the document only (the file id hashes both).
    pdf.set_title(title)
    pdf.set_author(doc.seller.legal_name)
    pdf.set_creator(PRODUCER)
    pdf.set_producer(PRODUCER)
    pdf.set_lang(lang)
    pdf.set_creation_date(_midnight(doc.issue_date))
    pdf.add_page()

    pdf.set_font(FONT, "", 20)
    pdf.cell(text=title, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(FONT, "", 10)

    width = pdf.epw / 2
    top, bottom = pdf.get_y(), pdf.get_y()
    for x, heading, party in ((pdf.l_margin, _("From"), doc.seller), (pdf.l_margin + width, _("Bill to"), doc.buyer)):
        pdf.set_xy(x, top)
        pdf.set_text_color(*_LABEL)
        pdf.cell(w=width, h=6, text=heading, new_x="LEFT", new_y="NEXT")
        pdf.set_text_color(0)
        pdf.multi_cell(w=width - 4, h=5, text="\n".join(_party(party, lang)), new_x="LEFT", new_y="NEXT")
        bottom = max(bottom, pdf.get_y())
    pdf.set_y(bottom)
    pdf.ln(4)

    facts = [(_("Issue date"), _day(doc.issue_date, lang)), (_("Due date"), _day(doc.due_date, lang))]
    if doc.corrects_number:
        corrected = doc.corrects_number + (f", {_day(doc.corrects_date, lang)}" if doc.corrects_date else "")
        facts.append((_("Corrects invoice"), corrected))
    if doc.po_number:
        facts.append((_("Purchase order number"), doc.po_number))
    if doc.payment_means is PaymentMeans.TRANSFER and doc.seller.iban:
        payment = _("By bank transfer to {iban}, quoting {number}", iban=doc.seller.iban, number=doc.number)
    else:
        payment = _("Bank transfer") if doc.payment_means is PaymentMeans.TRANSFER else _("Charged to your card")
    facts.append((_("Payment"), payment))
    _pairs(pdf, facts, label_width=50, value_width=130)
    pdf.ln(6)

    rows = [
        (
            _printable(line.description),
            _printable(format_day_range(_midnight(line.period_start), _midnight(line.period_end + _DAY), lang)),
            str(line.quantity),
            format_price(line.unit_price, doc.currency, lang),
            f"{format_rate(line.rate, lang)} %" if line.category != Category.OUTSIDE_SCOPE else "–",
            money(line.net),
        )
        for line in doc.lines
    ]
    pdf.set_font(FONT, "", 9)
    titles = (_("Description"), _("Period"), _("Quantity"), _("Unit price"), _("VAT"), _("Amount"))
    _lines_table(pdf, titles, rows)
    pdf.set_font(FONT, "", 10)
    pdf.ln(6)

    totals = [(_("Total excl. VAT"), money(doc.net))]
    for rate in doc.breakdown:
        label = (
            _("VAT {rate} % of {amount}", rate=format_rate(rate.rate, lang), amount=money(rate.net))
            if rate.category == Category.STANDARD
            else f"{_(f'vat:{rate.category}')} ({money(rate.net)})"
        )
        totals.append((label, money(rate.vat)))
    totals.append((_("Total incl. VAT"), money(doc.gross)))
    if doc.prepaid:
        totals.append((_("Prepaid"), money(-doc.prepaid)))
    totals.append((_("Amount credited") if credit_note else _("Amount due"), money(doc.amount_due)))
    _pairs(pdf, totals, x=pdf.l_margin + sum(_COLUMNS) - 120, label_width=80, value_width=40, align="R")

    if doc.notes:
        pdf.ln(6)
        for note in doc.notes:
            pdf.multi_cell(w=pdf.epw, h=5, text=note, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _party(party: Party, lang: str) -> list[str]:
    """What art. 226 asks of a party: its full name, its address, its VAT ID; and the vendor's register and bank."""
    place = " ".join(part for part in (party.postcode, party.city) if part)
    found = [party.legal_name, party.address_line or "", place, party.country]
    if party.vat_id:
        found.append(gettext(lang, "VAT ID") + f": {party.vat_id}")
    if party.company_id:
        found.append(gettext(lang, "Chamber of Commerce number") + f": {party.company_id}")
    if party.iban:
        found.append(f"IBAN: {party.iban}")
    return [line for line in found if line]


_DAY = timedelta(days=1)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _day(day: date, lang: str) -> str:
    return format_day(_midnight(day), lang)


def _lines_table(pdf: FPDF, heading: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    """The document's lines: only the description wraps, so it alone is broken into lines (fpdf's own
    table breaks every cell twice, which made a long invoice several times slower)."""
    left, width = pdf.l_margin, sum(_COLUMNS)

    def rule() -> None:
        pdf.line(left, pdf.get_y(), left + width, pdf.get_y())

    def head() -> None:
        pdf.set_text_color(*_LABEL)
        pdf.set_x(left)
        for w, text, align in zip(_COLUMNS, heading, _ALIGN, strict=True):
            pdf.cell(w=w, h=_LINE + 2 * _PAD, text=text, align=align)
        pdf.ln(_LINE + 2 * _PAD)
        rule()
        pdf.set_text_color(0)

    head()
    for row in rows:
        fits = pdf.get_string_width(row[0]) <= _COLUMNS[0] - 2 * pdf.c_margin
        # With output="LINES", multi_cell answers the lines alone (its annotation covers every output).
        wrapped = (
            [row[0]]
            if fits
            else cast(list[str], pdf.multi_cell(w=_COLUMNS[0], h=_LINE, text=row[0], dry_run=True, output="LINES"))
        )
        height = len(wrapped) * _LINE + 2 * _PAD
        if pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()
            head()
        top = pdf.get_y()
        for i, text in enumerate(wrapped):
            pdf.set_xy(left, top + _PAD + i * _LINE)
            pdf.cell(w=_COLUMNS[0], h=_LINE, text=text)
        x = left + _COLUMNS[0]
        for w, text, align in zip(_COLUMNS[1:], row[1:], _ALIGN[1:], strict=True):
            pdf.set_xy(x, top + _PAD)
            pdf.cell(w=w, h=_LINE, text=text, align=align)
            x += w
        pdf.set_y(top + height)
        rule()


def _printable(text: str) -> str:
    # Babel spaces a date range across months with thin spaces, which the font lacks: a no-break
    # space keeps the range on one line just the same.
    return text.translate(_THIN_SPACES)


_THIN_SPACES = str.maketrans({"\u2009": "\u00a0", "\u202f": "\u00a0"})


def _pairs(
    pdf: FPDF,
    pairs: list[tuple[str, str]],
    *,
    x: float | None = None,
    label_width: float = 40,
    value_width: float = 80,
    align: str = "L",
) -> None:
    """Rows of a label and its value."""
    for label, value in pairs:
        pdf.set_x(pdf.l_margin if x is None else x)
        pdf.set_text_color(*_LABEL)
        pdf.cell(w=label_width, h=6, text=label)
        pdf.set_text_color(0)
        pdf.cell(w=value_width, h=6, text=value, align=align, new_x="LMARGIN", new_y="NEXT")
