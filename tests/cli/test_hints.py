"""The CLI, not the services, names `seatwise` commands and flags: its renderer adds a hint by error code, once,
on the one stderr line (and in the JSON error's message, which is that line)."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import pytest

import seatwise
from seatwise.cli.errors import HINTS, with_hint
from seatwise.core.errors import ErrorCode, NotFound, SeatwiseError
from tests.cli.conftest import one_line_error


def _service_codes() -> set[str]:
    source = Path(seatwise.__file__).parent
    return {
        ErrorCode[name]
        for path in source.rglob("*.py")
        if path.relative_to(source).parts[0] != "cli" and path.name != "errors.py"
        for name in re.findall(r"ErrorCode\.([A-Z_]+)", path.read_text())
    }


def test_every_hint_is_for_a_code_the_services_raise():
    assert sorted(set(HINTS) - _service_codes()) == []


@pytest.mark.parametrize("code", sorted(HINTS))
def test_a_neutral_message_gets_the_hint_of_its_code(code):
    assert with_hint(SeatwiseError("unknown thing 7", code=code)) == f"unknown thing 7; {HINTS[code]}"


def test_a_code_without_a_hint_keeps_its_message():
    assert (
        with_hint(SeatwiseError("invalid seats -1: expected 1 or more", code="invalid_seats"))
        == "invalid seats -1: expected 1 or more"
    )


def test_a_message_that_already_names_a_command_or_flag_gets_no_second_hint():
    named = "unknown subscription 7: expected an id from `seatwise subscription list`"
    assert with_hint(NotFound(named, code="unknown_subscription")) == named
    assert (
        with_hint(SeatwiseError("expected a later --now", code="clock_before_last_change")) == "expected a later --now"
    )


def test_a_code_from_a_str_enum_finds_its_hint():
    class Code(StrEnum):
        UNKNOWN_INVOICE = "unknown_invoice"

    assert with_hint(NotFound("unknown invoice 7", code=Code.UNKNOWN_INVOICE)).endswith(
        "; list them with `seatwise invoice list --org ID`"
    )


@pytest.mark.parametrize(
    "args,code,named",
    [
        pytest.param(
            ["subscription", "show", 9999],
            "unknown_subscription",
            "`seatwise subscription list`",
            id="unknown_subscription",
        ),
        pytest.param(["invoice", "show", 9999], "unknown_invoice", "`seatwise invoice list", id="unknown_invoice"),
        pytest.param(["user", "list", "--org", 9999], "unknown_org", "`seatwise org list`", id="unknown_org"),
        pytest.param(["user", "remove", 9999], "unknown_user", "`seatwise user list", id="unknown_user"),
        pytest.param(["apikey", "revoke", 9999], "unknown_api_key", "`seatwise apikey list`", id="unknown_api_key"),
        pytest.param(["apikey", "create"], "invalid_api_key_owner", "--operator", id="invalid_api_key_owner"),
        pytest.param(
            ["subscription", "cancel-preview", 1, "--as", "nobody@example.com"],
            "unknown_actor",
            "--as",
            id="unknown_actor",
        ),
    ],
)
def test_the_cli_names_the_command_or_flag_once_on_one_line(cli, args, code, named):
    res = cli(*args)
    assert res.exit_code == 2, res
    line = one_line_error(res)
    assert res.data["error"]["code"] == code, res
    assert line == f"error: {res.data['error']['message']}"
    assert line.count(named) == 1, line
