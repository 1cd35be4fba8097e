"""Every word the admin center shows has a Dutch translation in the catalogue, and keyed words an English one."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from jinja2.ext import babel_extract

import seatwise
from seatwise.core.cancellation import CANCEL_REASONS
from seatwise.core.invoicing import InvoiceStatus, PaymentStatus
from seatwise.core.lifecycle import Status
from seatwise.core.policy import Profile
from seatwise.core.roles import Role
from seatwise.core.vat import Category
from seatwise.i18n import _catalog, _plurals
from seatwise.mail.service import STATUSES
from seatwise.payments.gateway import FAILURE_CODES

SOURCE = Path(seatwise.__file__).parent
# Messages whose id is built from a value (`_("role:" ~ user.role)`): every value must be in the catalogue.
KEYED = (
    [f"role:{r.value}" for r in Role]
    + [f"reason:{r}" for r in CANCEL_REASONS]
    + [f"invoice:{s.value}" for s in InvoiceStatus]
    + [f"payment:{s.value}" for s in PaymentStatus]
    + [f"decline:{code}" for code in FAILURE_CODES]
    + [f"vat:{c.value}" for c in Category if c is not Category.STANDARD]
    + ["run:running", "run:done", "run:failed"]
    + [f"mail:{s}" for s in STATUSES]
    + [f"policy:{p.value}" for p in Profile]
    + ["monthly", "annual"]
    + [s.value for s in Status]
)


def _from_templates() -> set[str]:
    found = set()
    for path in (SOURCE / "web" / "templates").rglob("*.html"):
        with open(path, "rb") as f:
            for _line, _func, message, _comments in babel_extract(f, ("_",), [], {"trim_blocks": "true"}):
                text = message if isinstance(message, str) else next((m for m in message or () if m), None)
                if text and not text.endswith(":"):  # "role:" ~ value is covered by KEYED
                    found.add(text)
    return found


# `say(...)` and `say.n(...)` are the billing e-mail's gettext and ngettext (seatwise.notifications.messages).
KEYWORDS = {"N_": None, "gettext": (2,), "_": None, "say": None, "n": (1, 2), "ngettext": (2, 3)}


def _extracted() -> list[str | tuple[str, ...]]:
    return [
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            SOURCE, method_map=[("**.py", "python")], keywords=KEYWORDS
        )
        if message
    ]


def _from_python() -> set[str]:
    return {message for message in _extracted() if isinstance(message, str)}


def plural_messages() -> set[tuple[str, ...]]:
    """Every message with a count: (singular, plural) as the code gives them."""
    return {tuple(message) for message in _extracted() if isinstance(message, tuple) and all(message)}


def messages() -> set[str]:
    """Every message id the admin center, the CLI's explanations and the invoices use."""
    return _from_templates() | _from_python() | set(KEYED)


def test_the_extraction_finds_the_seed_sentences_and_page_words():
    found = messages()
    assert "If you are a trial customer, there is nothing to cancel." in found
    assert "Settings & Actions" in found and "Your products" in found and "Trial ends" in found
    assert len(found) > 150


def test_every_message_has_a_dutch_translation():
    dutch = _catalog("nl")
    missing = sorted(m for m in messages() if not dutch.get(m))
    assert missing == []


def test_every_plural_message_has_both_dutch_forms_with_the_placeholders():
    dutch = _plurals("nl")
    found = plural_messages()
    assert found
    assert sorted(one for one, _many in found if len(dutch.get(one, ())) != 2) == []
    assert sorted(one for one, _many in found if any("{count}" not in form for form in dutch[one])) == []


def test_every_keyed_message_has_english_words():
    english = _catalog("en")
    missing = sorted(k for k in KEYED if ":" in k and not english.get(k))
    assert missing == []


def test_dutch_translations_keep_their_placeholders():
    dutch = _catalog("nl")
    import string

    def fields(text: str) -> set[str]:
        return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}

    wrong = sorted(m for m in messages() if m in dutch and fields(m) != fields(dutch[m]))
    assert wrong == []


def test_the_catalogues_hold_no_words_that_nothing_shows_any_more():
    used = messages()
    assert {locale: sorted(m for m in _catalog(locale) if m not in used) for locale in ("en", "nl")} == {
        "en": [],
        "nl": [],
    }
