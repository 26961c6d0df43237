"""Stamping (timbrado) through a PAC. `build_pac` picks the client from settings.

Only the embedded sandbox exists today; a real PAC client subclasses `BasePac`
(timeouts + idempotency by document hash come with it) and is added to `_KINDS`.
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

_KINDS = ("sandbox",)


def build_pac(kind: str, state_dir: Path, timeout: float = DEFAULT_TIMEOUT) -> Pac:
    """The PAC client named by `kind` (settings). Raises ValueError for an unknown kind."""
    normalized = (kind or "").strip().lower()
    if normalized == "sandbox":
        return SandboxPac(Path(state_dir), timeout=timeout)
    raise ValueError(f"Unknown PAC kind {kind!r}; supported: {', '.join(_KINDS)}")
