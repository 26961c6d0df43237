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
from services.cfdi.concepts import ConceptError, TransferSummary, build_concepts, check_concept, summarize
from services.cfdi.csd import open_csd
from services.cfdi.rules import check_customer, normalize_legal_name, normalize_rfc, rfc_person_type
from services.cfdi.verify import cadena_original
from services.cfdi.xsd import validate_tree
from services.types import CsdMaterial, FieldProblem, InvoiceRequest

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


def _local_time(request: InvoiceRequest) -> datetime:
    """Comprobante@Fecha: local time where the CFDI is issued, AAAA-MM-DDThh:mm:ss
    (Anexo 20, Fecha; the zone comes from LugarExpedicion's c_CodigoPostal huso horario)."""
    zone = catalogs.time_zone_for(request.issuer.zip_code)
    moment = request.issued_at or datetime.now(timezone.utc)
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def _request_problems(request: InvoiceRequest) -> list[FieldProblem]:
    problems = check_customer(request.customer, global_invoice=False, issuer_zip=request.issuer.zip_code)
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

    issued_at = _local_time(request)
    zone = catalogs.time_zone_for(request.issuer.zip_code)
    info, cert, key = open_csd(csd.certificate_der, csd.private_key_der, csd.password,
                               now=issued_at.replace(tzinfo=zone))
    issuer_rfc = normalize_rfc(request.issuer.rfc)
    if info.rfc != issuer_rfc:
        # Emisor@Rfc must be the RFC of the certificate that seals (Anexo 20, Emisor@Rfc).
        raise CfdiBuildError([FieldProblem("issuer.rfc", "ISSUER_RFC_MISMATCH",
                                           "El RFC del emisor no es el del CSD cargado.")])

    customer = request.customer
    customer_rfc = normalize_rfc(customer.rfc)
    customer_name = normalize_legal_name(customer.legal_name, rfc_person_type(customer_rfc) or "MORAL")
    issuer_name = normalize_legal_name(request.issuer.legal_name, info.person_type)
    comprobante = satcfdi_adapter.build_unsigned(
        issuer=request.issuer.__class__(issuer_rfc, issuer_name, request.issuer.tax_regime, request.issuer.zip_code),
        issuer_name=issuer_name,
        customer=customer.__class__(customer_rfc, customer_name, customer.zip_code.strip(),
                                    customer.tax_regime.strip(), customer.cfdi_use.strip(), customer.email),
        customer_name=customer_name,
        concepts=concepts,
        totals=totals,
        payment_form=request.payment_form,
        series=request.series,
        folio=request.folio,
        issued_at=issued_at,
        certificate_number=info.certificate_number,
        certificate_der=csd.certificate_der,
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
