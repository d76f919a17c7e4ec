"""Contract PDF with fpdf2 and an embedded (subset) Chinese TrueType font.

PDF viewers cannot be trusted to have a Chinese font, so the glyphs travel inside the file:
fpdf2 embeds a subset of the configured TrueType/OpenType font (a ``.ttc`` collection works
too) with a ToUnicode map, so the text stays searchable and copyable. The output is
deterministic for a given document — the creation date is the contract date and nothing else
varies — so the stored SHA-256 can be re-checked by rendering again.

Font lookup: ``DEALERCRM_PDF_FONT`` if set, else the first of :data:`FONT_CANDIDATES` present
(Debian: ``fonts-wqy-microhei``, ``fonts-noto-cjk`` or ``fonts-droid-fallback``; the last
has no Latin glyphs, so DejaVu Sans fills them in when present).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from dealercrm.application.ports.documents import DocumentUnavailable
from dealercrm.domain.contract_document import ContractDocument, rmb_uppercase, yuan_text
from dealercrm.domain.values import SHANGHAI

FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
# Some CJK fonts (Droid Sans Fallback) carry no Latin digits or letters: fall back to these.
LATIN_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)
FAMILY = "cjk"
LATIN = "latin"


def find_cjk_font(configured: str | None = None, candidates: Iterable[str] = FONT_CANDIDATES) -> Path:
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise DocumentUnavailable(f"合同字体文件不存在：{configured}", code="document.font_missing",
                                      path=str(configured))
        return path
    for candidate in candidates:
        path = Path(candidate)
        if path.is_file():
            return path
    raise DocumentUnavailable(
        "未找到中文字体，无法生成合同PDF。请安装 fonts-droid-fallback 或设置 DEALERCRM_PDF_FONT",
        code="document.font_missing",
    )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _ContractPdf(FPDF):
    def __init__(self, contract_no: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.contract_no = contract_no

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, size=8)
        self.cell(0, 5, f"合同编号 {self.contract_no}    第 {self.page_no()} 页 共 {{nb}} 页", align="C")


class PdfContractRenderer:
    """``ContractRenderer`` producing an A4 PDF."""

    media_type = "application/pdf"

    def __init__(self, font_path: str | Path | None = None) -> None:
        self.font_path = find_cjk_font(str(font_path) if font_path else None)
        self.latin_path = next((Path(p) for p in LATIN_CANDIDATES if Path(p).is_file()), None)

    def render(self, document: ContractDocument) -> bytes:
        doc = document
        pdf = _ContractPdf(doc.contract_no)
        pdf.set_creation_date(dt.datetime.combine(doc.signed_on, dt.time(0, 0), SHANGHAI))
        pdf.set_title(f"{doc.title} {doc.contract_no}")
        pdf.set_author(doc.seller.name)
        pdf.set_subject(f"{doc.seller.name} / {doc.buyer.name}")
        pdf.set_creator("dealercrm")
        pdf.set_producer("dealercrm")
        try:
            pdf.add_font(FAMILY, fname=str(self.font_path))
            if self.latin_path is not None:
                pdf.add_font(LATIN, fname=str(self.latin_path))
                pdf.set_fallback_fonts([LATIN])
        except Exception as exc:  # a broken or unreadable font file is an installation problem
            raise DocumentUnavailable(f"字体无法加载：{self.font_path.name}", code="document.font_unreadable",
                                      path=str(self.font_path)) from exc
        pdf.set_auto_page_break(auto=True, margin=16)
        pdf.set_margins(18, 16, 18)
        pdf.add_page()

        pdf.set_font(FAMILY, size=18)
        pdf.cell(0, 12, doc.title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FAMILY, size=10)
        header = f"合同编号：{doc.contract_no}    签订日期：{doc.signed_on:%Y年%m月%d日}"
        if doc.order_no:
            header += f"    订单号：{doc.order_no}"
        pdf.cell(0, 7, header, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)

        self._parties(pdf, doc)
        self._section(pdf, "一、产品名称、配置、数量及价款")
        self._items(pdf, doc)
        self._paragraph(pdf, f"合同总金额（含税）：{yuan_text(doc.total_fen)}　大写：人民币{rmb_uppercase(doc.total_fen)}")
        if doc.end_customer:
            self._paragraph(pdf, f"最终用户：{doc.end_customer}")

        self._section(pdf, "二、交货")
        delivery = f"交货方式：{doc.delivery_method}"
        if doc.delivery_date:
            delivery += f"；约定交货日期：{doc.delivery_date:%Y年%m月%d日}"
        self._paragraph(pdf, delivery)
        if doc.delivery_address:
            self._paragraph(pdf, f"交货地点：{doc.delivery_address}")

        self._section(pdf, "三、付款方式")
        for i, term in enumerate(doc.payment_terms or ("按双方约定的信用条款付款。",), start=1):
            self._paragraph(pdf, f"{i}. {term}")

        self._section(pdf, "四、其他条款")
        for i, clause in enumerate(doc.clauses, start=1):
            self._paragraph(pdf, f"{i}. {clause}")
        if doc.remarks:
            self._section(pdf, "五、备注")
            self._paragraph(pdf, doc.remarks)

        self._signatures(pdf, doc)
        return bytes(pdf.output())

    # -- pieces ------------------------------------------------------------------------------

    @staticmethod
    def _section(pdf: FPDF, title: str) -> None:
        pdf.ln(2)
        pdf.set_font(FAMILY, size=12)
        pdf.cell(0, 8, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FAMILY, size=10)

    @staticmethod
    def _paragraph(pdf: FPDF, text: str) -> None:
        pdf.multi_cell(0, 6, text, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def _parties(self, pdf: FPDF, doc: ContractDocument) -> None:
        pdf.set_font(FAMILY, size=10)
        rows = [("", doc.seller.role_label, doc.buyer.role_label),
                ("名称", doc.seller.name, doc.buyer.name),
                ("统一社会信用代码", doc.seller.uscc, doc.buyer.uscc),
                ("地址", doc.seller.address, doc.buyer.address),
                ("法定代表人/委托代理人", doc.seller.representative, doc.buyer.representative),
                ("电话", doc.seller.phone, doc.buyer.phone),
                ("开户行及账号", doc.seller.bank, doc.buyer.bank)]
        with pdf.table(col_widths=(34, 70, 70), text_align="LEFT", line_height=6, wrapmode=WrapMode.CHAR,
                       headings_style=FontFace(emphasis=None, fill_color=(235, 235, 235))) as table:
            for label, seller, buyer in rows:
                r = table.row()
                r.cell(label)
                for value in (seller, buyer):
                    r.cell(value if not label else value or "—")

    def _items(self, pdf: FPDF, doc: ContractDocument) -> None:
        with pdf.table(col_widths=(8, 58, 58, 12, 28, 30), text_align=("CENTER", "LEFT", "LEFT", "CENTER", "RIGHT", "RIGHT"),
                       line_height=6, wrapmode=WrapMode.CHAR,
                       headings_style=FontFace(emphasis=None, fill_color=(235, 235, 235))) as table:
            head = table.row()
            for title in ("序号", "产品名称及型号", "主要配置", "数量", "单价（元）", "金额（元）"):
                head.cell(title)
            for i, item in enumerate(doc.items, start=1):
                r = table.row()
                r.cell(str(i))
                r.cell(f"{item.description}\n{item.model_code}")
                r.cell("\n".join(item.configuration) or "标准配置")
                r.cell(str(item.quantity))
                r.cell(yuan_text(item.unit_price_fen))
                r.cell(yuan_text(item.amount_fen))
            total = table.row()
            total.cell("合计", colspan=3)
            total.cell(str(doc.total_quantity))
            total.cell("")
            total.cell(yuan_text(doc.total_fen))

    @staticmethod
    def _signatures(pdf: FPDF, doc: ContractDocument) -> None:
        pdf.ln(6)
        if pdf.will_page_break(40):
            pdf.add_page()
        width = (pdf.w - pdf.l_margin - pdf.r_margin) / 2
        y = pdf.get_y()
        for i, party in enumerate((doc.seller, doc.buyer)):
            pdf.set_xy(pdf.l_margin + i * width, y)
            pdf.multi_cell(width, 7, f"{party.role_label}（盖章）：{party.name}\n"
                                     f"代表签字：\n日期：　　年　　月　　日", wrapmode=WrapMode.CHAR)
