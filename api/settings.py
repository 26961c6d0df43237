"""One typed settings object, read from the environment (CONVENTIONS 11).

Development generates its secrets once and keeps them in ``var/secrets.json`` so tokens
and encrypted keys survive restarts; production refuses to start without real ones.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_URL = "sqlite+aiosqlite:///./autofactura.db"
_MIN_SECRET_LEN = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    database_url: str = DEFAULT_SQLITE_URL
    # PostgreSQL connections per server process, all kept open (no overflow: a connection
    # opened past the pool and closed on its return cost a backend start per request under
    # load, issue 16); a request waits for a free one. Mind max_connections: processes x this.
    database_pool_size: int = Field(default=20, ge=1, le=500)
    public_url: str = "http://127.0.0.1:8000"
    var_dir: Path = Path("var")

    jwt_secret: str = ""
    # Old secrets still accepted for decoding while tokens signed with them expire.
    jwt_previous_secrets: list[str] = Field(default_factory=list)
    jwt_issuer: str = "autofactura"
    merchant_token_minutes: int = 12 * 60
    ticket_token_minutes: int = 15
    invoice_token_days: int = 30
    download_link_minutes: int = 10

    # Encrypts the merchants' CSD private keys and their passwords at rest.
    encryption_secret: str = ""

    # The PAC (issue 11): sandbox (embedded, no fiscal validity) | finkok | sw.
    pac: Literal["sandbox", "finkok", "sw"] = "sandbox"
    pac_username: str = ""  # Finkok user, or SW user (with PAC_PASSWORD)
    pac_password: str = ""
    pac_token: str = ""  # SW account token (instead of user and password)
    pac_environment: Literal["test", "production"] = "test"  # the PAC's demo or production host
    pac_url: str = ""  # overrides the host: a proxy, or `autofactura pac emulate`
    pac_timeout_seconds: float = 30.0
    # A production deployment with the sandbox issues invoices with no fiscal validity.
    allow_sandbox_in_production: bool = False
    pdf_workers: int = 2

    smtp_host: str = ""
    smtp_port: int = 587
    smtp_tls: bool = False  # implicit TLS (port 465)
    smtp_starttls: bool = True
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_timeout_seconds: float = 15.0
    mail_from: str = "facturas@autofactura.local"

    redis_url: str = ""  # throttling counters in Redis when set, else in the database
    # Proof-of-work challenges (ALTCHA) asked for past a company's or an e-mail's burst of
    # failed attempts. The HMAC key signs them; empty: derived from JWT_SECRET.
    altcha_hmac_key: str = ""
    challenge_cost: int = 1000  # PBKDF2-SHA-256 iterations per key derivation
    challenge_max_number: int = 5000  # a solution takes 1/2..1 of this many derivations
    challenge_minutes: int = 10  # at most the 15-minute throttle window (replays are refused that long)
    # Failed lookups per company number per 15 minutes answered before every lookup of that
    # company needs a solved challenge (0: always a challenge).
    lookup_company_burst: int = 100

    # registerMerchant over GraphQL (self-service onboarding). Unset: allowed outside
    # production, refused in production (merchants come from `autofactura merchant create`).
    allow_signup: bool | None = None

    # Origins allowed to call the API from a browser (a merchant's own portal domain);
    # JSON list, e.g. ["https://facturas.mitienda.mx"]. Empty: same origin only.
    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = 1 << 20
    # The reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed, as
    # uvicorn reads them: comma-separated addresses or networks ("10.0.0.2,10.1.0.0/16")
    # or "*". Empty (the default): nobody's, not even 127.0.0.1's, so a client cannot pick
    # its own throttle bucket by sending the header; a local proxy's clients would
    # otherwise all share, or dodge, one address's limits.
    forwarded_allow_ips: str = ""

    # Logs (api/logs.py): one JSON object per line, or text. Unset: json in production, text
    # elsewhere.
    log_format: Literal["json", "text"] | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # GET /metrics (Prometheus) asks for `Authorization: Bearer <METRICS_TOKEN>` when set;
    # unset, it answers anyone who reaches it (keep it off the public proxy then).
    metrics_token: str = ""

    max_query_depth: int = 10
    max_aliases: int = 15
    max_tokens: int = 2000

    @model_validator(mode="after")
    def _secrets(self) -> "Settings":
        if not 1 <= self.challenge_minutes <= 15:
            raise ValueError("CHALLENGE_MINUTES must be between 1 and 15 (the throttle window keeps used challenges)")
        if self.env == "production":
            for name in ("jwt_secret", "encryption_secret"):
                if len(getattr(self, name)) < _MIN_SECRET_LEN:
                    raise ValueError(f"{name.upper()} must be set to at least {_MIN_SECRET_LEN} characters in production")
            if self.altcha_hmac_key and len(self.altcha_hmac_key) < _MIN_SECRET_LEN:
                raise ValueError(f"ALTCHA_HMAC_KEY must be at least {_MIN_SECRET_LEN} characters in production")
            if self.database_url == DEFAULT_SQLITE_URL:
                pass  # allowed: an embedded single-node deployment
            if self.pac == "sandbox" and not self.allow_sandbox_in_production:
                raise ValueError(
                    "PAC=sandbox issues invoices with no fiscal validity: set PAC=finkok or PAC=sw in production "
                    "(or ALLOW_SANDBOX_IN_PRODUCTION=true for a demo)"
                )
        if self.pac == "finkok" and not (self.pac_username and self.pac_password):
            raise ValueError("PAC=finkok needs PAC_USERNAME and PAC_PASSWORD")
        if self.pac == "sw" and not (self.pac_token or (self.pac_username and self.pac_password)):
            raise ValueError("PAC=sw needs PAC_TOKEN, or PAC_USERNAME and PAC_PASSWORD")
        if self.pac_timeout_seconds <= 0:
            raise ValueError("PAC_TIMEOUT_SECONDS must be positive")
        if self.env != "production":
            kept = _kept_dev_secrets(self.var_dir)
            if not self.jwt_secret:
                self.jwt_secret = kept["jwt_secret"]
            if not self.encryption_secret:
                self.encryption_secret = kept["encryption_secret"]
        return self

    @property
    def challenge_hmac_key(self) -> str:
        if self.altcha_hmac_key:
            return self.altcha_hmac_key
        return hmac.new(self.jwt_secret.encode(), b"autofactura altcha challenges", hashlib.sha256).hexdigest()

    @property
    def effective_log_format(self) -> str:
        return self.log_format or ("json" if self.is_production else "text")

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def signup_allowed(self) -> bool:
        return self.allow_signup if self.allow_signup is not None else not self.is_production

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _kept_dev_secrets(var_dir: Path) -> dict[str, str]:
    path = var_dir / "secrets.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        pass
    var_dir.mkdir(parents=True, exist_ok=True)
    data = {"jwt_secret": secrets.token_urlsafe(48), "encryption_secret": secrets.token_urlsafe(48)}
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    try:
        os.link(tmp, path)  # first writer wins when two processes start at once
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    return json.loads(path.read_text())


@lru_cache
def get_settings() -> Settings:
    return Settings()
