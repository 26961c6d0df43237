"""A sale as stored and as printed on its ticket: the reference the lookup matches, the
lines as JSON, the content hash that makes recordSale idempotent, the portal link."""
from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from urllib.parse import urlencode

from services.kernel.types import LineTax, SaleLine


def reference_key(reference: str) -> str:
    """What ticket lookups match: trimmed, inner spaces folded, case-folded."""
    return " ".join(reference.split()).casefold()


def content_hash(payment_form: str, lines: tuple[SaleLine, ...], email: str | None) -> str:
    doc = {
        "paymentForm": payment_form,
        "email": email,
        "lines": [
            [l.product_key, l.unit_key, l.description, str(l.quantity.normalize()), str(l.unit_price.normalize()),
             [[t.type, str(t.rate.normalize()) if t.rate is not None else None, t.exempt] for t in l.taxes]]
            for l in lines
        ],
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def lines_to_json(lines: tuple[SaleLine, ...]) -> str:
    return json.dumps([
        {"productKey": l.product_key, "unitKey": l.unit_key, "description": l.description,
         "quantity": str(l.quantity), "unitPrice": str(l.unit_price),
         "taxes": [{"type": t.type, "rate": None if t.rate is None else str(t.rate), "exempt": t.exempt} for t in l.taxes]}
        for l in lines
    ], ensure_ascii=False)


def lines_from_json(text: str) -> tuple[SaleLine, ...]:
    return tuple(
        SaleLine(d["productKey"], d["unitKey"], d["description"], Decimal(d["quantity"]), Decimal(d["unitPrice"]),
                 tuple(LineTax(t["type"], None if t["rate"] is None else Decimal(t["rate"]), t["exempt"]) for t in d["taxes"]))
        for d in json.loads(text)
    )


def portal_url(public_url: str, company_number: str, reference: str, total: Decimal) -> str:
    query = urlencode({"reference": reference, "total": f"{total:.2f}"})
    return f"{public_url.rstrip('/')}/{company_number}?{query}"
