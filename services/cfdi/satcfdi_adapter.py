"""The only module that imports satcfdi: turns our conceptos and totals into XML bytes.

satcfdi builds the element tree (namespaces, attribute order, schemaLocation). Every
amount is ours: satcfdi's `Comprobante.compute()` recomputes Concepto@Importe as
round(Cantidad*ValorUnitario) with Python's round (half-even), rounds taxes with a
"round tracker" that carries fractions between concepts, and sums Impuestos itself, so
after construction we overwrite Importe, SubTotal, Impuestos and Total with the values
from services.cfdi.concepts. The cadena is computed with SAT's XSLT (services.cfdi.sat),
not satcfdi's copy, and sealed with services.cfdi.sat.sello (`cryptography`). Swapping satcfdi means
rewriting `build_unsigned` only.
"""
from __future__ import annotations

import base64
from datetime import datetime
from decimal import Decimal

from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from satcfdi.create.cfd import cfdi40

from services.cfdi.concepts import Concept, Totals
from services.cfdi.sat import sello
from services.kernel.types import Customer, Issuer

PAYMENT_METHOD_PUE = "PUE"  # c_MetodoPago: pago en una sola exhibición
EXPORT_NONE = "01"  # c_Exportacion: no aplica
INCOME = "I"  # c_TipoDeComprobante: ingreso
CURRENCY = "MXN"


def _transfer_dict(impuesto: str, tipo_factor: str, tasa: Decimal | None, base: Decimal, importe: Decimal | None) -> dict:
    # Exento: no TasaOCuota nor Importe (CFDI40177); satcfdi omits None attributes.
    return {"Base": base, "Impuesto": impuesto, "TipoFactor": tipo_factor,
            "TasaOCuota": tasa, "Importe": importe}


def build_unsigned(
    *,
    issuer: Issuer,
    issuer_name: str,
    customer: Customer,
    customer_name: str,
    concepts: list[Concept],
    totals: Totals,
    payment_form: str,
    series: str,
    folio: str,
    issued_at: datetime,
    certificate_number: str,
    certificate_der: bytes,
    global_information: tuple[str, str, int] | None = None,
    related: tuple[str, str] | None = None,
):
    """A satcfdi Comprobante with our amounts, NoCertificado and Certificado, no Sello.

    `global_information`: (Periodicidad, Meses, Año) of a factura global, written as
    cfdi:InformacionGlobal (Anexo 20; required when Receptor@Rfc is XAXX010101000 and
    Receptor@Nombre is "PUBLICO EN GENERAL").
    `related`: (TipoRelacion, UUID) written as cfdi:CfdiRelacionados (Anexo 20; c_TipoRelacion
    04 "Sustitución de los CFDI previos" for the customer's correction, issue 15).
    """
    conceptos = [
        cfdi40.Concepto(
            clave_prod_serv=c.product_key,
            cantidad=c.quantity,
            clave_unidad=c.unit_key,
            descripcion=c.description,
            valor_unitario=c.unit_value,
            objeto_imp=c.objeto_imp,
            no_identificacion=c.no_identificacion,
            impuestos=cfdi40.Impuestos(traslados=[
                cfdi40.Traslado(impuesto=t.impuesto, tipo_factor=t.tipo_factor,
                                tasa_o_cuota=t.tasa, importe=t.importe, base=t.base)
                for t in c.transfers
            ]) if c.transfers else None,
        )
        for c in concepts
    ]
    comprobante = cfdi40.Comprobante(
        emisor=cfdi40.Emisor(rfc=issuer.rfc, nombre=issuer_name, regimen_fiscal=issuer.tax_regime),
        lugar_expedicion=issuer.zip_code,
        receptor=cfdi40.Receptor(
            rfc=customer.rfc, nombre=customer_name,
            domicilio_fiscal_receptor=customer.zip_code,
            regimen_fiscal_receptor=customer.tax_regime,
            uso_cfdi=customer.cfdi_use,
        ),
        conceptos=conceptos,
        moneda=CURRENCY,
        tipo_de_comprobante=INCOME,
        exportacion=EXPORT_NONE,
        serie=series or None,
        folio=folio or None,
        forma_pago=payment_form,
        metodo_pago=PAYMENT_METHOD_PUE,
        fecha=issued_at,
        informacion_global=cfdi40.InformacionGlobal(
            periodicidad=global_information[0], meses=global_information[1], ano=global_information[2],
        ) if global_information else None,
        cfdi_relacionados=cfdi40.CfdiRelacionados(tipo_relacion=related[0], cfdi_relacionado=related[1])
        if related else None,
    )
    # Our arithmetic wins over satcfdi's compute() (see module docstring).
    for node, c in zip(comprobante["Conceptos"], concepts):
        node["Importe"] = c.amount
        if c.transfers:
            node["Impuestos"] = {"Traslados": [
                _transfer_dict(t.impuesto, t.tipo_factor, t.tasa, t.base, t.importe) for t in c.transfers
            ]}
        else:
            node["Impuestos"] = None
    comprobante["SubTotal"] = totals.subtotal
    comprobante["Descuento"] = None
    if totals.transfers:
        impuestos: dict = {"Traslados": [
            _transfer_dict(s.impuesto, s.tipo_factor, s.tasa, s.base, s.importe) for s in totals.transfers
        ]}
        if totals.total_transferred is not None:
            impuestos["TotalImpuestosTrasladados"] = totals.total_transferred
        comprobante["Impuestos"] = impuestos
    else:
        comprobante["Impuestos"] = None
    comprobante["Total"] = totals.total
    comprobante["NoCertificado"] = certificate_number
    comprobante["Certificado"] = base64.b64encode(certificate_der).decode("ascii")
    return comprobante


def to_tree(comprobante) -> etree._Element:
    return comprobante.to_xml(validate=False, include_schema_location=True)


def seal_tree(root: etree._Element, cadena: str, key: rsa.RSAPrivateKey) -> None:
    """Set Comprobante@Sello: base64(RSA PKCS#1 v1.5, SHA-256 over the UTF-8 cadena)."""
    root.set("Sello", sello(cadena, key))


def tree_bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def signed_cancellation(
    certificate_der: bytes, private_key_der: bytes, password: bytes, uuid: str, reason: str,
    replacement_uuid: str | None, issued_at: datetime,
) -> bytes:
    """SAT's cancellation request (`Cancelacion`, namespace http://cancelacfd.sat.gob.mx)
    for one UUID, signed with the issuer's CSD: satcfdi's `satcfdi.create.cancela.
    cancelacion` builds the element and its enveloped XMLDSig signature, which is what
    Finkok's cancel_signature and SW's /cfdi33/cancel/xml expect. Blocking (RSA): run it
    in a thread. `issued_at` is the request's Fecha (local time, no offset)."""
    from satcfdi.create.cancela import cancelacion
    from satcfdi.models import Signer

    signer = Signer.load(certificate=certificate_der, key=private_key_der, password=password)
    request = cancelacion.Cancelacion(
        emisor=signer,
        folios=cancelacion.Folio(uuid=uuid, motivo=reason, folio_sustitucion=replacement_uuid),
        fecha=issued_at.replace(tzinfo=None, microsecond=0),
    )
    return request.xml_bytes(xml_declaration=True)
