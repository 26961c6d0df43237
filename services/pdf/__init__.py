"""Printed representation (PDF) of stamped CFDI 4.0 documents.

render_invoice_pdf(xml, *, sandbox=False, merchant_display_name=None) -> bytes  (sync, CPU-bound)
PdfRenderer(workers=None, *, inline=False): async render() in a process pool.
"""
from .amount_words import amount_in_words
from .pool import PdfRenderer
from .render import PdfRenderError, render_invoice_pdf

__all__ = ["PdfRenderError", "PdfRenderer", "amount_in_words", "render_invoice_pdf"]
