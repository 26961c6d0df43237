"""What the customer's portal answers: the results of a ticket lookup and of issuing."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from services.invoicing.issuing import StampFailed
from services.invoicing.views import InvoiceView
from services.kernel.results import Invalid
from services.portal.policy import NotInvoiceableReason


@dataclass(frozen=True)
class ConceptLine:
    description: str
    quantity: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Invoiceable:
    reference: str
    total: Decimal
    sold_at: datetime
    deadline: datetime
    concepts: tuple[ConceptLine, ...]
    ticket_token: str
    merchant_name: str


@dataclass(frozen=True)
class AlreadyInvoiced:
    invoiced_at: datetime
    masked_rfc: str
    message: str


@dataclass(frozen=True)
class NotInvoiceable:
    reason: NotInvoiceableReason
    deadline: datetime | None
    message: str


@dataclass(frozen=True)
class TicketNotFound:
    message: str
    retry_after_seconds: int | None = None


@dataclass(frozen=True)
class TicketChallenge:
    """Too many failed lookups of this company from all addresses together: solve this
    proof-of-work challenge (ALTCHA JSON) and send the solution with the same lookup."""

    challenge: str
    message: str


@dataclass(frozen=True)
class PortalRefused:
    """Too many unknown company numbers asked from this address (enumeration)."""

    message: str
    retry_after_seconds: int


@dataclass(frozen=True)
class Issued:
    invoice: InvoiceView
    access_token: str


LookupResult = Invoiceable | AlreadyInvoiced | NotInvoiceable | TicketNotFound | TicketChallenge
IssueResult = Issued | Invalid | AlreadyInvoiced | NotInvoiceable | StampFailed

__all__ = [
    "AlreadyInvoiced", "ConceptLine", "Invalid", "Invoiceable", "IssueResult", "Issued", "LookupResult",
    "NotInvoiceable", "PortalRefused", "StampFailed", "TicketChallenge", "TicketNotFound",
]
