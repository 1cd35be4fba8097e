"""The words of billing e-mail (R27) in English and Dutch: a subject on one line, plain text and HTML for each
kind of message, from plain facts. Every sentence is one message of the catalogue; nothing here sends mail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, select_autoescape

from seatwise.core.notices import Facts, Kind, Links, check_facts, one_line
from seatwise.i18n import LOCALES, format_day, format_money, gettext, ngettext

# Autoescape for the HTML (a product or organisation named `<script>` stays text); the plain text is as written.
_ENV = Environment(
    loader=PackageLoader("seatwise.notifications", "templates"),
    autoescape=select_autoescape(["html"]),
    keep_trailing_newline=True,
)


@dataclass(frozen=True, slots=True)
class Action:
    """The one thing a message asks its reader to do, as a link to the admin center."""

    label: str
    url: str


@dataclass(frozen=True, slots=True)
class Message:
    """One message as it is sent: its subject (one line), its plain text and its HTML."""

    kind: Kind
    locale: str
    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class _Words:
    subject: str
    paragraphs: list[str]
    action: Action | None


class _Say:
    """The facts as the reader's language writes them."""

    def __init__(self, facts: Facts, locale: str) -> None:
        self.facts, self.locale = facts, locale

    def __call__(self, msgid: str, **params: object) -> str:
        return gettext(self.locale, msgid, **self._common(), **params)

    def n(self, singular: str, plural: str, count: int, **params: object) -> str:
        return ngettext(self.locale, singular, plural, count, **self._common(), **params)

    def money(self, name: str) -> str:
        value = getattr(self.facts, name)
        return "" if value is None else format_money(value, self.locale)

    def day(self, name: str) -> str:
        return format_day(getattr(self.facts, name), self.locale)

    def _common(self) -> dict[str, object]:
        f = self.facts
        return {"product": f.product, "organization": f.organization}


def render(kind: Kind, facts: Facts, *, locale: str, links: Links) -> Message:
    """The message of `kind` about `facts` in `locale` (en or nl; another falls back to English)."""
    check_facts(kind, facts)
    locale = locale if locale in LOCALES else "en"
    say = _Say(facts, locale)
    words = _WORDS[kind](say, facts, links)
    subject = one_line(words.subject)
    footer = say(
        "You receive this e-mail as a Global or Billing admin of {organization}, or because your address is one of"
        " its billing notification addresses."
    )
    page = {"locale": locale, "subject": subject, "paragraphs": words.paragraphs, "action": words.action}
    return Message(
        kind=kind,
        locale=locale,
        subject=subject,
        text=_ENV.get_template("message.txt").render(**page, footer=footer),
        html=_ENV.get_template("message.html").render(**page, footer=footer),
    )


def _view_subscription(say: _Say, facts: Facts, links: Links) -> Action:
    return Action(say("View the subscription"), links.subscription(facts.subscription_id))


def _trial_ending(say: _Say, f: Facts, links: Links) -> _Words:
    date = say.day("on")
    assert f.days_left is not None  # check_facts
    ends = say.n(
        "The trial of {product} for {organization} ends in {count} day, on {date}.",
        "The trial of {product} for {organization} ends in {count} days, on {date}.",
        f.days_left,
        date=date,
    )
    if f.converts:
        return _Words(
            say("Your {product} trial for {organization} becomes a paid subscription on {date}", date=date),
            [
                ends,
                say("A payment method is on file and recurring billing is on, so it then becomes a paid subscription."),
                say(
                    "Nothing needs to be done."
                    " To let the trial expire instead, turn recurring billing off before {date}.",
                    date=date,
                ),
            ],
            _view_subscription(say, f, links),
        )
    return _Words(
        say("Your {product} trial for {organization} expires on {date}", date=date),
        [
            ends,
            say("It then expires, because no payment method is on file or recurring billing is off."),
            say(
                "To keep using {product}, add a payment method and turn recurring billing on before {date}.", date=date
            ),
        ],
        _view_subscription(say, f, links),
    )


def _trial_converted(say: _Say, f: Facts, links: Links) -> _Words:
    return _Words(
        say("Your {product} trial for {organization} is now a paid subscription"),
        [
            say("The trial of {product} for {organization} became a paid subscription on {date}.", date=say.day("on")),
            say("Its first invoice follows in a separate e-mail and is charged to the payment method on file."),
        ],
        _view_subscription(say, f, links),
    )


def _trial_expired(say: _Say, f: Facts, links: Links) -> _Words:
    return _Words(
        say("Your {product} trial for {organization} has expired"),
        [
            say("The trial of {product} for {organization} expired on {date}.", date=say.day("on")),
            say("On {date} the trial is deleted. To keep using {product}, buy it before then.", date=say.day("until")),
        ],
        Action(say("Go to Your products"), links.products()),
    )


def _invoice_issued(say: _Say, f: Facts, links: Links) -> _Words:
    assert f.invoice_id is not None  # check_facts
    amount, number = say.money("amount"), f.number
    return _Words(
        say("Invoice {number} for {organization}: {amount}", number=number, amount=amount),
        [
            say(
                "Invoice {number} for {organization} has been issued for {amount} including VAT.",
                number=number,
                amount=amount,
            ),
            say("It is due on {date}.", date=say.day("on")),
            say("The invoice is attached as a PDF and as a UBL file for your accounting software."),
        ],
        Action(say("View the invoice"), links.invoice(f.invoice_id)),
    )


def _credit_note_issued(say: _Say, f: Facts, links: Links) -> _Words:
    assert f.credit_note_id is not None  # check_facts
    amount, number = say.money("amount"), f.number
    return _Words(
        say("Credit note {number} for {organization}: {amount}", number=number, amount=amount),
        [
            say(
                "Credit note {number} for {organization} has been issued for {amount} including VAT.",
                number=number,
                amount=amount,
            ),
            say("It is settled with your next invoices, and whatever is left is refunded to your payment method."),
            say("The credit note is attached as a PDF and as a UBL file for your accounting software."),
        ],
        Action(say("View the credit note"), links.credit_note(f.credit_note_id)),
    )


def _payment_failed(say: _Say, f: Facts, links: Links) -> _Words:
    assert f.invoice_id is not None  # check_facts
    amount, number = say.money("amount"), f.number
    reason = gettext(say.locale, f"decline:{f.reason}")
    reason = say("the payment service gave no reason") if reason == f"decline:{f.reason}" else reason
    then = (
        say(
            "We try again on {date}. To pay now, with this card or another one, use the link below.",
            date=say.day("next_retry"),
        )
        if f.next_retry is not None
        else say("No more attempts are made. Pay the invoice now to keep {product} in use.")
    )
    return _Words(
        say("Payment of invoice {number} for {organization} failed: {amount}", number=number, amount=amount),
        [
            say("The payment of {amount} for invoice {number} of {organization} failed.", number=number, amount=amount),
            say("Reason: {reason}.", reason=reason),
            then,
        ],
        Action(say("Pay now"), links.pay_now(f.invoice_id)),
    )


def _disabled(say: _Say, f: Facts, links: Links) -> _Words:
    return _Words(
        say("{product} for {organization} has been disabled for non-payment"),
        [
            say(
                "{product} for {organization} was disabled on {date} because an invoice remained unpaid.",
                date=say.day("on"),
            ),
            say("Its users can no longer use it; admins can still sign in."),
            say("Pay the unpaid invoice to reactivate it. On {date} it is deleted.", date=say.day("until")),
        ],
        Action(say("Pay now"), links.pay_now(f.invoice_id)) if f.invoice_id else _view_subscription(say, f, links),
    )


def _cancelled(say: _Say, f: Facts, links: Links) -> _Words:
    assert f.amount is not None  # check_facts
    credit = (
        [
            say(
                "You get a credit of {amount}, of which {vat} is VAT, for the days you no longer use.",
                amount=say.money("amount"),
                vat=say.money("vat"),
            ),
            say(
                "It is settled with your next invoice, or refunded to your payment method by {date} at the latest.",
                date=say.day("until"),
            ),
        ]
        if f.amount.amount > 0
        else [say("There is no credit: no unused days were paid for.")]
    )
    return _Words(
        say("{product} for {organization} has been cancelled"),
        [say("{product} for {organization} was cancelled on {date}.", date=say.day("on")), *credit],
        _view_subscription(say, f, links),
    )


def _refund_made(say: _Say, f: Facts, links: Links) -> _Words:
    amount = say.money("amount")
    action = (
        Action(say("View the credit note"), links.credit_note(f.credit_note_id))
        if f.credit_note_id
        else _view_subscription(say, f, links)
    )
    return _Words(
        say("Refund of {amount} for {product} to {organization}", amount=amount),
        [
            say(
                "On {date} we refunded {amount} to the payment method of {organization}.",
                date=say.day("on"),
                amount=amount,
            ),
            say("It can take a few days before the refund shows on your statement."),
        ],
        action,
    )


def _expiring(say: _Say, f: Facts, links: Links) -> _Words:
    date = say.day("on")
    assert f.days_left is not None  # check_facts
    return _Words(
        say("{product} for {organization} expires on {date}", date=date),
        [
            say.n(
                "Recurring billing of {product} for {organization} is off,"
                " so the subscription ends in {count} day, on {date}.",
                "Recurring billing of {product} for {organization} is off,"
                " so the subscription ends in {count} days, on {date}.",
                f.days_left,
                date=date,
            ),
            say("To keep it, turn recurring billing on before {date}.", date=date),
        ],
        _view_subscription(say, f, links),
    )


def _deletion_soon(say: _Say, f: Facts, links: Links) -> _Words:
    date = say.day("on")
    assert f.days_left is not None  # check_facts
    return _Words(
        say("{product} for {organization} will be deleted on {date}", date=date),
        [
            say.n(
                "{product} for {organization} will be deleted in {count} day, on {date}.",
                "{product} for {organization} will be deleted in {count} days, on {date}.",
                f.days_left,
                date=date,
            ),
            say("Its licences and their assignments are then removed for good."),
            say("To keep it, reactivate it before {date}.", date=date),
        ],
        _view_subscription(say, f, links),
    )


_WORDS: dict[Kind, Callable[[_Say, Facts, Links], _Words]] = {
    Kind.TRIAL_ENDING: _trial_ending,
    Kind.TRIAL_CONVERTED: _trial_converted,
    Kind.TRIAL_EXPIRED: _trial_expired,
    Kind.INVOICE_ISSUED: _invoice_issued,
    Kind.CREDIT_NOTE_ISSUED: _credit_note_issued,
    Kind.PAYMENT_FAILED: _payment_failed,
    Kind.DISABLED: _disabled,
    Kind.CANCELLED: _cancelled,
    Kind.REFUND_MADE: _refund_made,
    Kind.EXPIRING: _expiring,
    Kind.DELETION_SOON: _deletion_soon,
}
