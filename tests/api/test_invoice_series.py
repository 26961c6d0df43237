"""updateInvoiceSeries on SQLite and PostgreSQL: cfdv40.xsd's Serie rule (1-25 characters,
pattern [^|]{1,25}, whitespace collapsed) and gapless folios per series."""
from __future__ import annotations

from lxml import etree

from tests.helpers import ME, issue, lookup, record

SERIES = """mutation($series: String!) { updateInvoiceSeries(series: $series) {
  __typename ... on SelfInvoicingSettings { series } ... on InvalidSettings { errors { field code message } } } }"""


async def set_series(client, series):
    return (await client(SERIES, {"series": series}))["data"]["updateInvoiceSeries"]


async def test_series_follows_the_xsd(merchant):
    _, client = merchant
    for bad in ("", "   ", "A|B", "X" * 26):
        answer = await set_series(client, bad)
        assert [(e["field"], e["code"]) for e in answer["errors"]] == [("series", "SERIES_INVALID")], bad
        assert "Anexo 20" in answer["errors"][0]["message"]
    # A control character never reaches the service: the input guard answers first.
    bell = await client(SERIES, {"series": "A\u0007B"})
    assert bell["data"] is None and bell["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    reserved = await set_series(client, "GL")
    assert [e["code"] for e in reserved["errors"]] == ["SERIES_RESERVED"]
    assert (await set_series(client, "X" * 25))["series"] == "X" * 25
    assert (await set_series(client, "  Sucursal \t Centro ")) == {"__typename": "SelfInvoicingSettings", "series": "Sucursal Centro"}
    assert (await client(ME))["data"]["me"]["selfInvoicing"]["series"] == "Sucursal Centro"


async def test_folios_are_gapless_per_series(merchant, gql, http):
    row, client = merchant
    issued = []

    async def invoice(reference):
        await record(client, reference)
        res = await issue(gql, (await lookup(gql, row, reference))["ticketToken"])
        assert res["__typename"] == "InvoiceIssued", res
        xml = (await http.get(res["invoice"]["xmlUrl"].replace("http://testserver", ""))).content
        root = etree.fromstring(xml)
        assert (root.get("Serie"), root.get("Folio")) == (res["invoice"]["series"], res["invoice"]["folio"])
        issued.append((res["invoice"]["series"], res["invoice"]["folio"]))

    await invoice("T-1")
    assert (await set_series(client, "Ñ-2026"))["series"] == "Ñ-2026"
    await invoice("T-2")
    await invoice("T-3")
    await set_series(client, "AF")
    await invoice("T-4")
    await set_series(client, "Ñ-2026")
    await invoice("T-5")
    assert issued == [("AF", "1"), ("Ñ-2026", "1"), ("Ñ-2026", "2"), ("AF", "2"), ("Ñ-2026", "3")]
