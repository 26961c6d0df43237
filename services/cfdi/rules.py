"""Receptor checks a PAC applies that cfdv40.xsd does not, reported all at once.

Each problem is a `FieldProblem(field, code, message)`: the field path the portal shows
next to the input, a stable English code, a Spanish message that says what to do.
Sources: Anexo 20 (Receptor@Rfc, @Nombre, @DomicilioFiscalReceptor,
@RegimenFiscalReceptor, @UsoCFDI), the PAC validation codes of the CFDI40xxx matrix
named next to each check, and RMF regla 2.7.1.26 (XAXX010101000 / XEXX010101000).
"""
from __future__ import annotations

import re
from datetime import date

from services import catalogs
from services.catalogs import MORAL, NOT_FOR_INCOME_USES, PHYSICAL
from services.cfdi import xsd_text
from services.kernel.types import Customer, FieldProblem

GENERIC_RFC_DOMESTIC = "XAXX010101000"  # público en general (RMF 2.7.1.26, factura global)
GENERIC_RFC_FOREIGN = "XEXX010101000"  # residente en el extranjero sin RFC
GENERIC_RFCS = frozenset({GENERIC_RFC_DOMESTIC, GENERIC_RFC_FOREIGN})
GENERIC_REGIME = "616"  # Sin obligaciones fiscales
GENERIC_USE = "S01"  # Sin efectos fiscales

# Anexo 20 t_RFC pattern (tdCFDI.xsd), split to validate the date part separately:
# 3 letters (moral) or 4 (física), YYMMDD, 2-char homoclave, check digit.
_RFC_RE = re.compile(r"^([A-ZÑ&]{3,4})([0-9]{2})([0-9]{2})([0-9]{2})([A-Z0-9]{2})([0-9A])$")
# SAT's RFC check-digit alphabet: value = index.
_CHECK_ALPHABET = "0123456789ABCDEFGHIJKLMN&OPQRSTUVWXYZ Ñ"
_CHECK_VALUES = {ch: i for i, ch in enumerate(_CHECK_ALPHABET)}
_EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")

# Régimen de capital endings SAT leaves out of Receptor@Nombre for personas morales
# (Anexo 20 Guía de llenado, Receptor@Nombre; PAC check CFDI40145 family), written
# without dots or spaces. Compared against a suffix of the name's words with their dots
# and commas removed, so "S.A. DE C.V.", "SA DE CV" and "S.A.DE C.V." all match.
_CAPITAL_REGIMES = frozenset({
    "SA", "SADECV", "SAB", "SABDECV", "SAPI", "SAPIDECV", "SAPIB", "SAPIBDECV",
    "SDERL", "SDERLDECV", "SDERLMI", "SDERLMIDECV", "SC", "SCDERL", "SCDERLDECV",
    "SCDECV", "SCP", "SCL", "SCS", "AC", "IAP", "IBP", "ABP", "SAS", "SASDECV",
    "SENC", "SENCPA", "SENCDECV", "SNC", "SNCDECV", "SPRDERL", "SPRDERI", "SPR",
    "SDESS", "SCDEPDERL", "SCDEPDERLDECV", "SOFOM", "SAPIDECVSOFOMENR",
    "SADECVSOFOMENR", "SADECVSOFOMER", "SDECV", "AR", "UDECV", "SAL",
})
_MAX_REGIME_WORDS = 7


def _problem(field: str, code: str, message: str) -> FieldProblem:
    return FieldProblem(field=field, code=code, message=message)


# ---- RFC -------------------------------------------------------------------------------


def rfc_check_digit(rfc_without_digit: str) -> str:
    """SAT's RFC check digit (módulo 11) for the first 11 (moral) or 12 (física) chars.

    Morales are padded with a leading space to 12 characters; each character's value in
    `_CHECK_ALPHABET` is weighted 13..2; digit = 11 - (sum mod 11), with 11 -> "0" and
    10 -> "A".
    """
    body = rfc_without_digit.rjust(12)
    total = sum(_CHECK_VALUES.get(ch, 0) * (13 - i) for i, ch in enumerate(body))
    digit = 11 - total % 11
    return "0" if digit == 11 else "A" if digit == 10 else str(digit)


def _valid_date(yy: str, mm: str, dd: str) -> bool:
    for century in (1900, 2000):
        try:
            date(century + int(yy), int(mm), int(dd))
            return True
        except ValueError:
            continue
    return False


def rfc_person_type(rfc: str) -> str | None:
    """PHYSICAL for 13 characters, MORAL for 12, None for anything else."""
    return PHYSICAL if len(rfc) == 13 else MORAL if len(rfc) == 12 else None


def rfc_problem(rfc: str) -> FieldProblem | None:
    """Format, date and check digit of one RFC (generic RFCs exempt from the digit)."""
    m = _RFC_RE.match(rfc)
    if not m or not _valid_date(m.group(2), m.group(3), m.group(4)):
        return _problem(
            "customer.rfc", "RFC_INVALID",
            "El RFC no tiene un formato válido: son 13 caracteres para persona física o 12 "
            "para persona moral (letras, fecha AAMMDD y homoclave). Cópialo de tu Constancia "
            "de Situación Fiscal.",
        )
    if rfc in GENERIC_RFCS:
        return None
    if rfc_check_digit(rfc[:-1]) != rfc[-1]:
        return _problem(
            "customer.rfc", "RFC_CHECK_DIGIT",
            "El RFC no es válido: el último carácter (dígito verificador) no corresponde. "
            "Revisa que lo hayas escrito igual que en tu Constancia de Situación Fiscal.",
        )
    return None


def normalize_rfc(rfc: str) -> str:
    return "".join(rfc.split()).upper()


# ---- name ------------------------------------------------------------------------------


def _compact(word: str) -> str:
    return word.replace(".", "").replace(",", "")


def capital_regime_suffix(name: str) -> str | None:
    """The régimen de capital a name ends with ("S.A. DE C.V."), or None.

    A bare one-word ending of two or three letters without dots ("SA", "AC", "SC") is not
    taken for one: it may be part of a person's name; "S.A." or "SADECV" are."""
    words = " ".join(name.upper().split()).split(" ")
    for k in range(min(_MAX_REGIME_WORDS, len(words) - 1), 0, -1):
        suffix = words[-k:]
        compact = "".join(_compact(w) for w in suffix)
        if compact in _CAPITAL_REGIMES and (k > 1 or "." in suffix[0] or len(compact) > 3):
            return " ".join(suffix)
    return None


def normalize_legal_name(name: str, person_type: str) -> str:
    """Receptor@Nombre as SAT compares it: upper-case, trimmed, single-spaced and, for a
    persona moral, without the régimen de capital (Anexo 20 Guía de llenado, Receptor@Nombre;
    CFDI40145 family: the name must match SAT's list for the RFC, which omits it)."""
    words = " ".join(name.upper().split()).split(" ")
    if words == [""]:
        return ""
    if person_type == MORAL:
        for k in range(min(_MAX_REGIME_WORDS, len(words) - 1), 0, -1):
            if "".join(_compact(w) for w in words[-k:]) in _CAPITAL_REGIMES:
                words = words[:-k]
                break
        while words and words[-1].endswith(","):
            words[-1] = words[-1].rstrip(",").rstrip()
            if not words[-1]:
                words.pop()
    return " ".join(words).strip()


# ---- customer --------------------------------------------------------------------------


def check_customer(
    customer: Customer,
    *,
    global_invoice: bool = False,
    issuer_zip: str | None = None,
) -> list[FieldProblem]:
    """Every problem with the Receptor data, in field order; [] when it can be invoiced.

    `global_invoice`: the CFDI is a factura global to público en general, the only case
    where XAXX010101000 is allowed. `issuer_zip`: the issuer's LugarExpedicion, which a
    generic RFC's DomicilioFiscalReceptor must equal (CFDI40149 family).
    """
    problems: list[FieldProblem] = []
    rfc = normalize_rfc(customer.rfc or "")
    person_type: str | None = None
    generic = rfc in GENERIC_RFCS

    if not rfc:
        problems.append(_problem("customer.rfc", "RFC_REQUIRED",
                                 "Escribe el RFC como aparece en tu Constancia de Situación Fiscal."))
    elif (p := rfc_problem(rfc)) is not None:
        problems.append(p)
    else:
        person_type = rfc_person_type(rfc)
        if rfc == GENERIC_RFC_DOMESTIC and not global_invoice:
            # RMF 2.7.1.26 / Anexo 20 Receptor@Rfc: XAXX010101000 only in a factura global.
            problems.append(_problem(
                "customer.rfc", "RFC_GENERIC_NOT_ALLOWED",
                "El RFC genérico XAXX010101000 (público en general) no sirve para facturar a tu "
                "nombre. Escribe tu RFC; si no tienes, pide tu ticket sin factura.",
            ))

    # Receptor@Nombre: required; CFDI40145 family compares it with SAT's list.
    name = normalize_legal_name(customer.legal_name or "", person_type or MORAL)
    # Receptor@Nombre in cfdv40.xsd: 1-300 characters after whitespace collapse, pattern
    # [^|]{1,300}; nothing XML 1.0 cannot carry (services/cfdi/xsd_text.py). Checked on the
    # name as it will be written (upper-cased, without the régimen de capital).
    name_problem = xsd_text.text_problem(name, xsd_text.RECEPTOR_NOMBRE) if name else None
    capital = capital_regime_suffix(customer.legal_name or "") if person_type == PHYSICAL else None
    if xsd_text.unwritable(customer.legal_name or "") is not None or (name_problem and name_problem.kind == "CONTROL"):
        problems.append(_problem(
            "customer.legalName", "NAME_INVALID",
            "El nombre contiene caracteres de control (invisibles). Escríbelo de nuevo como aparece "
            "en tu Constancia de Situación Fiscal.",
        ))
    elif not name:
        problems.append(_problem(
            "customer.legalName", "NAME_REQUIRED",
            "Escribe tu nombre o razón social como aparece en tu Constancia de Situación "
            "Fiscal, sin el régimen de capital (S.A. de C.V.).",
        ))
    elif name_problem is not None and name_problem.kind == "TOO_LONG":
        problems.append(_problem(
            "customer.legalName", "NAME_TOO_LONG",
            f"El nombre admite hasta {name_problem.max_length} caracteres (Anexo 20, Receptor Nombre). "
            "Escríbelo como aparece en tu Constancia de Situación Fiscal.",
        ))
    elif name_problem is not None:
        problems.append(_problem(
            "customer.legalName", "NAME_INVALID",
            "El nombre no puede contener el carácter «|»: el SAT no lo admite (Anexo 20, Receptor Nombre).",
        ))
    elif capital is not None:
        # A persona física (13-character RFC) has no régimen de capital: SAT's list has her
        # name only, and the PAC compares Receptor@Nombre with it (CFDI40145 family).
        problems.append(_problem(
            "customer.legalName", "NAME_CAPITAL_REGIME",
            f"Tu RFC es de persona física y una persona física no tiene régimen de capital: quita "
            f"«{capital}» y escribe tu nombre como aparece en tu Constancia de Situación Fiscal.",
        ))

    # Receptor@DomicilioFiscalReceptor: a c_CodigoPostal code (CFDI40147 family).
    zip_code = (customer.zip_code or "").strip()
    if not re.fullmatch(r"[0-9]{5}", zip_code) or catalogs.postal_code(zip_code) is None:
        problems.append(_problem(
            "customer.zipCode", "ZIP_CODE_INVALID",
            "El código postal no existe en el catálogo del SAT. Escribe los 5 dígitos del "
            "código postal de tu domicilio fiscal (está en tu Constancia de Situación Fiscal).",
        ))
    elif generic and issuer_zip is not None and zip_code != issuer_zip:
        # Generic RFC: DomicilioFiscalReceptor = LugarExpedicion (CFDI40149 family).
        problems.append(_problem(
            "customer.zipCode", "ZIP_CODE_INVALID",
            f"Con un RFC genérico el código postal debe ser el del lugar de expedición ({issuer_zip}).",
        ))

    # Receptor@RegimenFiscalReceptor: c_RegimenFiscal, valid for the person type
    # (CFDI40158 family).
    regime = (customer.tax_regime or "").strip()
    regime_ok = False
    if catalogs.tax_regime(regime) is None:
        problems.append(_problem(
            "customer.taxRegime", "TAX_REGIME_INVALID",
            "Elige tu régimen fiscal de la lista; es el que aparece en tu Constancia de "
            "Situación Fiscal.",
        ))
    elif generic and regime != GENERIC_REGIME:
        problems.append(_problem(
            "customer.taxRegime", "TAX_REGIME_INVALID",
            "Con un RFC genérico el régimen fiscal debe ser 616 (Sin obligaciones fiscales).",
        ))
    elif person_type is not None and not catalogs.regime_applies_to(regime, person_type):
        who = "personas físicas" if person_type == PHYSICAL else "personas morales"
        problems.append(_problem(
            "customer.taxRegime", "TAX_REGIME_PERSON_TYPE",
            f"Ese régimen fiscal no aplica a {who} (tu RFC es de "
            f"{'persona física' if person_type == PHYSICAL else 'persona moral'}). Elige el "
            "régimen que aparece en tu Constancia de Situación Fiscal.",
        ))
    else:
        regime_ok = True

    # Receptor@UsoCFDI: c_UsoCFDI, allowed for the régimen and person type
    # (CFDI40161 / CFDI40162 family).
    use = (customer.cfdi_use or "").strip()
    if catalogs.cfdi_use(use) is None:
        problems.append(_problem(
            "customer.cfdiUse", "CFDI_USE_INVALID",
            "Elige el uso que le darás a la factura de la lista (si no sabes, pregunta a tu contador).",
        ))
    elif use in NOT_FOR_INCOME_USES:
        problems.append(_problem(
            "customer.cfdiUse", "CFDI_USE_NOT_ALLOWED",
            f"El uso {use} es solo para {'complementos de pago' if use == 'CP01' else 'recibos de nómina'}; "
            "esta factura es de ingreso. Elige otro uso de la lista.",
        ))
    elif generic and use != GENERIC_USE:
        problems.append(_problem(
            "customer.cfdiUse", "CFDI_USE_NOT_ALLOWED",
            "Con un RFC genérico el uso de la factura debe ser S01 (Sin efectos fiscales).",
        ))
    elif regime_ok and person_type is not None and not catalogs.cfdi_use_allowed(use, regime, person_type):
        problems.append(_problem(
            "customer.cfdiUse", "CFDI_USE_NOT_ALLOWED",
            "Ese uso de la factura no está permitido para tu régimen fiscal. Elige otro de la "
            "lista (la lista ya muestra solo los permitidos para tu régimen).",
        ))

    if customer.email is not None and customer.email.strip():
        email = customer.email.strip()
        if len(email) > 254 or not _EMAIL_RE.match(email):
            problems.append(_problem(
                "customer.email", "EMAIL_INVALID",
                "El correo electrónico no es válido. Escríbelo completo, por ejemplo nombre@dominio.com.",
            ))
    return problems
