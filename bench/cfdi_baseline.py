"""The floor of the CFDI work, in one process: satcfdi builds, signs and XSD-validates the
same invoice the HTTP benchmark issues (one concept of 1,000.00 + IVA 16 % = 1,160.00,
issuer EKU9003173C9, customer CACX7605101P8).

The floor uses satcfdi's build + sign (cadena via its XSLT, RSA-SHA256) + `xml_bytes`, and
validates against the CFDI 4.0 XSD bundle compiled once per process: that is the least
work a correct issuer must do per invoice. satcfdi's own `to_xml(validate=True)` recompiles
the 5 MB catCFDI.xsd on every call; it is timed separately, for context only.

Also timed here: our engine (services.cfdi.engine.build_signed_cfdi) on the same request,
and its parts that a profile points at (decrypting the CSD's PKCS#8 key).

    python -m bench.cfdi_baseline [--n 300]   -> one JSON object
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from satcfdi.create.cfd import cfdi40
from satcfdi.models import Signer

from services import catalogs
from services.cfdi import csd as csd_module
from services.cfdi.engine import build_signed_cfdi
from services.cfdi.xsd import schema
from services.kernel.types import Customer, CsdMaterial, InvoiceRequest, Issuer, LineTax, SaleLine

DEMO = Path(__file__).resolve().parent.parent / "services" / "sat_data" / "demo_csd"
CER = (DEMO / "CSD_30001000000500003416.cer").read_bytes()
KEY = (DEMO / "CSD_30001000000500003416.key").read_bytes()
PASSWORD = b"12345678a"
ZIP = "22000"


def satcfdi_invoice(signer: Signer, folio: int):
    fecha = datetime.now(timezone.utc).astimezone(catalogs.time_zone_for(ZIP)).replace(tzinfo=None, microsecond=0)
    inv = cfdi40.Comprobante(
        emisor=cfdi40.Emisor(rfc="EKU9003173C9", nombre="ESCUELA KEMPER URGATE", regimen_fiscal="601"),
        lugar_expedicion=ZIP,
        receptor=cfdi40.Receptor(rfc="CACX7605101P8", nombre="XOCHILT CASAS CHAVEZ", domicilio_fiscal_receptor="36257",
                                 regimen_fiscal_receptor="612", uso_cfdi="G03"),
        conceptos=[cfdi40.Concepto(clave_prod_serv="50201706", cantidad=Decimal(1), clave_unidad="H87",
                                   descripcion="Café americano grande", valor_unitario=Decimal("1000.00"),
                                   impuestos=cfdi40.Impuestos(traslados=[cfdi40.Traslado(
                                       impuesto="002", tipo_factor="Tasa", tasa_o_cuota=Decimal("0.160000"))]))],
        moneda="MXN", tipo_de_comprobante="I", exportacion="01", serie="AF", folio=str(folio),
        forma_pago="01", metodo_pago="PUE", fecha=fecha,
    )
    inv.sign(signer)
    return inv


def our_request(folio: int) -> InvoiceRequest:
    return InvoiceRequest(
        issuer=Issuer("EKU9003173C9", "ESCUELA KEMPER URGATE", "601", ZIP),
        customer=Customer("CACX7605101P8", "XOCHILT CASAS CHAVEZ", "36257", "612", "G03", None),
        lines=(SaleLine("50201706", "H87", "Café americano grande", Decimal(1), Decimal("1160.00"),
                        (LineTax("IVA", Decimal("0.16"), False),)),),
        payment_form="01", series="AF", folio=str(folio), ticket_total=Decimal("1160.00"), generic_concept=None,
    )


def _ms(fn, n: int) -> list[float]:
    fn()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def measure(n: int = 300) -> dict:
    compiled = schema()
    signer = Signer.load(certificate=CER, key=KEY, password=PASSWORD)

    def floor():
        inv = satcfdi_invoice(signer, 1)
        root = inv.to_xml(validate=False)
        assert compiled.validate(root), compiled.error_log
        inv.xml_bytes()

    floor_ms = _ms(floor, n)
    build_sign_ms = _ms(lambda: satcfdi_invoice(signer, 1), n)
    native_ms = _ms(lambda: satcfdi_invoice(signer, 1).to_xml(validate=True), 3)
    csd = CsdMaterial(CER, KEY, PASSWORD)
    request = our_request(1)
    cache = getattr(csd_module, "clear_key_cache", None)

    def ours_cold():
        if cache:
            cache()
        build_signed_cfdi(request, csd)

    engine_ms = _ms(lambda: build_signed_cfdi(request, csd), n)
    engine_cold_ms = _ms(ours_cold, max(20, n // 10))
    decrypt_ms = _ms(lambda: csd_module.load_private_key(KEY, PASSWORD), 20)
    med = statistics.median
    return {
        "floor_ms": med(floor_ms), "floor_per_s": 1000 / med(floor_ms),
        "satcfdi_build_sign_ms": med(build_sign_ms),
        "satcfdi_to_xml_validate_true_ms": med(native_ms),
        "engine_ms": med(engine_ms), "engine_no_key_cache_ms": med(engine_cold_ms),
        "pkcs8_decrypt_ms": med(decrypt_ms),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    print(json.dumps(measure(ap.parse_args().n)))


if __name__ == "__main__":
    main()
