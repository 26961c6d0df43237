"""Stable English error codes, one closed set per domain (Saleor's per-domain ErrorCode).

A FieldProblem's code is always a member of one of these (tests/services/test_codes.py
reads every FieldProblem the services build and checks it). The GraphQL layer exposes
their union as `enum ErrorCode` on FieldError.errorCode, so typed clients (the generated
TypeScript) get a closed set; FieldError.code keeps the same value as a string (the core
contract's field).
"""
from __future__ import annotations

from enum import StrEnum


class CustomerErrorCode(StrEnum):
    """The receptor's data in issueInvoice (Anexo 20 Receptor; the PAC's CFDI40xxx checks)."""

    RFC_REQUIRED = "RFC_REQUIRED"
    RFC_INVALID = "RFC_INVALID"
    RFC_CHECK_DIGIT = "RFC_CHECK_DIGIT"
    RFC_GENERIC_NOT_ALLOWED = "RFC_GENERIC_NOT_ALLOWED"
    NAME_REQUIRED = "NAME_REQUIRED"
    NAME_TOO_LONG = "NAME_TOO_LONG"  # cfdv40.xsd Receptor@Nombre maxLength 300
    NAME_INVALID = "NAME_INVALID"  # a character Receptor@Nombre cannot carry ("|", control)
    NAME_CAPITAL_REGIME = "NAME_CAPITAL_REGIME"  # a persona física with "S.A. de C.V."
    ZIP_CODE_INVALID = "ZIP_CODE_INVALID"
    TAX_REGIME_INVALID = "TAX_REGIME_INVALID"
    TAX_REGIME_PERSON_TYPE = "TAX_REGIME_PERSON_TYPE"
    CFDI_USE_INVALID = "CFDI_USE_INVALID"
    CFDI_USE_NOT_ALLOWED = "CFDI_USE_NOT_ALLOWED"
    EMAIL_INVALID = "EMAIL_INVALID"
    # resendInvoice
    INVOICE_NOT_READY = "INVOICE_NOT_READY"
    TOO_MANY_EMAILS = "TOO_MANY_EMAILS"


class DocumentErrorCode(StrEnum):
    """What the CFDI engine refuses while building a document from stored data."""

    PAYMENT_FORM_INVALID = "PAYMENT_FORM_INVALID"
    ZIP_CODE_INVALID = "ZIP_CODE_INVALID"
    SERIES_FOLIO_TOO_LONG = "SERIES_FOLIO_TOO_LONG"
    LINES_INVALID = "LINES_INVALID"
    ISSUER_RFC_MISMATCH = "ISSUER_RFC_MISMATCH"
    TICKET_TOTAL_MISMATCH = "TICKET_TOTAL_MISMATCH"
    NOTHING_TO_INVOICE = "NOTHING_TO_INVOICE"


class SaleErrorCode(StrEnum):
    """recordSale and cancelSale."""

    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    INVALID = "INVALID"
    IN_FUTURE = "IN_FUTURE"
    PAYMENT_FORM_INVALID = "PAYMENT_FORM_INVALID"
    EMAIL_INVALID = "EMAIL_INVALID"
    TOO_MANY = "TOO_MANY"
    PRODUCT_KEY_INVALID = "PRODUCT_KEY_INVALID"
    UNIT_KEY_INVALID = "UNIT_KEY_INVALID"
    NOT_POSITIVE = "NOT_POSITIVE"
    TOO_MANY_DECIMALS = "TOO_MANY_DECIMALS"
    NEGATIVE = "NEGATIVE"
    TOO_LARGE = "TOO_LARGE"
    TAX_TYPE_INVALID = "TAX_TYPE_INVALID"
    TAX_DUPLICATED = "TAX_DUPLICATED"
    EXEMPT_NOT_ALLOWED = "EXEMPT_NOT_ALLOWED"
    RATE_WITH_EXEMPT = "RATE_WITH_EXEMPT"
    RATE_NOT_ALLOWED = "RATE_NOT_ALLOWED"
    IVA_REQUIRED = "IVA_REQUIRED"
    IEPS_WITH_EXEMPT_IVA = "IEPS_WITH_EXEMPT_IVA"
    TOTAL_NOT_POSITIVE = "TOTAL_NOT_POSITIVE"
    DUPLICATE_REFERENCE = "DUPLICATE_REFERENCE"
    NOT_FOUND = "NOT_FOUND"
    SALE_NOT_CANCELLABLE = "SALE_NOT_CANCELLABLE"


class MerchantErrorCode(StrEnum):
    """Registration from a CSD and the self-invoicing settings."""

    EMAIL_INVALID = "EMAIL_INVALID"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    PASSWORD_TOO_SHORT = "PASSWORD_TOO_SHORT"
    TAX_REGIME_INVALID = "TAX_REGIME_INVALID"
    TAX_REGIME_PERSON_TYPE = "TAX_REGIME_PERSON_TYPE"
    ZIP_CODE_INVALID = "ZIP_CODE_INVALID"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    PRODUCT_KEY_INVALID = "PRODUCT_KEY_INVALID"
    UNIT_KEY_INVALID = "UNIT_KEY_INVALID"
    TOO_LONG = "TOO_LONG"
    REQUIRED = "REQUIRED"
    # the CSD (services/cfdi/csd.py)
    INVALID_CERTIFICATE = "INVALID_CERTIFICATE"
    NOT_A_CSD = "NOT_A_CSD"
    KEY_MISMATCH = "KEY_MISMATCH"
    WRONG_PASSWORD = "WRONG_PASSWORD"
    EXPIRED = "EXPIRED"
    SERIES_INVALID = "SERIES_INVALID"  # cfdv40.xsd Comprobante@Serie
    SERIES_RESERVED = "SERIES_RESERVED"  # the facturas globales' own series
    # updateBranding
    DISPLAY_NAME_INVALID = "DISPLAY_NAME_INVALID"
    COLOR_INVALID = "COLOR_INVALID"
    LOGO_TOO_LARGE = "LOGO_TOO_LARGE"
    LOGO_INVALID = "LOGO_INVALID"
    NOT_BASE64 = "NOT_BASE64"  # a .cer or .key sent over the API that is not base64
    RFC_MISMATCH = "RFC_MISMATCH"  # replaceCsd: the new CSD belongs to another RFC
    DESCRIPTION_INVALID = "DESCRIPTION_INVALID"  # generic concept: "|" or control characters (cfdv40.xsd Descripcion)


class CancellationErrorCode(StrEnum):
    """cancelInvoice (c_MotivoCancelacion; RMF 2.7.1.34)."""

    NOT_FOUND = "NOT_FOUND"
    REASON_INVALID = "REASON_INVALID"
    REPLACEMENT_REQUIRED = "REPLACEMENT_REQUIRED"
    REPLACEMENT_NOT_ALLOWED = "REPLACEMENT_NOT_ALLOWED"
    REPLACEMENT_INVALID = "REPLACEMENT_INVALID"
    REPLACEMENT_NOT_FOUND = "REPLACEMENT_NOT_FOUND"
    REPLACEMENT_IS_SAME_INVOICE = "REPLACEMENT_IS_SAME_INVOICE"
    REPLACEMENT_NOT_ISSUED = "REPLACEMENT_NOT_ISSUED"
    INVOICE_NOT_CANCELLABLE = "INVOICE_NOT_CANCELLABLE"


class GlobalInvoiceErrorCode(StrEnum):
    """issueGlobalInvoice (InformacionGlobal; Guía de llenado del CFDI global)."""

    PERIODICITY_INVALID = "PERIODICITY_INVALID"
    PERIODICITY_NOT_ALLOWED = "PERIODICITY_NOT_ALLOWED"
    PERIODICITY_NOT_SUPPORTED = "PERIODICITY_NOT_SUPPORTED"
    MONTHS_INVALID = "MONTHS_INVALID"
    YEAR_OUT_OF_RANGE = "YEAR_OUT_OF_RANGE"
    PERIOD_NOT_ENDED = "PERIOD_NOT_ENDED"


class ApiKeyErrorCode(StrEnum):
    """createApiKey and revokeApiKey."""

    NAME_REQUIRED = "NAME_REQUIRED"
    NAME_INVALID = "NAME_INVALID"
    SCOPES_REQUIRED = "SCOPES_REQUIRED"
    SCOPE_NOT_HELD = "SCOPE_NOT_HELD"
    TOO_MANY_KEYS = "TOO_MANY_KEYS"
    NOT_FOUND = "NOT_FOUND"


class WebhookErrorCode(StrEnum):
    """createWebhookEndpoint, deleteWebhookEndpoint, retryWebhookDelivery."""

    URL_INVALID = "URL_INVALID"
    URL_NOT_HTTPS = "URL_NOT_HTTPS"
    URL_NOT_PUBLIC = "URL_NOT_PUBLIC"
    EVENTS_REQUIRED = "EVENTS_REQUIRED"
    TOO_MANY_ENDPOINTS = "TOO_MANY_ENDPOINTS"
    NOT_FOUND = "NOT_FOUND"


class ConstanciaErrorCode(StrEnum):
    """readConstancia: the optional Constancia de Situación Fiscal pre-fill."""

    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    NOT_A_PDF = "NOT_A_PDF"
    UNREADABLE = "UNREADABLE"
    NOT_A_CONSTANCIA = "NOT_A_CONSTANCIA"


class PacErrorCode(StrEnum):
    """Why a call to a real PAC failed (services/stamping): StampingError.code and the
    audit log's outcome. Not FieldProblem codes (no input field is wrong), so not in
    DOMAIN_CODES; GraphQL shows them only inside a StampFailed's message for now."""

    PAC_TIMEOUT = "PAC_TIMEOUT"  # no answer in PAC_TIMEOUT_SECONDS (retryable; may have stamped)
    PAC_UNAVAILABLE = "PAC_UNAVAILABLE"  # connection refused/reset, HTTP 5xx (retryable)
    PAC_BAD_ANSWER = "PAC_BAD_ANSWER"  # an answer we cannot read (retryable; may have stamped)
    SAT_UNAVAILABLE = "SAT_UNAVAILABLE"  # Finkok 708: SAT unreachable, retry later
    PAC_CREDENTIALS = "PAC_CREDENTIALS"  # Finkok 300 / SW 401: PAC_USERNAME, PAC_PASSWORD or PAC_TOKEN wrong
    CFDI_REFUSED = "CFDI_REFUSED"  # 301/302/303/304/305/306/401/705/707: the document is refused
    STAMP_NOT_READY = "STAMP_NOT_READY"  # 307 and the PAC cannot hand the earlier stamp yet (retryable)
    CANCEL_REFUSED = "CANCEL_REFUSED"  # 203, 205, 207, 208, no_cancelable, 711 ...
    CANCEL_THROTTLED = "CANCEL_THROTTLED"  # 798/799: earlier request pending or too many requests
    PAC_ERROR = "PAC_ERROR"  # anything else the PAC answered
    CSD_CANNOT_SIGN = "CSD_CANNOT_SIGN"  # the merchant's CSD could not sign the cancellation request


class PaginationErrorCode(StrEnum):
    CURSOR_INVALID = "CURSOR_INVALID"


DOMAIN_CODES: tuple[type[StrEnum], ...] = (
    CustomerErrorCode, DocumentErrorCode, SaleErrorCode, MerchantErrorCode,
    CancellationErrorCode, GlobalInvoiceErrorCode, PaginationErrorCode, ApiKeyErrorCode, WebhookErrorCode,
    ConstanciaErrorCode,
)


def all_codes() -> list[str]:
    """Every code of every domain, once, sorted: the GraphQL ErrorCode enum's values."""
    return sorted({member.value for enum in DOMAIN_CODES for member in enum})
