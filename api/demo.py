"""Demo data: a merchant from SAT's public test CSD EKU9003173C9 and sales of every shape."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from api.app import build_services
from api.settings import Settings
from services.kernel.money import from_cents
from services.kernel.results import Invalid
from services.merchants.models import merchant_from_row
from services.merchants.service import MerchantRegistration, normalize_email, register_merchant
from services.sales import service as sales_service
from services.sales.ticket import portal_url, reference_key
from services.sales.validation import RawLine, RawTax, SaleInput

DEMO_CSD = Path(__file__).resolve().parent.parent / "services" / "sat_data" / "demo_csd"
DEMO_EMAIL = "demo@autofactura.local"
DEMO_PASSWORD = "demo-autofactura-2026"
DEMO_ZIP = "22000"  # Tijuana: región fronteriza, so the IVA 8 % sale is valid
IVA16 = (RawTax("IVA", Decimal("0.16"), False),)
IVA8 = (RawTax("IVA", Decimal("0.08"), False),)
IVA0 = (RawTax("IVA", Decimal("0"), False),)
EXEMPT = (RawTax("IVA", None, True),)


def _line(desc, qty, price, taxes=IVA16, product="01010101", unit="H87"):
    return RawLine(product, unit, desc, Decimal(qty), Decimal(price), taxes)


def demo_sales(now: datetime) -> list[SaleInput]:
    return [
        SaleInput("DEMO-0001", None, "01", (_line("Café americano grande", "1", "1160.00", product="50201706"),)),
        SaleInput("DEMO-0002", None, "04", tuple(
            _line(f"Artículo de papelería {i + 1}", str(i % 3 + 1), f"{25 + i * 7.5:.2f}", product="44121600")
            for i in range(12)
        )),
        SaleInput("DEMO-0003", None, "28", (_line("Servicio en zona fronteriza", "2", "54.00", IVA8, "80141600", "E48"),)),
        SaleInput("DEMO-0004", None, "01", (_line("Tortillas de maíz", "1.5", "24.00", IVA0, "50221300", "KGM"),
                                          _line("Leche entera 1 L", "2", "28.50", IVA0, "50131700", "LTR"))),
        SaleInput("DEMO-0005", None, "03", (_line("Consulta médica", "1", "800.00", EXEMPT, "85121600", "E48"),)),
        SaleInput("DEMO-0006", None, "04", (
            _line("Refresco de cola 600 ml", "3", "18.00", product="50202306"),
            # IEPS 8 %: alimentos no básicos con alta densidad calórica (LIEPS art. 2-I-J)
            _line("Papas fritas 45 g", "1", "22.50", (RawTax("IEPS", Decimal("0.08"), False),) + IVA16, "50192100"),
            _line("Agua mineral", "2", "15.00", IVA0, "50202301"),
        )),
        SaleInput("DEMO-OLD-0001", now - timedelta(days=90), "01", (_line("Venta antigua fuera de plazo", "1", "250.00"),)),
        *history(now),
    ]


def history(now: datetime) -> list[SaleInput]:
    """A few weeks of earlier tickets, so the console's 30-day chart has something to show."""
    sales = []
    for days_ago in range(1, 29):
        for n in range(1 + days_ago % 3):
            price = f"{35 + (days_ago * 37 + n * 53) % 400:.2f}"
            sales.append(SaleInput(
                f"DEMO-H{days_ago:02d}-{n + 1}", now - timedelta(days=days_ago, hours=n * 3), "01",
                (_line("Comida corrida", str(1 + n), price, product="90101501", unit="E48"),),
            ))
    return sales


async def seed_demo(settings: Settings) -> str:
    services = build_services(settings)
    try:
        async with services.uow_factory() as uow:
            row = await uow.merchants.by_email(normalize_email(DEMO_EMAIL))
        merchant = merchant_from_row(row) if row is not None else None
        if merchant is None:
            merchant = await register_merchant(services.uow_factory, services.box, MerchantRegistration(
                email=DEMO_EMAIL, password=DEMO_PASSWORD,
                certificate_der=(DEMO_CSD / "CSD_30001000000500003416.cer").read_bytes(),
                key_der=(DEMO_CSD / "CSD_30001000000500003416.key").read_bytes(),
                key_password="12345678a", tax_regime="601", zip_code=DEMO_ZIP,
            ))
            assert not isinstance(merchant, Invalid), merchant
        now = datetime.now(UTC)
        first = None
        for sale in demo_sales(now):
            async with services.uow_factory() as uow:
                existing = await uow.sales.by_reference(merchant.id, reference_key(sale.reference))
            if existing is not None:
                first = first or (existing.reference, from_cents(existing.total_cents))
                continue
            recorded = await sales_service.record_sale(services, merchant, sale, now=now)
            assert isinstance(recorded, sales_service.Recorded), recorded
            first = first or (recorded.sale.reference, recorded.sale.total)
        assert first is not None
        reference, total = first
        url = portal_url(settings.public_url, merchant.company_number, reference, total)
        return (
            "Datos de demostración listos (CSD de pruebas del SAT, timbrado sandbox sin validez fiscal).\n"
            f"  Comercio: {merchant.legal_name} ({merchant.rfc}) · login {DEMO_EMAIL} / {DEMO_PASSWORD}\n"
            f"  Ticket de ejemplo: número de comercio {merchant.company_number} · referencia {reference} · total {total:.2f}\n"
            f"  Portal con el ticket: {url}"
        )
    finally:
        await services.dispose()
