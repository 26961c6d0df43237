from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "sat" / "samples"
STAMPED_TEST = SAMPLES / "02_ingreso_descuento_timbrado_pruebas_EKU9003173C9.xml"
STAMPED_REAL = SAMPLES / "01_ingreso_produccion_timbrado_real.xml"
CFDI = "http://www.sat.gob.mx/cfd/4"


@pytest.fixture(scope="session")
def sample_02() -> bytes:
    return STAMPED_TEST.read_bytes()


@pytest.fixture(scope="session")
def sample_01() -> bytes:
    return STAMPED_REAL.read_bytes()


def replicate_concepts(xml: bytes, lines: int) -> bytes:
    """Sample 02 with its Concepto repeated up to `lines` (the seal no longer matches)."""
    root = etree.fromstring(xml)
    conceptos = root.find(f"{{{CFDI}}}Conceptos")
    first = conceptos[0]
    for i in range(lines - len(conceptos)):
        extra = copy.deepcopy(first)
        extra.set("NoIdentificacion", f"SKU-{i:04d}")
        if i % 9 == 0:
            extra.set(
                "Descripcion",
                "Servicio de mantenimiento preventivo y correctivo de equipo de cómputo, "
                "incluye limpieza interna y diagnóstico — ñandú ÁÉÍÓÚ",
            )
        conceptos.append(extra)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@pytest.fixture(scope="session")
def sample_300_lines(sample_02) -> bytes:
    return replicate_concepts(sample_02, 300)


def pdf_text(pdf: bytes, page: int | None = None) -> str:
    """Text of a PDF with poppler's pdftotext (skips the test when it is not installed)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    args = ["pdftotext", "-enc", "UTF-8"]
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    return subprocess.run([*args, "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def pdf_info(pdf: bytes) -> dict[str, str]:
    """pdfinfo's fields (ISO dates), skipping the test when poppler-utils is missing."""
    if shutil.which("pdfinfo") is None:
        pytest.skip("pdfinfo (poppler-utils) not installed")
    out = subprocess.run(["pdfinfo", "-isodates", "-"], input=pdf, capture_output=True, check=True)
    fields = {}
    for line in out.stdout.decode().splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields
