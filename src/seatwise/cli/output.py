"""What commands print: a result as JSON (--json), as text for people, or as a table or a list of fields."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_jsonable_python
from rich.console import Console
from rich.table import Table

# Piped output is not cut at 80 columns: scripts and `less -S` want whole rows.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 250)
err = Console(stderr=True, soft_wrap=True)


@dataclass
class Out:
    """A command's result: data for --json, and optionally text for people."""

    data: Any
    text: str | None = None
    raw: bytes | None = None  # a file written to stdout as it is (a PDF, an XML document), instead of the rest


def print_result(result: Out, *, as_json: bool) -> None:
    """Print a result: one JSON document with --json, else its text, or its rows as a table, or its fields."""
    if result.raw is not None:
        sys.stdout.buffer.write(result.raw)
        sys.stdout.buffer.flush()
        return
    data = to_jsonable_python(result.data)
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
    elif result.text is not None:
        out.print(result.text, highlight=False, markup=False)
    elif isinstance(data, list):
        _print_table(data)
    elif isinstance(data, dict):
        for key, value in data.items():
            out.print(f"{key}: {_cell(value)}", highlight=False, markup=False)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _print_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        out.print("(none)")
        return
    table = Table(*rows[0].keys(), box=None, pad_edge=False)
    for row in rows:
        table.add_row(*(_cell(v) for v in row.values()))
    out.print(table, highlight=False)
