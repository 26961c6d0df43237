"""Portal mutations: issuing the self-invoice of a looked-up ticket (ticket token)."""
from __future__ import annotations

from typing import assert_never

import base64
from decimal import Decimal
import binascii

import strawberry

from schema.catalogs.types import CatalogEntry
from schema.context import Info
from schema.errors import PublicError
from schema.fields import to_field_errors
from schema.invoicing.types import stamping_failed, to_invoice
from schema.permissions import HasInvoiceToken, HasTicketToken
from schema.portal import types as t
from schema.portal.queries import lookup_to_gql
from services.invoicing.issuing import StampFailed
from services.kernel.results import Invalid, NotFound
from services.kernel.types import Customer
from services.portal import constancia, correct, issue, multi, recover, results
from services.portal.resend import resend_invoice


@strawberry.type
class PortalMutation:
    @strawberry.mutation(permission_classes=[HasTicketToken])
    async def issue_invoice(self, info: Info, input: t.IssueInvoiceInput) -> t.IssueInvoiceResult:
        ctx = info.context
        c = input.customer
        customer = Customer(
            rfc=c.rfc, legal_name=c.legal_name, zip_code=c.zip_code, tax_regime=c.tax_regime,
            cfdi_use=c.cfdi_use, email=c.email or None,
        )
        if input.additional_ticket_tokens:
            outcome = await multi.issue_combined(ctx.services, ctx.require("ticket").claims,
                                                 list(input.additional_ticket_tokens), customer, input.idempotency_key)
        else:
            outcome = await issue.issue_invoice(ctx.services, ctx.require("ticket").claims, customer, input.idempotency_key)
        match outcome:
            case results.Issued():
                return t.InvoiceIssued(invoice=to_invoice(outcome.invoice), access_token=outcome.access_token)
            case Invalid(problems=problems):
                return t.InvalidCustomerData(errors=to_field_errors(problems))
            case StampFailed():
                return stamping_failed(outcome)
            case results.AlreadyInvoiced() | results.NotInvoiceable():
                return lookup_to_gql(outcome)
            case multi.NotCombinable(problems=problems, references=references):
                return t.TicketsNotCombinable(errors=to_field_errors(problems), references=list(references))
            case _:
                assert_never(outcome)

    @strawberry.mutation(
        permission_classes=[HasTicketToken],
        description="Optional pre-fill: read RFC, name, CP and régimenes from the customer's Constancia de Situación "
        "Fiscal (base64 PDF, at most 700 kB). Nothing is stored; never required (CFF art. 83 fr. IX).",
    )
    async def read_constancia(self, info: Info, file: str) -> t.ReadConstanciaResult:
        try:
            pdf = base64.b64decode(file[: constancia.MAX_BYTES * 2], validate=True)
        except (binascii.Error, ValueError):
            pdf = b""
        outcome = await constancia.read_constancia(pdf)
        match outcome:
            case constancia.ConstanciaData():
                return t.ConstanciaRead(
                    rfc=outcome.rfc, legal_name=outcome.legal_name, zip_code=outcome.zip_code,
                    tax_regimes=[CatalogEntry(code=r.code, description=r.description) for r in outcome.tax_regimes],
                )
            case Invalid(problems=problems):
                return t.InvalidConstancia(errors=to_field_errors(problems))
            case _:
                assert_never(outcome)

    @strawberry.mutation(
        permission_classes=[HasInvoiceToken],
        description="The customer corrects their own data (invoice token) while the ticket is inside its "
        f"self-invoicing deadline, at most {correct.MAX_CORRECTIONS} times per ticket: a new CFDI substitutes the old "
        "one (CfdiRelacionados 04) and the old one is cancelled with motivo 01, through the PAC; exactly once.",
    )
    async def correct_invoice(self, info: Info, input: t.CorrectInvoiceInput) -> t.CorrectInvoiceResult:
        ctx = info.context
        c = input.customer
        customer = Customer(
            rfc=c.rfc, legal_name=c.legal_name, zip_code=c.zip_code, tax_regime=c.tax_regime,
            cfdi_use=c.cfdi_use, email=c.email or None,
        )
        outcome = await correct.correct_invoice(ctx.services, ctx.require("invoice").subject, customer)
        match outcome:
            case correct.Corrected():
                return t.InvoiceCorrected(invoice=to_invoice(outcome.invoice), access_token=outcome.access_token,
                                          replaced=to_invoice(outcome.replaced), message=outcome.message)
            case correct.CorrectionRefused(code=code, message=message):
                return t.CorrectionRefused(code=t.CorrectionRefusedCode(code.value), message=message)
            case Invalid(problems=problems):
                return t.InvalidCustomerData(errors=to_field_errors(problems))
            case StampFailed():
                return stamping_failed(outcome)
            case NotFound(message=message):
                raise PublicError(message, "NOT_FOUND")
            case _:
                assert_never(outcome)

    @strawberry.mutation(
        description="Recover a lost invoice with the ticket's three data and the full RFC it was issued to: "
        "InvoiceIssued with a fresh accessToken. Anything that does not match answers TicketNotFound, "
        "throttled like the ticket lookup.",
    )
    async def recover_invoice(
        self, info: Info, company_number: str, reference: str, total: Decimal, rfc: str,
    ) -> t.RecoverInvoiceResult:
        ctx = info.context
        outcome = await recover.recover_invoice(ctx.services, company_number, reference, total, rfc, ctx.client_address)
        match outcome:
            case results.Issued():
                return t.InvoiceIssued(invoice=to_invoice(outcome.invoice), access_token=outcome.access_token)
            case results.TicketNotFound():
                return t.TicketNotFound(message=outcome.message, retry_after_seconds=outcome.retry_after_seconds)
            case _:
                assert_never(outcome)

    @strawberry.mutation(
        permission_classes=[HasInvoiceToken],
        description="E-mail the invoice's XML and PDF again (invoice token), to the same or another address.",
    )
    async def resend_invoice(self, info: Info, email: str) -> t.ResendInvoiceResult:
        ctx = info.context
        outcome = await resend_invoice(ctx.services, ctx.require("invoice").subject, email)
        match outcome:
            case str():
                return t.InvoiceResent(email=outcome)
            case Invalid(problems=problems):
                return t.InvalidResend(errors=to_field_errors(problems))
            case NotFound(message=message):
                raise PublicError(message, "NOT_FOUND")
            case _:
                assert_never(outcome)
