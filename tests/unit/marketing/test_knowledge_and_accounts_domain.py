"""Knowledge articles (versions, audience, tags) and key accounts (contacts, bid cases)."""

from __future__ import annotations

import datetime as dt

import pytest

from dealercrm.domain.errors import IllegalTransition, InvalidValue
from dealercrm.domain.key_accounts import AccountContact, BidOutcome, KeyAccount
from dealercrm.domain.knowledge import Article, ArticleStatus, AttachmentRef, search_terms

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def article(**kw) -> Article:
    args = dict(article_no="KB-2026-000001", title="呼吸阀漏气", topic="罐式车", kind="faq", body="更换密封圈",
                tags=["呼吸阀", "Leak", "呼吸阀"], product_lines=["tanker"], audience=["dealers"],
                attachments=[AttachmentRef("图.pdf", "https://f.example.com/1.pdf")], author="tech", now=NOW)
    args.update(kw)
    return Article.write(**args)


def test_tags_are_deduplicated_and_searchable_in_lower_case():
    a = article()
    assert a.tags == ["呼吸阀", "Leak"]
    assert a.tags_text == "|呼吸阀|leak|"
    assert (a.for_dealers, a.for_stations, a.status) == (True, False, ArticleStatus.DRAFT)


def test_a_content_change_is_a_new_revision_a_metadata_change_is_not():
    a = article()

    assert a.edit(title=None, topic="罐体", kind=None, body=None, tags=None, product_lines=None, audience=None,
                  attachments=None, author="tech", now=NOW)
    assert a.revision == 1
    assert a.edit(title=None, topic=None, kind=None, body="新方法", tags=None, product_lines=None, audience=None,
                  attachments=None, author="tech2", now=NOW)
    assert (a.revision, [r.body for r in a.revisions]) == (2, ["更换密封圈", "新方法"])
    assert not a.edit(title=None, topic=None, kind=None, body=None, tags=None, product_lines=None, audience=None,
                      attachments=None, author="tech", now=NOW)
    assert (a.for_dealers, a.attachments) == (True, [{"name": "图.pdf", "url": "https://f.example.com/1.pdf"}])


def test_publish_and_unpublish_are_transitions():
    a = article()
    a.publish(NOW)
    with pytest.raises(IllegalTransition):
        a.publish(NOW)
    a.unpublish(NOW)
    with pytest.raises(IllegalTransition):
        a.unpublish(NOW)


@pytest.mark.parametrize("kw, field", [
    ({"kind": "poem"}, "kind"), ({"audience": ["public"]}, "audience"), ({"tags": ["a|b"]}, "tags"),
    ({"product_lines": ["bus"]}, "product_lines"), ({"body": " "}, "body"),
    ({"attachments": [AttachmentRef("x", "ftp://x")]}, "attachments[0].url"),
])
def test_article_input_rules(kw, field):
    with pytest.raises(InvalidValue) as err:
        article(**kw)
    assert err.value.field == field


def test_search_terms_split_on_any_white_space():
    assert search_terms("呼吸阀\u3000密封圈  Leak") == ["呼吸阀", "密封圈", "leak"]
    assert search_terms(None) == []


def account() -> KeyAccount:
    return KeyAccount.file(name="中石化河南", industry="成品油运输", region="华中", dealer_id=1, sales_rep_id=None,
                           contacts=[AccountContact("刘经理", "采购", "137 0000 1111")], notes=None, by_name="d",
                           now=NOW, known_regions=("华中",))


def test_contacts_phones_are_normalised_and_a_bad_one_names_its_field():
    assert account().contacts == [{"name": "刘经理", "title": "采购", "phone": "13700001111"}]
    with pytest.raises(InvalidValue) as err:
        KeyAccount.file(name="x", industry="y", region="华中", dealer_id=1, sales_rep_id=None,
                        contacts=[AccountContact("a", "", "123")], notes=None, by_name="d", now=NOW,
                        known_regions=("华中",))
    assert err.value.field == "contacts[0].phone"


def test_bids_won_and_lost():
    a = account()
    won = a.record_bid(title="集采", bid_on=dt.date(2026, 2, 1), outcome="won", amount_fen=100, product_line="tanker",
                       quantity=2, competitors=["中集", "中集", "通华"], reasons=None, by_name="d", now=NOW)
    assert (won.outcome, won.competitors) == (BidOutcome.WON, ["中集", "通华"])
    with pytest.raises(InvalidValue):
        a.record_bid(title="x", bid_on=dt.date(2026, 2, 1), outcome="lost", amount_fen=1, product_line=None,
                     quantity=None, competitors=[], reasons=None, by_name="d", now=NOW)
    with pytest.raises(InvalidValue):
        a.record_bid(title="x", bid_on=dt.date(2026, 4, 1), outcome="won", amount_fen=1, product_line=None,
                     quantity=None, competitors=[], reasons=None, by_name="d", now=NOW)
    with pytest.raises(InvalidValue):
        a.record_bid(title="x", bid_on=dt.date(2026, 2, 1), outcome="won", amount_fen=-5, product_line=None,
                     quantity=None, competitors=[], reasons=None, by_name="d", now=NOW)
