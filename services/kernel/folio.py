"""How a folio is written everywhere the customer sees it."""
from __future__ import annotations


def serie_folio(series: str | None, folio: object) -> str:
    """Serie and folio as portal, e-mail and PDF all write them: "AF-12" (issue 15: the
    e-mail wrote "AF12", which read as another number)."""
    return "-".join(str(p) for p in (series, folio) if p not in (None, ""))
