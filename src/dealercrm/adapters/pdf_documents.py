"""PDF rendering of a laid-out ``PrintDocument`` (fpdf2), for paper a person prints on A5 —
the dealer's receipt for the driver, say. The same layout goes to the kiosk's ESC/POS printer.

Chinese needs a CJK font: ``DEALERCRM_PDF_FONT`` names a TTF/TTC file; unset, the usual Debian
locations are tried (``fonts-wqy-microhei``, ``fonts-droid-fallback``, ``fonts-noto-cjk``).
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

from dealercrm.domain.errors import Conflict
from dealercrm.domain.printing import Align, Cut, Feed, KeyValue, PrintDocument, QrCode, Separator, Text, Title

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
_ALIGN = {Align.LEFT: "L", Align.CENTER: "C", Align.RIGHT: "R"}


def find_cjk_font(explicit: str = "") -> Path | None:
    for candidate in ((explicit,) if explicit else FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


class FpdfDocumentRenderer:
    def __init__(self, font_path: str = "") -> None:
        self.font_path = font_path

    def render(self, document: PrintDocument, title: str) -> bytes:
        font = find_cjk_font(self.font_path)
        if font is None:
            raise Conflict("服务器未安装中文字体，暂不能生成PDF（请安装 fonts-wqy-microhei 或设置 DEALERCRM_PDF_FONT）",
                           code="pdf.font_unavailable")
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
