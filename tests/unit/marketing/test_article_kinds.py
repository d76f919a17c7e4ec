"""Seed 000 §4.7: the knowledge base holds articles of the four named kinds, diagrams among them."""

from __future__ import annotations

import datetime as dt

import pytest

from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.knowledge import Article, ArticleKind, AttachmentRef

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def test_the_seeds_four_kinds_are_article_kinds_and_a_diagram_keeps_its_picture():
    labels = {k.value: k.label for k in ArticleKind}
    assert [labels[k] for k in ("faq", "solution", "diagram", "user_guide")] == [
        "常见问题", "问题与解决方法", "示意图", "产品用户指南"]
    diagram = Article.write(article_no="KB-2026-000009", title="罐体紧急切断阀结构示意图", topic="罐式车",
                            kind="diagram", body="切断阀各部件位置与拆装顺序。", tags=["切断阀"],
                            product_lines=["tanker"], audience=["stations"],
                            attachments=[AttachmentRef("切断阀结构.png", "https://f.example.com/kb/valve.png")],
                            author="tech", now=NOW)
    assert diagram.kind is ArticleKind.DIAGRAM
    assert [a["name"] for a in diagram.attachments] == ["切断阀结构.png"]
    with pytest.raises(InvalidValue):
        Article.write(article_no="KB-2026-000010", title="x", topic="y", kind="poem", body="z", tags=[],
                      product_lines=[], audience=["stations"], attachments=[], author="tech", now=NOW)
