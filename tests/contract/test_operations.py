"""frontend-contract/operations: every document validates against the exported schema,
and the persisted-operations manifest (and its copies) is exactly those documents."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, build_schema, parse, validate

from api import persisted

CONTRACT = Path(__file__).resolve().parents[2] / "frontend-contract"
OPERATION_FILES = sorted((CONTRACT / "operations").glob("*.graphql"))
# The flows issue 5 names: portal, ticket lookup, catalogues, issue, invoice status, login,
# me, settings, generic concept, record sale, sales and invoices pages.
REQUIRED = {
    "Portal", "TicketLookup", "TaxRegimes", "CfdiUses", "PaymentForms", "IssueInvoice",
    "InvoiceStatus", "Login", "Me", "SetSelfInvoicing", "UpdateSelfInvoicingSettings",
    "UpdateGenericConcept", "RecordSale", "SalesPage", "InvoicesPage",
    # Issue 14's merchant console (api/static/panel.js).
    "ConsoleOverview", "ConsoleSales", "ConsoleSale", "ConsoleInvoices", "ConsoleInvoice", "ConsoleSettings",
    "ProductKeys", "UnitKeys", "UpdateInvoiceSeries", "ReplaceCsd",
}


@pytest.fixture(scope="module")
def schema():
    return build_schema((CONTRACT / "schema.graphql").read_text(encoding="utf-8"))


def test_every_required_operation_has_a_document():
    assert REQUIRED <= {p.stem for p in OPERATION_FILES}


@pytest.mark.parametrize("path", OPERATION_FILES, ids=lambda p: p.stem)
def test_operation_validates_against_schema(schema, path):
    document = parse(path.read_text(encoding="utf-8"))
    assert validate(schema, document) == [], path.name
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    # One named operation per file, named like the file: it is what clients send as operationName
    # and what the TypeScript types are named after.
    assert len(operations) == 1 and operations[0].name and operations[0].name.value == path.stem
    assert len(document.definitions) == 1, "keep each document self-contained (no shared fragments)"


def test_manifest_is_the_operations_by_sha256():
    manifest = json.loads((CONTRACT / "persisted-operations.json").read_text(encoding="utf-8"))
    texts = [p.read_text(encoding="utf-8") for p in OPERATION_FILES]
    assert manifest == {persisted.sha256(t): t for t in texts}


def test_generated_copies_are_current():
    # frontend-contract/persisted-operations.json, api/static/persisted-operations.json (the
    # server's copy) and api/static/operations.js (the SPA's documents).
    assert persisted.main(["--check"]) == 0, "run .venv/bin/python -m api.persisted"
