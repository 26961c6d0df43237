"""Stamping (timbrado) through a PAC. `build_pac` picks the client from settings.

`sandbox` (embedded, no fiscal validity), `finkok` (SOAP, finkok.py) and `sw` (SW Sapien,
REST, sw.py); the real ones are httpx clients (http.py) and every one subclasses
`BasePac` (timeouts + idempotency by document hash). emulator/ serves both protocols
locally for the tests and for development.
"""
from __future__ import annotations

from pathlib import Path

from .base import (
    CANCELLATION_REASONS,
    DEFAULT_TIMEOUT,
    BasePac,
    CancelResult,
    FileStampStore,
    MemoryStampStore,
    Pac,
    StampingError,
    StampingTimeout,
    StampResult,
    StampStore,
    StatusResult,
)
from .sandbox import SANDBOX_LEYENDA, SANDBOX_RFC_PROV_CERTIF, SandboxPac
from .verify import tfd_info, verify_tfd

__all__ = [
    "CANCELLATION_REASONS",
    "DEFAULT_TIMEOUT",
    "SANDBOX_LEYENDA",
    "SANDBOX_RFC_PROV_CERTIF",
    "BasePac",
    "CancelResult",
    "FileStampStore",
    "MemoryStampStore",
    "Pac",
    "SandboxPac",
    "StampResult",
    "StampStore",
    "StampingError",
    "StampingTimeout",
    "StatusResult",
    "build_pac",
    "tfd_info",
    "verify_tfd",
]

_KINDS = ("sandbox", "finkok", "sw")


def build_pac(
    kind: str, state_dir: Path, timeout: float = DEFAULT_TIMEOUT, *, username: str = "", password: str = "",
    token: str = "", environment: str = "test", url: str = "",
) -> Pac:
    """The PAC client named by `kind` (settings PAC, PAC_USERNAME, PAC_PASSWORD, PAC_TOKEN,
    PAC_ENVIRONMENT, PAC_URL, PAC_TIMEOUT_SECONDS). Raises ValueError for an unknown kind
    or missing credentials."""
    normalized = (kind or "").strip().lower()
    if normalized == "sandbox":
        return SandboxPac(Path(state_dir), timeout=timeout)
    if environment not in ("test", "production"):
        raise ValueError("PAC_ENVIRONMENT must be test or production")
    if normalized == "finkok":
        from .finkok import HOSTS, FinkokPac

        if not (username and password):
            raise ValueError("PAC=finkok needs PAC_USERNAME and PAC_PASSWORD")
        return FinkokPac(username, password, url or HOSTS[environment], timeout)
    if normalized == "sw":
        from .sw import HOSTS as SW_HOSTS
        from .sw import SAT_STATUS_URL, SwPac

        if not (token or (username and password)):
            raise ValueError("PAC=sw needs PAC_TOKEN, or PAC_USERNAME and PAC_PASSWORD")
        status_url = f"{url.rstrip('/')}/ConsultaCFDIService.svc" if url else SAT_STATUS_URL
        return SwPac(token=token, username=username, password=password, base_url=url or SW_HOSTS[environment],
                     timeout=timeout, sat_status_url=status_url)
    raise ValueError(f"Unknown PAC kind {kind!r}; supported: {', '.join(_KINDS)}")
