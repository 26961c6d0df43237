"""The PAC (Proveedor Autorizado de Certificación) interface and what every client shares.

A PAC receives a sealed CFDI and returns it with a TimbreFiscalDigital (TFD) complement;
it also cancels and answers status queries. This module defines:

- the results (`StampResult`, `CancelResult`, `StatusResult`) and errors
  (`StampingError`, `StampingTimeout`) every client returns or raises;
- `Pac`, the protocol the rest of the code depends on;
- `BasePac`, which wraps each call in `asyncio.timeout` and makes `stamp` idempotent by
  the SHA-256 of the document: the same bytes stamped twice return the first stamp
  (same UUID) instead of asking the PAC again;
- two idempotency stores: `MemoryStampStore` (one process) and `FileStampStore` (a
  directory shared by several processes of one host).

Why idempotency lives here and not in the caller: a retry after a timeout or a crash
must never produce a second UUID for the same invoice, because a second stamped CFDI is
a second invoice at SAT that then has to be cancelled.
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import tempfile
import threading
import uuid as uuid_module
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol, runtime_checkable

try:  # POSIX: kernel locks that die with their process (no stale lock after a crash).
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

DEFAULT_TIMEOUT = 30.0

# SAT's c_MotivoCancelacion (Anexo 20, catálogo de motivos de cancelación).
CANCELLATION_REASONS = {
    "01": "Comprobante emitido con errores con relación",
    "02": "Comprobante emitido con errores sin relación",
    "03": "No se llevó a cabo la operación",
    "04": "Operación nominativa relacionada en una factura global",
}

STATUS_ACTIVE = "Vigente"
STATUS_CANCELLED = "Cancelado"
STATUS_NOT_FOUND = "No Encontrado"
STATUS_REQUESTED = "Solicitada"  # a real PAC's 201/202: SAT received the request, it decides
# SAT's EstatusCancelacion (ConsultaCFDIService) while and after the receiver decides
CANCELLATION_IN_PROCESS = "En proceso"
CANCELLATION_REJECTED = "Solicitud rechazada"


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class StampResult:
    xml: bytes  # the stamped CFDI, exactly as the PAC returned it
    uuid: str  # folio fiscal, upper case
    stamped_at: datetime  # FechaTimbrado as an aware UTC datetime
    sat_certificate_number: str  # NoCertificadoSAT
    is_sandbox: bool  # True: the stamp has no fiscal validity

    def to_json(self) -> str:
        return json.dumps(
            {
                "xml": base64.b64encode(self.xml).decode("ascii"),
                "uuid": self.uuid,
                "stamped_at": self.stamped_at.isoformat(),
                "sat_certificate_number": self.sat_certificate_number,
                "is_sandbox": self.is_sandbox,
            }
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> StampResult:
        data = json.loads(text)
        return cls(
            xml=base64.b64decode(data["xml"]),
            uuid=data["uuid"],
            stamped_at=datetime.fromisoformat(data["stamped_at"]),
            sat_certificate_number=data["sat_certificate_number"],
            is_sandbox=bool(data["is_sandbox"]),
        )


@dataclass(frozen=True)
class CancelResult:
    uuid: str
    status: str  # "Cancelado" (sandbox cancels at once) or STATUS_REQUESTED (a real PAC: SAT decides)
    reason: str  # c_MotivoCancelacion 01..04
    replacement_uuid: str | None
    cancelled_at: datetime  # aware UTC (when the PAC answered)
    is_sandbox: bool
    code: str | None = None  # SAT's EstatusUUID: 201 requested, 202 requested before
    acuse: bytes | None = None  # SAT's acuse (receipt) as the PAC returned it


@dataclass(frozen=True)
class StatusResult:
    uuid: str
    status: str  # "Vigente" | "Cancelado" | "No Encontrado" (SAT's Estado wording)
    cancellation_reason: str | None = None
    replacement_uuid: str | None = None
    cancelled_at: datetime | None = None
    is_sandbox: bool = False
    cancellable: str | None = None  # SAT's EsCancelable
    cancellation_status: str | None = None  # SAT's EstatusCancelacion: En proceso, Solicitud rechazada ...


# ---------------------------------------------------------------------------- errors


class StampingError(Exception):
    """A PAC call failed. `retryable` says whether the same call may succeed later;
    `code` is stable and English (e.g. CFDI_INVALID, PAC_UNAVAILABLE, PAC_TIMEOUT; the
    real PACs' codes are services.kernel.codes.PacErrorCode); `pac_code` and
    `pac_message` keep what the PAC itself answered (Finkok's CodigoError 300, 705 ...)
    for the merchant and the log."""

    def __init__(
        self, message: str, retryable: bool = False, code: str = "STAMPING_ERROR",
        pac_code: str | None = None, pac_message: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.code = code
        self.pac_code = pac_code
        self.pac_message = pac_message

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(code={self.code!r}, retryable={self.retryable}, message={self.message!r}, "
                f"pac_code={self.pac_code!r})")


class StampingTimeout(StampingError):
    def __init__(self, message: str = "El PAC no respondió a tiempo; intenta de nuevo.", code: str = "PAC_TIMEOUT"):
        super().__init__(message, retryable=True, code=code)


# -------------------------------------------------------------------------- protocol


@runtime_checkable
class Pac(Protocol):
    """What the rest of the code depends on.

    - `stamp(xml)`: the stamp of these exact bytes; a second call with the same bytes
      returns the first stamp (the PAC's "307 timbre previo" is recovered, never a failure).
    - `stamped(xml)`: the earlier stamp of these bytes, or None when the PAC confirms it
      never stamped them (only then may the caller seal a new document with a new Fecha).
    - `cancel(...)`: a real PAC needs the cancellation request signed with the issuer's
      CSD (`signed_request`, built by services.cfdi.satcfdi_adapter.signed_cancellation).
    - `status(...)`: SAT's status; a real PAC needs the receptor's RFC and the Total too.
    - `is_sandbox`: True when its stamps have no fiscal validity.
    """

    is_sandbox: bool

    async def stamp(self, xml: bytes, *, idempotency_key: str | None = None) -> StampResult: ...

    async def stamped(self, xml: bytes, *, idempotency_key: str | None = None) -> StampResult | None: ...

    async def cancel(
        self, uuid: str, rfc_emisor: str, reason: str, replacement_uuid: str | None = None,
        *, signed_request: bytes | None = None,
    ) -> CancelResult: ...

    async def status(
        self, uuid: str, rfc_emisor: str | None = None, *, rfc_receptor: str | None = None, total: str | None = None,
    ) -> StatusResult: ...

    async def check(self) -> str: ...

    async def aclose(self) -> None: ...


# ------------------------------------------------------------------ idempotency store


class StampStore(Protocol):
    """Where stamps are remembered by document hash.

    `put` is first-writer-wins: it returns whatever result ends up stored. `try_lock` /
    `unlock` mark "someone is stamping this hash right now" so a second caller waits for
    the first instead of obtaining a second UUID.
    """

    def get(self, key: str) -> StampResult | None: ...

    def put(self, key: str, result: StampResult) -> StampResult: ...

    def try_lock(self, key: str) -> bool: ...

    def unlock(self, key: str) -> None: ...


class MemoryStampStore:
    """Idempotency within one process (tests, single-process deployments)."""

    def __init__(self) -> None:
        self._results: dict[str, StampResult] = {}
        self._locked: set[str] = set()
        self._mutex = threading.Lock()

    def get(self, key: str) -> StampResult | None:
        return self._results.get(key)

    def put(self, key: str, result: StampResult) -> StampResult:
        with self._mutex:
            return self._results.setdefault(key, result)

    def try_lock(self, key: str) -> bool:
        with self._mutex:
            if key in self._locked:
                return False
            self._locked.add(key)
            return True

    def unlock(self, key: str) -> None:
        with self._mutex:
            self._locked.discard(key)


class BoundedMemoryStampStore(MemoryStampStore):
    """MemoryStampStore keeping only the last `size` stamps: a real PAC's client needs the
    store only to join concurrent callers of one process (the database lease and the
    PAC's own 307 answer make stamping exactly-once across processes)."""

    def __init__(self, size: int = 256) -> None:
        super().__init__()
        self._size = size

    def put(self, key: str, result: StampResult) -> StampResult:
        with self._mutex:
            stored = self._results.setdefault(key, result)
            while len(self._results) > self._size:
                self._results.pop(next(iter(self._results)))
            return stored


class FileStampStore:
    """Idempotency shared by every process that uses the same directory (one host).

    - Results: `<dir>/<sha256>.json`, written to a temporary file, fsync'ed, then published
      with `os.link`, which fails if the name exists: the first writer wins atomically and
      a reader never sees a half-written file. (Where hard links are unsupported it falls
      back to `os.replace`, still atomic but last-writer-wins; the lock below makes that
      race practically unreachable.)
    - Locks: `<dir>/locks/<sha256>.lock` with `fcntl.flock(LOCK_EX | LOCK_NB)`. The kernel
      drops the lock when the holder exits, so a crashed process leaves no stale lock.
      Without fcntl (Windows) it uses an O_EXCL lock file, removed on unlock.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._locks_dir = self.directory / "locks"
        self._locks_dir.mkdir(parents=True, exist_ok=True)
        self._held: dict[str, int] = {}
        self._mutex = threading.Lock()

    def _path(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError("key must be a lower-case hex SHA-256")
        return self.directory / f"{key}.json"

    def get(self, key: str) -> StampResult | None:
        try:
            return StampResult.from_json(self._path(key).read_bytes())
        except FileNotFoundError:
            return None

    def put(self, key: str, result: StampResult) -> StampResult:
        final = self._path(key)
        tmp = write_temp_file(self.directory, result.to_json().encode("utf-8"), prefix=f".{key}.")
        try:
            try:
                os.link(tmp, final)
            except FileExistsError:
                existing = self.get(key)
                if existing is not None:
                    return existing
                os.replace(tmp, final)  # pragma: no cover - removed between link and read
            except OSError:  # pragma: no cover - filesystem without hard links
                os.replace(tmp, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return result

    def try_lock(self, key: str) -> bool:
        self._path(key)  # validates the key
        path = self._locks_dir / f"{key}.lock"
        with self._mutex:
            if key in self._held:
                return False
            if fcntl is not None:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    return False
            else:  # pragma: no cover - Windows
                try:
                    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
                except FileExistsError:
                    return False
            self._held[key] = fd
            return True

    def unlock(self, key: str) -> None:
        with self._mutex:
            fd = self._held.pop(key, None)
        if fd is None:
            return
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        else:  # pragma: no cover - Windows
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._locks_dir / f"{key}.lock")


def write_temp_file(directory: Path, data: bytes, prefix: str = ".tmp.", mode: int = 0o644) -> str:
    """Write `data` to a new fsync'ed temporary file in `directory`; return its path.
    The caller publishes it with os.replace / os.link (same filesystem, so atomic)."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):  # mkstemp creates 0600
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return tmp


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace `path` with `data` atomically (readers see the old or the new file, never half)."""
    tmp = write_temp_file(path.parent, data, prefix=f".{path.name}.", mode=mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def document_key(xml: bytes) -> str:
    return hashlib.sha256(xml).hexdigest()


# ----------------------------------------------------------------------- base client


class BasePac:
    """Timeouts and idempotency for any PAC client.

    Subclasses implement `_stamp`, `_cancel` and `_status`; callers use `stamp`, `cancel`
    and `status`, which run each call under `asyncio.timeout(self.timeout)` and turn an
    expiry into `StampingTimeout` (retryable). The timeout covers the whole call,
    including waiting for another caller that is stamping the same document.
    """

    #: how often a caller waiting for another process's stamp polls the store
    lock_poll_interval = 0.02
    is_sandbox = False

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, store: StampStore | None = None) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.timeout = timeout
        self.store: StampStore = store if store is not None else MemoryStampStore()
        self._local_locks: dict[str, list] = {}  # key -> [asyncio.Lock, users]

    # -- public API

    async def stamp(self, xml: bytes, *, idempotency_key: str | None = None) -> StampResult:
        """`idempotency_key`: the document's stable id (the invoice's public id), for a PAC
        that takes one (SW's `customid`); the sandbox and Finkok key on the bytes."""
        if not isinstance(xml, (bytes, bytearray, memoryview)):
            raise TypeError("xml must be bytes")
        xml = bytes(xml)
        key = document_key(xml)
        try:
            async with asyncio.timeout(self.timeout):
                async with self._local_lock(key):
                    cached = self.store.get(key)
                    if cached is not None:
                        return cached
                    async with self._store_lock(key):
                        cached = self.store.get(key)  # stamped by another process meanwhile
                        if cached is not None:
                            return cached
                        result = await self._stamp_keyed(xml, idempotency_key)
                        # put() fsyncs: keep it off the event loop.
                        stored = await asyncio.to_thread(self.store.put, key, result)
                        if stored is result:
                            await self._on_stamp_stored(result)
                        return stored
        except TimeoutError as exc:
            raise StampingTimeout(
                f"El PAC no timbró el comprobante en {self.timeout:g} s; intenta de nuevo."
            ) from exc

    async def stamped(self, xml: bytes, *, idempotency_key: str | None = None) -> StampResult | None:
        """The earlier stamp of exactly these bytes, or None when the PAC says it has none."""
        xml = bytes(xml)
        key = document_key(xml)
        cached = self.store.get(key)
        if cached is not None:
            return cached
        result = await self._with_timeout(self._stamped_keyed(xml, idempotency_key), "recuperar el timbre de")
        if result is None:
            return None
        return await asyncio.to_thread(self.store.put, key, result)

    async def cancel(
        self, uuid: str, rfc_emisor: str, reason: str, replacement_uuid: str | None = None,
        *, signed_request: bytes | None = None,
    ) -> CancelResult:
        return await self._with_timeout(
            self._cancel(uuid, rfc_emisor, reason, replacement_uuid, signed_request), "cancelar")

    async def status(
        self, uuid: str, rfc_emisor: str | None = None, *, rfc_receptor: str | None = None, total: str | None = None,
    ) -> StatusResult:
        return await self._with_timeout(self._status(uuid, rfc_emisor, rfc_receptor, total), "consultar el estado de")

    async def check(self) -> str:
        """One authenticated call; what the PAC answered. Raises StampingError."""
        return await self._with_timeout(self._check(), "verificar las credenciales con")

    async def aclose(self) -> None:
        """Close connections (HTTP clients); nothing for the sandbox."""

    # -- for subclasses

    async def _stamp(self, xml: bytes) -> StampResult:
        raise NotImplementedError

    async def _stamped(self, xml: bytes) -> StampResult | None:
        raise NotImplementedError

    async def _stamp_keyed(self, xml: bytes, idempotency_key: str | None) -> StampResult:
        return await self._stamp(xml)

    async def _stamped_keyed(self, xml: bytes, idempotency_key: str | None) -> StampResult | None:
        return await self._stamped(xml)

    async def _check(self) -> str:
        raise NotImplementedError

    async def _on_stamp_stored(self, result: StampResult) -> None:
        """Called once for the stamp that won the idempotency store (e.g. to register it)."""

    async def _cancel(
        self, uuid: str, rfc_emisor: str, reason: str, replacement_uuid: str | None, signed_request: bytes | None
    ) -> CancelResult:
        raise NotImplementedError

    async def _status(
        self, uuid: str, rfc_emisor: str | None, rfc_receptor: str | None, total: str | None
    ) -> StatusResult:
        raise NotImplementedError

    # -- helpers

    async def _with_timeout(self, coro, action: str):
        try:
            async with asyncio.timeout(self.timeout):
                return await coro
        except TimeoutError as exc:
            raise StampingTimeout(
                f"El PAC no respondió en {self.timeout:g} s al {action} el comprobante; intenta de nuevo."
            ) from exc

    @contextlib.asynccontextmanager
    async def _local_lock(self, key: str) -> AsyncIterator[None]:
        # One asyncio.Lock per document hash while anyone in this process uses it.
        entry = self._local_locks.setdefault(key, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                self._local_locks.pop(key, None)

    @contextlib.asynccontextmanager
    async def _store_lock(self, key: str) -> AsyncIterator[None]:
        """Hold the store's lock for `key`, or return once another holder has stored a
        result (the caller then re-reads the store). Polling keeps the wait cancellable,
        so the call's asyncio timeout still applies."""
        acquired = False
        while True:
            if self.store.try_lock(key):
                acquired = True
                break
            if self.store.get(key) is not None:
                break
            await asyncio.sleep(self.lock_poll_interval)
        try:
            yield
        finally:
            if acquired:
                self.store.unlock(key)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def new_uuid() -> str:
    return str(uuid_module.uuid4()).upper()
