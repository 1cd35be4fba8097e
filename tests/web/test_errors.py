"""Every error code is a member of one enumeration, and each has words for people in English and Dutch."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import seatwise
from seatwise.core.cancellation import Code
from seatwise.core.errors import BadInput, ErrorCode
from seatwise.i18n import _catalog
from seatwise.web.errors import ERROR_TEXT

SOURCE = Path(seatwise.__file__).parent


def test_every_error_code_has_english_and_dutch_words_for_the_admin_center():
    assert sorted(code for code in ErrorCode if code not in ERROR_TEXT) == []
    dutch = _catalog("nl")
    assert sorted(code for code, text in ERROR_TEXT.items() if not dutch.get(text)) == []


def test_no_error_is_raised_with_a_code_outside_the_enumeration():
    # A code written as a string would pass unseen by the two tests here; only the enumeration is allowed.
    bare = [
        f"{path.relative_to(SOURCE)}: {match}"
        for path in SOURCE.rglob("*.py")
        if "migrations" not in path.parts
        for match in re.findall(r'\bcode ?= ?f?"[a-z_{}]+"', path.read_text())
    ]
    assert bare == []


def test_a_refused_cancellation_answers_with_a_member_of_the_enumeration():
    assert {code.value for code in Code} - {"allowed"} <= {code.value for code in ErrorCode}


def test_an_unknown_code_is_refused_where_it_is_raised():
    with pytest.raises(ValueError):
        BadInput("no such code", code="no_such_code")  # type: ignore[arg-type]
