"""Repositories: all SQL lives here (CONVENTIONS 1), one module per aggregate."""
from persistence.repositories.api_keys import ApiKeyRepository
from persistence.repositories.base import Cursor, RepositoryBase
from persistence.repositories.branding import BrandingRepository
from persistence.repositories.counters import CounterRepository
from persistence.repositories.csd_notices import CsdNoticeRepository
from persistence.repositories.documents import GlobalInvoiceRepository, InvoiceRepository, StampedDocumentRepository
from persistence.repositories.merchants import MerchantRepository
from persistence.repositories.outbox import OutboxRepository
from persistence.repositories.pac_calls import PacCallRepository
from persistence.repositories.sales import SaleRepository
from persistence.repositories.throttle import ThrottleRepository
from persistence.repositories.webhooks import WebhookDeliveryRepository, WebhookEndpointRepository

__all__ = [
    "ApiKeyRepository", "BrandingRepository", "CounterRepository", "CsdNoticeRepository", "Cursor",
    "GlobalInvoiceRepository", "InvoiceRepository", "MerchantRepository", "WebhookDeliveryRepository",
    "WebhookEndpointRepository",
    "OutboxRepository", "PacCallRepository", "RepositoryBase", "SaleRepository", "StampedDocumentRepository", "ThrottleRepository",
]
