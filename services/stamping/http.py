"""What the real PAC clients share: one httpx.AsyncClient per PAC (connections reused,
a timeout on every call), transport failures mapped to stable, retryable codes, and
each call recorded for the audit (services/stamping/audit.py).

httpx because it is already a dependency, is async, pools connections, and its timeouts
cover connect, read, write and pool waits; satcfdi's PAC clients use `requests` without a
timeout, which would block the event loop and hang on a stalled PAC.
"""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx

from services.kernel.codes import PacErrorCode as Code

from . import audit
from .base import DEFAULT_TIMEOUT, BasePac, BoundedMemoryStampStore, StampingError, StampingTimeout, StampResult
from .verify import tfd_info

UNAVAILABLE_TEXT = "El servicio de timbrado (PAC) no está disponible en este momento; intenta de nuevo en unos minutos."
TIMEOUT_TEXT = "El servicio de timbrado (PAC) no respondió en {seconds:g} s; intenta de nuevo."
BAD_ANSWER_TEXT = "El servicio de timbrado (PAC) respondió algo que no pudimos leer; intenta de nuevo."


class HttpPac(BasePac):
    """A PAC reached over HTTP. Subclasses build requests and read answers."""

    kind = "http"

    def __init__(self, base_url: str, timeout: float = DEFAULT_TIMEOUT, *, transport: httpx.AsyncBaseTransport | None = None):
        super().__init__(timeout=timeout, store=BoundedMemoryStampStore())
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=30.0),
            transport=transport,
            headers={"User-Agent": "autofactura"},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _send(
        self, operation: str, method: str, url: str, *, document_hash: str | None = None, uuid: str | None = None,
        **kwargs,
    ) -> tuple[httpx.Response, audit.Timer]:
        """One HTTP exchange. Transport failures become StampingError (retryable) and are
        recorded; an answer is returned with its timer for the caller to record its
        outcome once it has read it (`self._record`)."""
        timer = audit.Timer()
        try:
            response = await self._client.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            self._record(operation, document_hash, uuid, Code.PAC_TIMEOUT, timer)
            raise StampingTimeout(TIMEOUT_TEXT.format(seconds=self.timeout), code=Code.PAC_TIMEOUT) from exc
        except httpx.TransportError as exc:
            self._record(operation, document_hash, uuid, Code.PAC_UNAVAILABLE, timer)
            raise StampingError(UNAVAILABLE_TEXT, retryable=True, code=Code.PAC_UNAVAILABLE,
                                pac_message=f"{type(exc).__name__}: {exc}"[:300]) from exc
        except asyncio.CancelledError:  # BasePac's asyncio.timeout: the answer never came
            self._record(operation, document_hash, uuid, Code.PAC_TIMEOUT, timer)
            raise
        if response.status_code >= 500 and not self._answers_on_5xx(response):
            self._record(operation, document_hash, uuid, Code.PAC_UNAVAILABLE, timer)
            raise StampingError(UNAVAILABLE_TEXT, retryable=True, code=Code.PAC_UNAVAILABLE,
                                pac_code=f"HTTP {response.status_code}", pac_message=response.text[:300])
        return response, timer

    def _answers_on_5xx(self, response: httpx.Response) -> bool:
        """Whether a 5xx carries a readable protocol answer (a SOAP Fault, say)."""
        return False

    @staticmethod
    def _record(operation: str, document_hash: str | None, uuid: str | None, outcome: str, timer: audit.Timer) -> None:
        audit.record(audit.PacCall(operation, document_hash, uuid, str(outcome), timer.ms))

    @staticmethod
    def _bad_answer(detail: str) -> StampingError:
        # Retryable: after an unreadable answer the document may have been stamped; the
        # retry re-sends the same bytes and the PAC answers 307 with the earlier stamp.
        return StampingError(BAD_ANSWER_TEXT, retryable=True, code=Code.PAC_BAD_ANSWER, pac_message=detail[:300])


def result_from_xml(xml: bytes, *, sandbox: bool = False) -> StampResult:
    """A StampResult read from the stamped CFDI's own TimbreFiscalDigital (UUID,
    FechaTimbrado in Mexico City time, NoCertificadoSAT)."""
    from services.cfdi import sat

    try:
        info = tfd_info(xml)
    except ValueError as exc:
        raise HttpPac._bad_answer(f"stamped CFDI without a readable TFD: {exc}") from exc
    # The local emulator and the sandbox write this Leyenda: no fiscal validity.
    from .sandbox import SANDBOX_LEYENDA

    sandbox = sandbox or info.get("Leyenda") == SANDBOX_LEYENDA
    stamped_at = datetime.fromisoformat(info["FechaTimbrado"]).replace(tzinfo=sat.FECHA_TIMBRADO_ZONE).astimezone(UTC)
    return StampResult(
        xml=xml, uuid=(info["UUID"] or "").upper(), stamped_at=stamped_at,
        sat_certificate_number=info["NoCertificadoSAT"] or "", is_sandbox=sandbox,
    )
