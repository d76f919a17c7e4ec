"""The contract PDF with the real renderer and a real Chinese font (installed by the test
command): the glyphs are embedded, the text reads back, the bytes are reproducible."""

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from dealercrm.adapters.documents.contract_pdf import FONT_CANDIDATES, PdfContractRenderer, find_cjk_font, sha256_hex
from dealercrm.application.ports.documents import DocumentUnavailable
from dealercrm.domain.contract_document import ContractDocument, ContractItem, Party, rmb_uppercase

try:
    FONT = find_cjk_font()
except DocumentUnavailable:  # pragma: no cover - the test command installs fonts-wqy-microhei
    FONT = None
needs_font = pytest.mark.skipif(FONT is None, reason=f"no Chinese font among {FONT_CANDIDATES}")


def document(**over):
    fields = dict(
        contract_no="HT2026000017",
        signed_on=dt.date(2026, 11, 22),
        seller=Party("甲方（卖方）", "程力专用汽车股份有限公司", "91421300MA4F0XXXXX", "湖北省随州市曾都区"),
        buyer=Party("乙方（买方）", "郑州宏达专用车销售有限公司", "91350100M000100Y43",
                    "河南省郑州市经开区第八大街88号", "王建国", "13800138000"),
        items=(
            ContractItem("铝合金运油半挂车（40立方）", "CLW9400GYYL",
                         ("轴数：三轴", "轮胎：11R22.5 真空胎 12条", "罐体材质：5083铝合金"), 2, 41_800_000, 83_600_000),
            ContractItem("U型自卸车 5.6米", "CLW3250ZZU", (), 1, 32_050_050, 32_050_050),
        ),
        delivery_date=dt.date(2027, 1, 15),
        delivery_method="外送",
        delivery_address="河南省郑州市经开区第八大街88号",
        payment_terms=("合同签订后3日内支付合同总额30%定金", "提车前付清全部余款"),
        end_customer="郑州顺达物流有限公司",
        order_no="SO2026000123",
    )
    fields.update(over)
    return ContractDocument(**fields)


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@needs_font
def test_contract_pdf_embeds_the_font_and_reads_back():
    doc = document()
    pdf = PdfContractRenderer().render(doc)
    assert pdf.startswith(b"%PDF-")
    assert b"/FontFile2" in pdf or b"/FontFile3" in pdf  # glyphs travel inside the file
    text = text_of(pdf)
    for expected in ("专用车辆产品购销合同", "HT2026000017", "郑州宏达专用车销售有限公司", "铝合金运油半挂车",
                     "11R22.5", "¥1,156,500.50", rmb_uppercase(doc.total_fen), "最终用户：郑州顺达物流有限公司",
                     "2027年01月15日", "提车前付清全部余款"):
        assert expected in text, expected


@needs_font
def test_same_document_same_bytes_and_digest():
    renderer = PdfContractRenderer()
    first, second = renderer.render(document()), renderer.render(document())
    assert sha256_hex(first) == sha256_hex(second)
    changed = renderer.render(document(delivery_date=dt.date(2027, 1, 16)))
    assert sha256_hex(changed) != sha256_hex(first)


@needs_font
def test_long_contract_breaks_pages():
    items = tuple(ContractItem(f"13米三轴平板半挂车 第{i}批", "CLW9401TPB", ("轴数：三轴",) * 6, 1, 100_000, 100_000)
                  for i in range(1, 25))
    pdf = PdfContractRenderer().render(document(items=items))
    assert len(PdfReader(io.BytesIO(pdf)).pages) >= 3
    assert "第24批" in text_of(pdf)


def test_missing_configured_font_is_a_clear_error(tmp_path):
    with pytest.raises(DocumentUnavailable) as err:
        PdfContractRenderer(tmp_path / "nope.ttf")
    assert err.value.code == "document.font_missing"


def test_unreadable_font_is_a_clear_error(tmp_path):
    bad = tmp_path / "broken.ttf"
    bad.write_bytes(b"not a font")
    with pytest.raises(DocumentUnavailable) as err:
        PdfContractRenderer(bad).render(document())
    assert err.value.code == "document.font_unreadable"


def test_no_font_anywhere_names_the_package(tmp_path):
    with pytest.raises(DocumentUnavailable) as err:
        find_cjk_font(None, candidates=(str(tmp_path / "x.ttf"),))
    assert "fonts-" in err.value.message
