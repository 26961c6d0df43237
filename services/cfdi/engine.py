"""Build, seal and validate one CFDI 4.0 de ingreso from one ticket (sync; run in a thread).

The caller runs `rules.check_customer` first and shows its problems to the person; the
engine re-checks and raises `CfdiBuildError(problems)` rather than build a CFDI a PAC
would reject. CSD problems (expired, wrong password, ...) raise `csd.CsdError`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

from lxml import etree

from services import catalogs
from services.cfdi import satcfdi_adapter
from services.cfdi.concepts import (
    Concept, ConceptError, Totals, TransferSummary, build_concepts, build_global_concepts, check_concept, summarize,
)
from services.cfdi.csd import open_csd
from services.cfdi.rules import (
    GENERIC_REGIME, GENERIC_RFC_DOMESTIC, GENERIC_USE, check_customer, normalize_legal_name, normalize_rfc,
    rfc_person_type,
)
from services.cfdi.sat import cadena_original
from services.cfdi import xsd_text
from services.cfdi.xsd import validate_tree
from services.kernel.types import (
    CsdMaterial, Customer, FieldProblem, GenericConceptConfig, GlobalInvoiceRequest, InvoiceRequest, Issuer,
)

PAYMENT_FORM_TO_BE_DEFINED = "99"  # c_FormaPago "Por definir": only with MetodoPago PPD


class CfdiBuildError(Exception):
    """The request cannot become a valid CFDI; `problems` says why, field by field."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.code}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class SignedCfdi:
    xml: bytes  # sealed, not stamped (no TimbreFiscalDigital yet)
    cadena: str  # the cadena original that was signed
    subtotal: Decimal
    total: Decimal
    total_transferred: Decimal | None  # TotalImpuestosTrasladados
    transfers: tuple[TransferSummary, ...]  # Impuestos/Traslados/Traslado
    issued_at: datetime  # Fecha: naive local time of LugarExpedicion
    certificate_number: str


def _local_time(request: InvoiceRequest | GlobalInvoiceRequest) -> datetime:
    """Comprobante@Fecha: local time where the CFDI is issued, AAAA-MM-DDThh:mm:ss
    (Anexo 20, Fecha; the zone comes from LugarExpedicion's c_CodigoPostal huso horario)."""
    zone = catalogs.time_zone_for(request.issuer.zip_code)
    moment = request.issued_at or datetime.now(timezone.utc)
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def lines_problems(lines, generic: GenericConceptConfig | None = None) -> list[FieldProblem]:
    """Descriptions a Concepto cannot carry (cfdv40.xsd Descripcion [^|]{1,1000}, XML 1.0
    characters). recordSale refuses them; sales stored before it did are refused here,
    before a folio is taken, rather than failing the XSD after."""
    texts = [generic.description] if generic is not None else [line.description for line in lines]
    if any(xsd_text.text_problem(text, xsd_text.DESCRIPCION) is not None for text in texts):
        return [FieldProblem("ticket.lines", "LINES_INVALID",
                             "La descripción de un artículo del ticket tiene caracteres que el SAT no admite "
                             "(«|» o de control). Pide al comercio que corrija el ticket.")]
    return []


def _request_problems(request: InvoiceRequest) -> list[FieldProblem]:
    problems = check_customer(request.customer, global_invoice=False, issuer_zip=request.issuer.zip_code)
    problems += lines_problems(request.lines, request.generic_concept)
    if catalogs.payment_form(request.payment_form) is None or request.payment_form == PAYMENT_FORM_TO_BE_DEFINED:
        # c_FormaPago; with MetodoPago PUE the form cannot be 99 (Anexo 20, FormaPago).
        problems.append(FieldProblem("paymentForm", "PAYMENT_FORM_INVALID",
                                     "Elige cómo pagaste el ticket (efectivo, tarjeta, transferencia...)."))
    if catalogs.postal_code(request.issuer.zip_code) is None:
        problems.append(FieldProblem("issuer.zipCode", "ZIP_CODE_INVALID",
                                     "El código postal del lugar de expedición no está en el catálogo del SAT."))
    if len(request.series or "") > 25 or len(request.folio or "") > 40:
        # cfdv40.xsd: Serie 1-25, Folio 1-40 characters.
        problems.append(FieldProblem("series", "SERIES_FOLIO_TOO_LONG",
                                     "La serie admite hasta 25 caracteres y el folio hasta 40."))
    lines_total = sum((line.amount for line in request.lines), Decimal("0.00"))
    if lines_total != request.ticket_total:
        problems.append(FieldProblem(
            "ticket.total", "TICKET_TOTAL_MISMATCH",
            f"La suma de los artículos ({lines_total}) no coincide con el total del ticket "
            f"({request.ticket_total}). Revisa el ticket.",
        ))
    return problems


def build_signed_cfdi(request: InvoiceRequest, csd: CsdMaterial) -> SignedCfdi:
    problems = _request_problems(request)
    if problems:
        raise CfdiBuildError(problems)
    try:
        concepts = build_concepts(request.lines, request.generic_concept)
    except ConceptError as exc:
        raise CfdiBuildError([FieldProblem("ticket.lines", "LINES_INVALID",
                                           f"Los artículos del ticket no se pueden facturar: {exc}")]) from exc
    totals = summarize(concepts)
    # The ticket is the truth: CFDI Total == ticket total to the cent.
    if totals.total != request.ticket_total:
        raise AssertionError(f"CFDI total {totals.total} != ticket total {request.ticket_total}")
    for c in concepts:
        if issues := check_concept(c):
            raise AssertionError(f"concept arithmetic outside Anexo 20 limits: {issues}")

    return _seal(request.issuer, request.customer, concepts, totals, request.payment_form,
                 request.series, request.folio, _local_time(request), csd)


def _seal(issuer: Issuer, customer: Customer, concepts: list[Concept], totals: Totals, payment_form: str,
          series: str, folio: str, issued_at: datetime, csd: CsdMaterial,
          global_information: tuple[str, str, int] | None = None) -> SignedCfdi:
    """Seal with the issuer's CSD, check the seal's cadena with SAT's XSLT and the XSD."""
    zone = catalogs.time_zone_for(issuer.zip_code)
    info, cert, key = open_csd(csd.certificate_der, csd.private_key_der, csd.password,
                               now=issued_at.replace(tzinfo=zone))
    issuer_rfc = normalize_rfc(issuer.rfc)
    if info.rfc != issuer_rfc:
        # Emisor@Rfc must be the RFC of the certificate that seals (Anexo 20, Emisor@Rfc).
        raise CfdiBuildError([FieldProblem("issuer.rfc", "ISSUER_RFC_MISMATCH",
                                           "El RFC del emisor no es el del CSD cargado.")])

    customer_rfc = normalize_rfc(customer.rfc)
    customer_name = normalize_legal_name(customer.legal_name, rfc_person_type(customer_rfc) or "MORAL")
    issuer_name = normalize_legal_name(issuer.legal_name, info.person_type)
    comprobante = satcfdi_adapter.build_unsigned(
        issuer=Issuer(issuer_rfc, issuer_name, issuer.tax_regime, issuer.zip_code),
        issuer_name=issuer_name,
        customer=Customer(customer_rfc, customer_name, customer.zip_code.strip(),
                          customer.tax_regime.strip(), customer.cfdi_use.strip(), customer.email),
        customer_name=customer_name,
        concepts=concepts,
        totals=totals,
        payment_form=payment_form,
        series=series,
        folio=folio,
        issued_at=issued_at,
        certificate_number=info.certificate_number,
        certificate_der=csd.certificate_der,
        global_information=global_information,
    )
    root = satcfdi_adapter.to_tree(comprobante)
    cadena = cadena_original(etree.ElementTree(root))
    satcfdi_adapter.seal_tree(root, cadena, key)
    del key
    errors = validate_tree(root)
    if errors:
        raise AssertionError(f"built CFDI does not validate against cfdv40.xsd: {errors[:5]}")
    return SignedCfdi(
        xml=satcfdi_adapter.tree_bytes(root),
        cadena=cadena,
        subtotal=totals.subtotal,
        total=totals.total,
        total_transferred=totals.total_transferred,
        transfers=totals.transfers,
        issued_at=issued_at,
        certificate_number=info.certificate_number,
    )


# ---------------- factura global ----------------
#
# CFDI global to público en general: RMF regla 2.7.1.24 (operaciones con el público en
# general: the taxpayer issues one CFDI per period for the sales it did not invoice
# individually, with the generic RFC) and Anexo 20, "Guía de llenado del CFDI global":
#   Receptor@Rfc XAXX010101000, @Nombre "PUBLICO EN GENERAL", @DomicilioFiscalReceptor =
#   LugarExpedicion, @RegimenFiscalReceptor 616, @UsoCFDI S01 (also RMF 2.7.1.26 and
#   services.cfdi.rules.check_customer with global_invoice=True);
#   InformacionGlobal@Periodicidad (c_Periodicidad), @Meses (c_Meses: 01-12, or 13-18
#   only with Periodicidad 05), @Año (the year of the operations: Fecha's year or the one
#   before); Periodicidad 05 "Bimestral" only for issuers in the Régimen de Incorporación
#   Fiscal (RegimenFiscal 621);
#   one Concepto per ticket (services.cfdi.concepts.build_global_concepts);
#   FormaPago: the form with which the largest amount was paid (Guía, FormaPago);
#   MetodoPago PUE.

PUBLIC_RFC = GENERIC_RFC_DOMESTIC
PUBLIC_NAME = "PUBLICO EN GENERAL"
BIMONTHLY = "05"  # c_Periodicidad Bimestral
BIMONTHLY_REGIME = "621"  # Incorporación Fiscal
_BIMONTHLY_MONTHS = frozenset(f"{m:02d}" for m in range(13, 19))


def public_customer(issuer_zip: str) -> Customer:
    """The Receptor of a factura global (Guía de llenado del CFDI global, Receptor)."""
    return Customer(PUBLIC_RFC, PUBLIC_NAME, issuer_zip, GENERIC_REGIME, GENERIC_USE)


def global_period_problems(issuer_regime: str, periodicity: str, months: str, year: int,
                           issued_year: int) -> list[FieldProblem]:
    """InformacionGlobal checks (Guía de llenado del CFDI global, Periodicidad, Meses, Año)."""
    problems = []
    if catalogs.periodicity(periodicity) is None:
        problems.append(FieldProblem("periodicity", "PERIODICITY_INVALID",
                                     "La periodicidad debe ser una clave de c_Periodicidad: 01 diario, 02 semanal, "
                                     "03 quincenal, 04 mensual o 05 bimestral."))
    elif periodicity == BIMONTHLY and issuer_regime != BIMONTHLY_REGIME:
        problems.append(FieldProblem("periodicity", "PERIODICITY_NOT_ALLOWED",
                                     "La periodicidad bimestral (05) solo aplica al Régimen de Incorporación Fiscal (621)."))
    if catalogs.month(months) is None:
        problems.append(FieldProblem("months", "MONTHS_INVALID",
                                     "El mes debe ser una clave de c_Meses: 01 a 12, o 13 a 18 para bimestres."))
    elif (periodicity == BIMONTHLY) != (months in _BIMONTHLY_MONTHS):
        problems.append(FieldProblem("months", "MONTHS_INVALID",
                                     "Con periodicidad bimestral el mes va de 13 (enero-febrero) a 18 (noviembre-diciembre); "
                                     "con las demás periodicidades, de 01 a 12."))
    if year not in (issued_year, issued_year - 1):
        problems.append(FieldProblem("year", "YEAR_OUT_OF_RANGE",
                                     f"El año debe ser el de emisión ({issued_year}) o el anterior ({issued_year - 1})."))
    return problems


def global_payment_form(tickets) -> str:
    """FormaPago of a factura global: the form that paid the largest amount; on a tie, the
    lowest code (the Guía lets the taxpayer choose among them)."""
    amounts: dict[str, Decimal] = {}
    for t in tickets:
        amounts[t.payment_form] = amounts.get(t.payment_form, Decimal(0)) + t.total
    return min(amounts, key=lambda form: (-amounts[form], form))


def build_signed_global_cfdi(request: GlobalInvoiceRequest, csd: CsdMaterial) -> SignedCfdi:
    """Build, seal and validate one factura global (sync; run in a thread)."""
    issued_at = _local_time(request)
    problems = global_period_problems(request.issuer.tax_regime, request.periodicity, request.months,
                                      request.year, issued_at.year)
    if not request.tickets:
        problems.append(FieldProblem("tickets", "NOTHING_TO_INVOICE", "No hay tickets que facturar."))
    if catalogs.postal_code(request.issuer.zip_code) is None:
        problems.append(FieldProblem("issuer.zipCode", "ZIP_CODE_INVALID",
                                     "El código postal del lugar de expedición no está en el catálogo del SAT."))
    if len(request.series or "") > 25 or len(request.folio or "") > 40:
        problems.append(FieldProblem("series", "SERIES_FOLIO_TOO_LONG",
                                     "La serie admite hasta 25 caracteres y el folio hasta 40."))
    if problems:
        raise CfdiBuildError(problems)
    customer = public_customer(request.issuer.zip_code)
    if issues := check_customer(customer, global_invoice=True, issuer_zip=request.issuer.zip_code):
        raise AssertionError(f"público en general receptor refused: {issues}")
    payment_form = global_payment_form(request.tickets)
    if catalogs.payment_form(payment_form) is None or payment_form == PAYMENT_FORM_TO_BE_DEFINED:
        raise CfdiBuildError([FieldProblem("paymentForm", "PAYMENT_FORM_INVALID",
                                           f"La forma de pago {payment_form!r} no sirve con MetodoPago PUE.")])
    try:
        concepts = build_global_concepts(request.tickets)
    except ConceptError as exc:
        raise CfdiBuildError([FieldProblem("tickets", "LINES_INVALID",
                                           f"Los tickets no se pueden facturar: {exc}")]) from exc
    totals = summarize(concepts)
    tickets_total = sum((t.total for t in request.tickets), Decimal("0.00"))
    # The tickets are the truth: Total == Σ tickets to the cent.
    if totals.total != tickets_total:
        raise AssertionError(f"CFDI total {totals.total} != tickets total {tickets_total}")
    for c in concepts:
        if issues := check_concept(c):
            raise AssertionError(f"concept arithmetic outside Anexo 20 limits: {issues}")
    return _seal(request.issuer, customer, concepts, totals, payment_form, request.series, request.folio,
                 issued_at, csd, (request.periodicity, request.months, request.year))
