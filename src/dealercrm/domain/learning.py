"""Learning (seed 000 §6.6 学习): the knowledge base knows who read which article, and editors
assign required reading (必读) to dealers or service stations, with a due day.

An assignment addresses one readership — all dealers, all stations, or the ones listed — and an
article that readership may see (published, for that audience). A reader has read it once any
of their visits is recorded; progress counts the addressed people who have. Days are Beijing
days: an assignment due today is not overdue until tomorrow in Beijing."""

from __future__ import annotations

import datetime as dt

import attrs

from dealercrm.domain.errors import IllegalTransition, InvalidValue
from dealercrm.domain.knowledge import Article, ArticleStatus, Readership
from dealercrm.domain.values import beijing_date, stored_id

MAX_TARGETS = 500
MAX_NOTE = 200


@attrs.define(slots=False, eq=False)
class ReadingAssignment:
    article_id: int
    readership: Readership
    target_ids: list[int]  # empty: every dealer (or station) of the readership
    due_on: dt.date
    note: str
    created_at: dt.datetime
    created_by_name: str
    cancelled_at: dt.datetime | None = None
    id: int | None = None

    @classmethod
    def assign(cls, article: Article, readership: Readership, target_ids: tuple[int, ...], due_on: dt.date,
               note: str, now: dt.datetime, author: str) -> ReadingAssignment:
        if article.status is not ArticleStatus.PUBLISHED:
            raise InvalidValue("article_id", "只能指定已发布的文章为必读", code="reading.article_not_published")
        visible = article.for_dealers if readership is Readership.DEALERS else article.for_stations
        if not visible:
            raise InvalidValue("readership", "该文章未对此类读者开放，请先修改文章的读者范围",
                               code="reading.article_not_for_readership")
        if due_on < beijing_date(now):
            raise InvalidValue("due_on", "完成日期不能早于今天", code="reading.due_in_past")
        if len(target_ids) > MAX_TARGETS:
            raise InvalidValue("target_ids", f"最多指定{MAX_TARGETS}个对象", code="reading.too_many_targets")
        if any(t <= 0 for t in target_ids):
            raise InvalidValue("target_ids", "对象编号无效", code="reading.bad_target")
        note = note.strip()
        if len(note) > MAX_NOTE:
            raise InvalidValue("note", f"说明不能超过{MAX_NOTE}字", code="reading.note_too_long")
        return cls(article_id=stored_id(article.id), readership=readership,
                   target_ids=sorted(set(target_ids)), due_on=due_on, note=note, created_at=now,
                   created_by_name=author)

    @property
    def active(self) -> bool:
        return self.cancelled_at is None

    def addresses(self, readership: Readership, org_id: int | None) -> bool:
        return (self.active and readership is self.readership and org_id is not None
                and (not self.target_ids or org_id in self.target_ids))

    def overdue(self, now: dt.datetime) -> bool:
        return self.active and beijing_date(now) > self.due_on

    def cancel(self, now: dt.datetime) -> None:
        if not self.active:
            raise IllegalTransition("reading_assignment", "cancelled", "cancel")
        self.cancelled_at = now


@attrs.define(slots=False, eq=False)
class ArticleRead:
    """One reader's visits to one article: the first and the last, and how many."""

    article_id: int
    user_id: int
    dealer_id: int | None
    station_id: int | None
    first_read_at: dt.datetime
    last_read_at: dt.datetime
    read_count: int = 1
    id: int | None = None

    def again(self, now: dt.datetime) -> None:
        self.last_read_at, self.read_count = now, self.read_count + 1
