"""PDF rendering of a laid-out ``PrintDocument`` (fpdf2), for paper a person prints on A5 —
the dealer's receipt for the driver, say. The same layout goes to the kiosk's ESC/POS printer.

Chinese needs a CJK font, found as for contracts (``contract_pdf.find_cjk_font``):
``DEALERCRM_PDF_FONT``, else the usual Debian locations.
"""

from __future__ import annotations


from fpdf import FPDF

from dealercrm.adapters.documents.contract_pdf import find_cjk_font
from dealercrm.domain.printing import Align, Cut, Feed, KeyValue, PrintDocument, QrCode, Separator, Text, Title

_ALIGN = {Align.LEFT: "L", Align.CENTER: "C", Align.RIGHT: "R"}


class FpdfDocumentRenderer:
    def __init__(self, font_path: str = "") -> None:
        self.font_path = font_path

    def render(self, document: PrintDocument, title: str) -> bytes:
        font = find_cjk_font(self.font_path or None)  # DocumentUnavailable (503) when none is installed
        pdf = FPDF(format=(148, 210))  # A5 in mm
        pdf.set_title(title)
        pdf.set_auto_page_break(auto=True, margin=12)
        pdf.add_page()
        pdf.add_font("cjk", fname=str(font))
        width = pdf.w - pdf.l_margin - pdf.r_margin
        for line in document.lines:
            if isinstance(line, Title):
                pdf.set_font("cjk", size=18)
                pdf.multi_cell(width, 11, line.text, align=_ALIGN[line.align], new_x="LMARGIN", new_y="NEXT")
            elif isinstance(line, Text):
                pdf.set_font("cjk", size=14 if line.double_size else 11)
                pdf.multi_cell(width, 7, line.text, align=_ALIGN[line.align], new_x="LMARGIN", new_y="NEXT")
            elif isinstance(line, KeyValue):
                pdf.set_font("cjk", size=11)
                pdf.multi_cell(width, 7, f"{line.key}：{line.value}" if line.key else line.value,
                               new_x="LMARGIN", new_y="NEXT")
            elif isinstance(line, Separator):
                y = pdf.get_y() + 2
                pdf.line(pdf.l_margin, y, pdf.l_margin + width, y)
                pdf.set_y(y + 2)
            elif isinstance(line, Feed):
                pdf.ln(5 * line.lines)
            elif isinstance(line, QrCode):
                pdf.set_font("cjk", size=7)
                pdf.multi_cell(width, 4, line.payload, new_x="LMARGIN", new_y="NEXT")
            elif isinstance(line, Cut):
                continue
        return bytes(pdf.output())
