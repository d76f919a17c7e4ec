"""Printable care letters: for each recipient an envelope (DL, 220×110 mm) and a letter (A4),
in one PDF. Chinese needs a CJK font, found as for contracts (``contract_pdf.find_cjk_font``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fpdf import FPDF

from dealercrm.adapters.documents.contract_pdf import find_cjk_font


def render_letters(recipients: Sequence[dict[str, Any]], *, sender: str, title: str, font_path: str = "",
                   layout: str = "both") -> bytes:
    font = find_cjk_font(font_path or None)  # DocumentUnavailable (503) when none is installed
    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.add_font("cjk", fname=str(font))
    for r in recipients:
        if layout in ("both", "envelope"):
            pdf.set_auto_page_break(auto=False)
            pdf.add_page(orientation="L", format=(110, 220))
            pdf.set_font("cjk", size=10)
            pdf.set_xy(15, 12)
            pdf.multi_cell(120, 6, f"寄件人：{sender}")
            pdf.set_font("cjk", size=14)
            pdf.set_xy(60, 50)
            pdf.multi_cell(140, 8, r.get("address") or "")
            pdf.set_font("cjk", size=18)
            pdf.set_xy(60, 72)
            pdf.multi_cell(140, 10, f"{r['name']} 收")
        if layout in ("both", "letter"):
            pdf.set_auto_page_break(auto=True, margin=20)
            pdf.add_page(orientation="P", format="A4")
            pdf.set_font("cjk", size=16)
            width = pdf.w - pdf.l_margin - pdf.r_margin
            pdf.multi_cell(width, 10, r.get("subject") or title, align="C", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(6)
            pdf.set_font("cjk", size=12)
            pdf.multi_cell(width, 8, r["body"], new_x="LMARGIN", new_y="NEXT")
            pdf.ln(10)
            pdf.multi_cell(width, 8, sender, align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


class FpdfCareLetterRenderer:
    """The care letter port (``application.ports.care.CareLetterRenderer``) on fpdf2, with the
    installation's font (empty: the first CJK font found)."""

    def __init__(self, font_path: str = "") -> None:
        self.font_path = font_path

    def render(self, recipients: Sequence[dict[str, Any]], *, sender: str, title: str, layout: str) -> bytes:
        return render_letters(recipients, sender=sender, title=title, font_path=self.font_path, layout=layout)
