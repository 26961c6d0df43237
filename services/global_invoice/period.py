"""The periods of a factura global (InformacionGlobal: c_Periodicidad, c_Meses, Año), their
deadlines, and which of them may be issued now.

Sources: RMF 2026 regla 2.7.1.21 (operaciones con el público en general: one CFDI global per
period for the sales without a nominative CFDI, issued within the 24 hours after the period
ends) and Anexo 20, Guía de llenado del CFDI global (InformacionGlobal):
- Periodicidad (c_Periodicidad): 01 diario, 02 semanal, 03 quincenal, 04 mensual,
  05 bimestral (05 only for RegimenFiscal 621, Incorporación Fiscal);
- Meses (c_Meses): the month of the operations, 01-12; with 05, the bimester 13
  (enero-febrero) to 18 (noviembre-diciembre);
- Año: the year of the operations (the year of issue or the one before).

Every period is a span of the merchant's local calendar (the zone of its LugarExpedicion,
c_CodigoPostal), stored as the UTC instants of its local midnights: [start, end).
- diario: one local day;
- semanal: Monday to Sunday, cut at the end of a month, so that one CFDI's Meses names
  the month of all its operations (a week from 29 January to 4 February is two periods:
  29-31 January with Meses 01, and 1-4 February with Meses 02);
- quincenal: days 1-15 and 16 to the end of the month;
- mensual: the calendar month; bimestral: January-February ... November-December.
So several daily or weekly globals share one (Meses, Año): a global is identified by its
period (periodicity and start), never by the month alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from services import catalogs
from services.cfdi.engine import global_period_problems
from services.kernel.codes import GlobalInvoiceErrorCode as Code
from services.kernel.types import FieldProblem

DAILY, WEEKLY, FORTNIGHTLY, MONTHLY, BIMONTHLY = "01", "02", "03", "04", "05"  # c_Periodicidad
PERIODICITIES = (DAILY, WEEKLY, FORTNIGHTLY, MONTHLY, BIMONTHLY)
BIMONTHLY_REGIME = "621"  # Guía de llenado del CFDI global: 05 only for Incorporación Fiscal

#: RMF 2.7.1.21: the CFDI global is issued within the 24 hours after its period ends.
ISSUE_WITHIN = timedelta(hours=24)


@dataclass(frozen=True)
class Period:
    periodicity: str  # c_Periodicidad
    start: datetime  # aware UTC: local midnight of the first day
    end: datetime  # aware UTC, exclusive: local midnight after the last day
    months: str  # c_Meses
    year: int  # InformacionGlobal@Año

    @property
    def deadline(self) -> datetime:
        """The last moment to issue this period's factura global (RMF 2.7.1.21)."""
        return self.end + ISSUE_WITHIN

    def has_ended(self, now: datetime) -> bool:
        return now >= self.end


def _month_after(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def _local_span(periodicity: str, day: date) -> tuple[date, date, str]:
    """[first day, day after the last) of the period holding `day`, and its c_Meses."""
    month_start = day.replace(day=1)
    next_month = _month_after(day)
    months = f"{day.month:02d}"
    if periodicity == DAILY:
        return day, day + timedelta(days=1), months
    if periodicity == WEEKLY:
        monday = day - timedelta(days=day.weekday())
        return max(monday, month_start), min(monday + timedelta(days=7), next_month), months
    if periodicity == FORTNIGHTLY:
        if day.day <= 15:
            return month_start, day.replace(day=16), months
        return day.replace(day=16), next_month, months
    if periodicity == MONTHLY:
        return month_start, next_month, months
    if periodicity == BIMONTHLY:
        first = day.month - (day.month - 1) % 2  # 1, 3, 5 ... 11
        start = date(day.year, first, 1)
        end = date(day.year + 1, 1, 1) if first == 11 else date(day.year, first + 2, 1)
        return start, end, f"{12 + (first + 1) // 2:02d}"  # 13 enero-febrero ... 18 noviembre-diciembre
    raise ValueError(f"unknown c_Periodicidad {periodicity!r}")


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def period_of_day(periodicity: str, day: date, zone: ZoneInfo) -> Period:
    """The period (of this periodicity) holding the local calendar day `day`."""
    first, after, months = _local_span(periodicity, day)
    return Period(periodicity, _midnight(first, zone), _midnight(after, zone), months, first.year)


def period_containing(periodicity: str, moment: datetime, zone: ZoneInfo) -> Period:
    """The period holding an instant (a sale's soldAt, now), in the merchant's local time."""
    return period_of_day(periodicity, moment.astimezone(zone).date(), zone)


def next_period(period: Period, zone: ZoneInfo) -> Period:
    return period_containing(period.periodicity, period.end, zone)


def period_of_months(periodicity: str, months: str, year: int, zone: ZoneInfo) -> Period:
    """A monthly (c_Meses 01-12) or bimonthly (13-18) period by its InformacionGlobal."""
    if periodicity == BIMONTHLY:
        first = 2 * (int(months) - 12) - 1  # 13 -> January, 18 -> November
    else:
        first = int(months)
    return period_of_day(periodicity, date(year, first, 1), zone)


def period_bounds(periodicity: str, months: str, year: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a monthly or bimonthly period, local midnight, as UTC."""
    period = period_of_months(periodicity, months, year, zone)
    return period.start, period.end


def periodicity_problems(periodicity: str, tax_regime: str, field: str = "periodicity") -> list[FieldProblem]:
    """c_Periodicidad, and 05 only for RegimenFiscal 621 (Guía de llenado del CFDI global)."""
    if periodicity not in PERIODICITIES:
        return [FieldProblem(field, Code.PERIODICITY_INVALID,
                             "La periodicidad debe ser 01 diaria, 02 semanal, 03 quincenal, 04 mensual o 05 bimestral.")]
    if periodicity == BIMONTHLY and tax_regime != BIMONTHLY_REGIME:
        return [FieldProblem(field, Code.PERIODICITY_NOT_ALLOWED,
                             "La periodicidad bimestral (05) solo aplica al Régimen de Incorporación Fiscal (621).")]
    return []


def requested_period(tax_regime: str, zip_code: str, periodicity: str, months: str | None, year: int | None,
                     day: date | None, now: datetime) -> Period | list[FieldProblem]:
    """The period a merchant asks for by hand (issueGlobalInvoice): by any day inside it
    (every periodicity), or by (Meses, Año) for mensual and bimestral; every reason it
    cannot be issued now otherwise."""
    zone = catalogs.time_zone_for(zip_code)
    if periodicity not in PERIODICITIES:
        return periodicity_problems(periodicity, tax_regime)
    if day is None and periodicity in (MONTHLY, BIMONTHLY) and months and year is not None:
        problems = global_period_problems(tax_regime, periodicity, months, year, now.astimezone(zone).year)
        if problems:
            return problems
        period = period_of_months(periodicity, months, year, zone)
    elif day is not None:
        problems = periodicity_problems(periodicity, tax_regime)
        if problems:
            return problems
        period = period_of_day(periodicity, day, zone)
    else:
        return periodicity_problems(periodicity, tax_regime) + [FieldProblem(
            "day", Code.PERIOD_REQUIRED,
            "Indica un día del periodo (day); con periodicidad mensual o bimestral basta el mes y el año.")]
    problems = global_period_problems(tax_regime, periodicity, period.months, period.year, now.astimezone(zone).year)
    if problems:
        return problems
    if not period.has_ended(now):
        return [FieldProblem("months" if day is None else "day", Code.PERIOD_NOT_ENDED,
                             "El periodo aún no termina: la factura global se emite cuando concluye.")]
    return period
