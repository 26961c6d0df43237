"""Rebuild the font subsets shipped next to this file.

    python -m services.pdf.fonts.build_subset [/usr/share/fonts/truetype/dejavu]

Why a subset: WeasyPrint subsets and compresses every embedded font on every render, and
for a one-page invoice that is most of the time (see docs: performance-facts). Starting from
a font that already holds only the glyphs an invoice needs (Latin-1, Latin Extended-A,
general punctuation, the euro sign) makes that work several times cheaper. A character
outside the subset (an emoji in a Descripcion) falls back to the system's sans-serif. One family only:
each extra family costs another subsetting pass.

DejaVu fonts are free to redistribute (Bitstream Vera licence + public-domain changes);
the licence text is in LICENSE-DejaVu.txt.
"""
from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset

HERE = Path(__file__).resolve().parent
SOURCES = {
    "DejaVuSansCondensed.ttf": "AutofacturaSans-Regular.ttf",
    "DejaVuSansCondensed-Bold.ttf": "AutofacturaSans-Bold.ttf",
}
UNICODES = [
    *range(0x20, 0x7F),  # ASCII
    *range(0xA0, 0x180),  # Latin-1 supplement, Latin Extended-A (ñ, á, ü, ç, œ …)
    *range(0x2010, 0x2028),  # dashes, quotes, bullet, ellipsis
    *range(0x2030, 0x203B),  # per mille, guillemets
    0x20AC,  # €
    0x2116,  # №
    0x2122,  # ™
    0x2212,  # minus sign
]


def build(source_dir: Path) -> None:
    for src, dst in SOURCES.items():
        options = subset.Options()
        # No OpenType layout tables: WeasyPrint drops GSUB/GPOS from what it embeds anyway,
        # and fontTools parsing GPOS on every render was a third of the font cost (the price
        # is DejaVu's kerning pairs, barely visible at invoice sizes).
        options.layout_features = []
        options.drop_tables += ["GSUB", "GPOS", "GDEF", "MATH", "FFTM"]
        options.hinting = False  # WeasyPrint drops hinting anyway (hinting=False)
        options.name_IDs = ["*"]
        options.notdef_outline = True
        font = subset.load_font(str(source_dir / src), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=UNICODES)
        subsetter.subset(font)
        font.save(str(HERE / dst))
        print(dst, (HERE / dst).stat().st_size, "bytes")


if __name__ == "__main__":
    build(Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/fonts/truetype/dejavu"))
