"""The optional Constancia de Situación Fiscal pre-fill, over GraphQL on SQLite and
PostgreSQL, with Constancia-like PDFs this test makes (WeasyPrint): the same labels and
layout as SAT's "Cédula de identificación fiscal"."""
from __future__ import annotations

import base64

import pytest
from weasyprint import HTML

from tests.helpers import lookup, operation, record

READ = operation("ReadConstancia")  # $file

PERSONA_FISICA = """
<h1>CONSTANCIA DE SITUACIÓN FISCAL</h1>
<p>CÉDULA DE IDENTIFICACIÓN FISCAL</p>
<p>CACX7605101P8<br>Registro Federal de Contribuyentes</p>
<h2>Datos de Identificación del Contribuyente:</h2>
<p>RFC: CACX7605101P8</p>
<p>CURP: CACX760510MGTSHC04</p>
<p>Nombre (s): XOCHILT</p>
<p>Primer Apellido: CASAS</p>
<p>Segundo Apellido: CHAVEZ</p>
<p>Fecha inicio de operaciones: 01 DE ENERO DE 2015</p>
<h2>Datos del domicilio registrado</h2>
<p>Código Postal:36257 Tipo de Vialidad: CALLE</p>
<h2>Actividades Económicas:</h2>
<p>1 Arrendamiento de inmuebles 100 01/01/2015</p>
<h2>Regímenes:</h2>
<p>Régimen Fecha Inicio Fecha Fin</p>
<p>Régimen de Sueldos y Salarios e Ingresos Asimilados a Salarios 01/01/2015</p>
<p>Régimen Simplificado de Confianza 01/01/2022</p>
<h2>Obligaciones:</h2>
<p>Declaración anual de ISR. 01/01/2022</p>
"""

PERSONA_MORAL = """
<h1>CONSTANCIA DE SITUACIÓN FISCAL</h1>
<p>RFC: EKU9003173C9</p>
<p>Denominación/Razón Social: ESCUELA KEMPER URGATE</p>
<p>Régimen Capital: SOCIEDAD ANONIMA DE CAPITAL VARIABLE</p>
<p>Código Postal:42501</p>
<h2>Regímenes:</h2>
<p>Régimen General de Ley Personas Morales 01/01/2019</p>
"""


def pdf_of(body: str) -> str:
    pdf = HTML(string=f"<html><body>{body}</body></html>").write_pdf()
    return base64.b64encode(pdf).decode()


@pytest.fixture
async def ticket_token(gql, merchant):
    row, client = merchant
    await record(client, "T-1")
    return (await lookup(gql, row))["ticketToken"]


async def read(gql, token, file):
    return (await gql(READ, {"file": file}, token=token))["data"]["readConstancia"]


async def test_persona_fisica(gql, ticket_token):
    res = await read(gql, ticket_token, pdf_of(PERSONA_FISICA))
    assert res["__typename"] == "ConstanciaRead", res
    assert (res["rfc"], res["legalName"], res["zipCode"]) == ("CACX7605101P8", "XOCHILT CASAS CHAVEZ", "36257")
    # The activity "Arrendamiento de inmuebles" is not read as régimen 606.
    assert [r["code"] for r in res["taxRegimes"]] == ["605", "626"]


async def test_persona_moral_without_regimen_capital(gql, ticket_token):
    res = await read(gql, ticket_token, pdf_of(PERSONA_MORAL))
    assert (res["rfc"], res["legalName"], res["zipCode"]) == ("EKU9003173C9", "ESCUELA KEMPER URGATE", "42501")
    assert [r["code"] for r in res["taxRegimes"]] == ["601"]


@pytest.mark.parametrize("file, code", [
    (base64.b64encode(b"not a pdf at all").decode(), "NOT_A_PDF"),
    ("%%% not base64", "NOT_A_PDF"),
    (base64.b64encode(b"%PDF-1.7\n garbage that is no PDF").decode(), "UNREADABLE"),
    (pdf_of("<p>Factura de luz, periodo noviembre</p>"), "NOT_A_CONSTANCIA"),
    (base64.b64encode(b"%PDF-" + b"0" * (701 * 1024)).decode(), "FILE_TOO_LARGE"),
])
async def test_what_is_not_a_constancia(gql, ticket_token, file, code):
    res = await read(gql, ticket_token, file)
    assert res["__typename"] == "InvalidConstancia" and res["errors"][0]["code"] == code


async def test_needs_a_ticket_token(gql):
    data = await gql(READ, {"file": pdf_of(PERSONA_MORAL)})
    assert data["data"] is None and data["errors"][0]["extensions"]["code"] == "FORBIDDEN"
