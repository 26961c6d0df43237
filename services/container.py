"""The services and configuration a request needs, built once at start-up by api/."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from persistence.uow import UowFactory
from services.security import SecretBox, TokenService


@dataclass
class Services:
    uow_factory: UowFactory
    tokens: TokenService
    box: SecretBox
    public_url: str
    merchant_token_ttl: timedelta = timedelta(hours=12)
    ticket_token_ttl: timedelta = timedelta(minutes=15)
    invoice_token_ttl: timedelta = timedelta(days=30)
    download_link_ttl: timedelta = timedelta(minutes=10)
    production: bool = False
    # Filled in by api.app from the settings: PAC client, PDF renderer, mailer, throttle.
    pac: Any = None
    pdf: Any = None
    mailer: Any = None
    throttle: Any = None
    mail_from: str = "facturas@autofactura.local"
    extras: dict[str, Any] = field(default_factory=dict)
