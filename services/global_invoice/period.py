"""The periods of a factura global (InformacionGlobal: c_Periodicidad, c_Meses, Año) and
which of them may be issued now (Guía de llenado del CFDI global; RMF 2.7.1.24)."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from services import catalogs
from services.cfdi.engine import global_period_problems
from services.kernel.codes import GlobalInvoiceErrorCode as Code
from services.kernel.types import FieldProblem

MONTHLY, BIMONTHLY = "04", "05"  # c_Periodicidad
SUPPORTED_PERIODICITIES = (MONTHLY, BIMONTHLY)


def period_bounds(periodicity: str, months: str, year: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a monthly (c_Meses 01-12) or bimonthly (13-18) period, local midnight, as UTC."""
    if periodicity == BIMONTHLY:
        first = 2 * (int(months) - 12) - 1  # 13 -> January, 18 -> November
        span = 2
    else:
        first, span = int(months), 1
    last = first + span
    start = datetime(year, first, 1, tzinfo=zone)
    end = datetime(year + 1, 1, 1, tzinfo=zone) if last > 12 else datetime(year, last, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def period_problems(tax_regime: str, zip_code: str, periodicity: str, months: str, year: int, now: datetime) -> list[FieldProblem]:
    """Every reason this period cannot be invoiced now, or none."""
    zone = catalogs.time_zone_for(zip_code)
    problems = global_period_problems(tax_regime, periodicity, months, year, now.astimezone(zone).year)
    if problems:
        return problems
    if periodicity not in SUPPORTED_PERIODICITIES:
        # A daily, weekly or fortnightly period is not identified by (months, year) alone.
        return [FieldProblem("periodicity", Code.PERIODICITY_NOT_SUPPORTED,
                             "Por ahora la factura global se emite mensual (04) o bimestral (05).")]
    _, end = period_bounds(periodicity, months, year, zone)
    if end > now:
        return [FieldProblem("months", Code.PERIOD_NOT_ENDED,
                             "El periodo aún no termina: emite la factura global cuando concluya.")]
    return []
