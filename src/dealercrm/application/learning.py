"""Learning use cases (seed 000 §6.6): recording who read which knowledge article, and required
reading (必读) that editors assign to dealers or service stations with a due day. The queries —
a reader's required reading, an assignment's progress, an article's readers — are on
``KnowledgeQueries``; the rules are in ``domain.learning``."""

from __future__ import annotations

import datetime as dt

import attrs

from dealercrm.application.access import not_found, require_role
from dealercrm.application.knowledge import EDITORS
from dealercrm.application.ports.marketing import LearningUnitOfWork
from dealercrm.application.ports.persistence import Clock
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Role
from dealercrm.domain.knowledge import Readership
from dealercrm.domain.learning import ArticleRead, ReadingAssignment
from dealercrm.domain.values import stored_id


@attrs.frozen
class AssignReading:
    article_id: int
    readership: str  # dealers / stations
    due_on: dt.date
    target_ids: tuple[int, ...] = ()  # dealer or station ids; empty: all of the readership
    note: str = ""


@attrs.frozen
class AssignmentRef:
    id: int
    article_id: int
    readership: str
    due_on: dt.date
    cancelled: bool


def _ref(a: ReadingAssignment) -> AssignmentRef:
    return AssignmentRef(stored_id(a.id), a.article_id, a.readership.value, a.due_on, not a.active)


def assign_reading(cmd: AssignReading, uow: LearningUnitOfWork, clock: Clock) -> AssignmentRef:
    require_role(uow.actor, *EDITORS)
    try:
        readership = Readership(cmd.readership)
    except ValueError:
        raise InvalidValue("readership", "读者范围应为 dealers（经销商）或 stations（服务站）",
                           code="reading.bad_readership") from None
    with uow:
        article = uow.articles.get(cmd.article_id)
        if article is None:
            raise not_found("article", "知识文章")
        unknown = uow.reading.unknown_targets(readership, cmd.target_ids)
        if unknown:
            raise InvalidValue("target_ids", f"不存在的对象：{', '.join(map(str, unknown))}",
                               code="reading.unknown_target", unknown=list(unknown))
        assignment = ReadingAssignment.assign(article, readership, cmd.target_ids, cmd.due_on, cmd.note, clock(),
                                              uow.actor.username)
        uow.reading.add(assignment)
        uow.flush()
        ref = _ref(assignment)
        uow.commit()
    return ref


def cancel_assignment(assignment_id: int, uow: LearningUnitOfWork, clock: Clock) -> AssignmentRef:
    require_role(uow.actor, *EDITORS)
    with uow:
        assignment = uow.reading.get(assignment_id)
        if assignment is None:
            raise not_found("reading_assignment", "必读任务")
        assignment.cancel(clock())
        uow.flush()
        ref = _ref(assignment)
        uow.commit()
    return ref


def record_read(article_id: int, uow: LearningUnitOfWork, clock: Clock) -> None:
    """The caller opened the article (its visibility already checked by the caller). Devices and
    the system have no reading to record."""
    actor = uow.actor
    if actor.user_id is None or actor.role is Role.KIOSK:
        return
    now = clock()
    with uow:
        seen = uow.reading.read_of(article_id, actor.user_id)
        if seen is None:
            uow.reading.add_read(ArticleRead(article_id, actor.user_id, actor.dealer_id, actor.station_id, now, now))
        else:
            seen.again(now)
        uow.commit()
