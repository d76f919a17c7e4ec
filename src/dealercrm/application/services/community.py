"""The community service (``crm.community``, issue 21 §2): posts and questions by topic, answers,
one accepted answer, likes, reports and staff moderation, Chinese full-text search, and an
accepted answer turned into a knowledge article.

Access, in one place: every signed-in person (factory staff, dealers, service stations) reads and
writes the public community; hidden posts and answers show to staff only (to anyone else they are
404); only staff hide, lock and make articles (:func:`dealercrm.domain.community.check_can_moderate`).
"""

from __future__ import annotations

import attrs

from dealercrm.application import knowledge as kb
from dealercrm.application.access import not_found
from dealercrm.application.ports.community import AnswerRow, CommunityStore, PostRow
from dealercrm.application.ports.persistence import Clock
from dealercrm.application.services.marketing import MarketingService
from dealercrm.domain import community as rules
from dealercrm.domain.errors import Conflict, InvalidValue, NotFound, PermissionDenied
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.knowledge import PRODUCT_LINES

PAGE = 20
MAX_QUERY_CHARS = 100


@attrs.frozen
class PostView:
    post: PostRow
    answers: tuple[AnswerRow, ...]
    topic_label: str
    can_moderate: bool
    can_accept: bool


def _is_staff(actor: Principal) -> bool:
    return actor.role.is_staff


class CommunityService:
    """The public community and its moderation."""

    def __init__(self, clock: Clock, store: CommunityStore, marketing: MarketingService) -> None:
        self._clock: Clock = clock
        self.store: CommunityStore = store
        self.marketing: MarketingService = marketing

    @staticmethod
    def _person(actor: Principal) -> int:
        if actor.user_id is None or actor.is_device or actor.role is Role.KIOSK:
            raise PermissionDenied("仅限登录用户使用社区", code="community.people_only")
        return actor.user_id

    def topics(self) -> dict[str, str]:
        """The community's topics (product lines, fault categories, 法规政策): code → Chinese label."""
        return rules.topics()

    def _post(self, actor: Principal, post_id: int) -> PostRow:
        self._person(actor)
        row = self.store.post(post_id)
        if row is None or not rules.visible_to(row.hidden, _is_staff(actor)):
            raise not_found("post", "帖子")
        return row

    def _answer(self, actor: Principal, answer_id: int) -> tuple[PostRow, AnswerRow]:
        self._person(actor)
        row = self.store.answer(answer_id)
        if row is None or not rules.visible_to(row.hidden, _is_staff(actor)):
            raise not_found("answer", "回答")
        try:
            return self._post(actor, row.post_id), row
        except NotFound:
            raise not_found("answer", "回答") from None

    @staticmethod
    def _facts(post: PostRow) -> rules.PostFacts:
        return rules.PostFacts(post.id, post.kind, post.author_id, post.locked, post.hidden, post.accepted_answer_id)

    # reading
    def posts(self, actor: Principal, *, topic: str | None = None, q: str | None = None, cursor: str | None = None,
              limit: int = PAGE, reported: bool = False) -> tuple[list[PostRow], str | None]:
        """Newest first, filtered by topic and by a Chinese search; and the next page's cursor.
        ``reported``: the moderation queue — reported posts (staff only)."""
        self._person(actor)
        if reported:
            rules.check_can_moderate(_is_staff(actor))
        wanted_topic = rules.topic_of(topic) if topic else None
        query = (q or "").strip()
        if len(query) > MAX_QUERY_CHARS:
            raise InvalidValue("q", f"搜索词不能超过{MAX_QUERY_CHARS}个字", code="community.query_too_long")
        before = _parse_cursor(cursor)
        rows = self.store.posts(topic=wanted_topic, query=query or None, include_hidden=_is_staff(actor),
                                before_id=before, limit=limit + 1, reported_only=reported)
        page = rows[:limit]
        return page, (str(page[-1].id) if len(rows) > limit and page else None)

    def post(self, actor: Principal, post_id: int) -> PostView:
        """A post with its answers (hidden ones for staff only) and whether the caller may accept an
        answer; any signed-in person. Raises ``NotFound`` for a missing or hidden post."""
        row = self._post(actor, post_id)
        staff = _is_staff(actor)
        answers = self.store.answers(post_id, include_hidden=staff)
        return PostView(row, tuple(answers), rules.topics().get(row.topic, row.topic),
                        staff, row.kind is rules.PostKind.QUESTION and (staff or row.author_id == actor.user_id))

    # writing
    def ask(self, actor: Principal, *, kind: str | None, topic: str | None, title: str | None,
            body: str | None) -> int:
        """A new question or post; every field is checked before anything is stored."""
        me = self._person(actor)
        checked_kind, checked_topic = rules.kind_of(kind or rules.PostKind.QUESTION.value), rules.topic_of(topic)
        checked_title, checked_body = rules.clean_title(title), rules.clean_body(body)
        return self.store.add_post(checked_kind, checked_topic, checked_title, checked_body, me, actor.username,
                                   self._clock())

    def answer(self, actor: Principal, post_id: int, body: str | None) -> int:
        """Answer a post (any signed-in person); returns the answer's id. Raises ``InvalidValue`` for
        an empty or oversize body, ``NotFound`` for an unseen post, ``Conflict`` when it is locked."""
        me = self._person(actor)
        text = rules.clean_body(body)
        post = self._post(actor, post_id)
        rules.check_can_answer(self._facts(post))
        return self.store.add_answer(post_id, me, actor.username, text, self._clock())

    def accept(self, actor: Principal, post_id: int, answer_id: int) -> None:
        """Mark the accepted answer (采纳) of a question: its asker or staff, once. Raises ``NotFound``
        for an answer not on that post, ``PermissionDenied``/``Conflict`` as the domain rule says."""
        post = self._post(actor, post_id)
        answer = self.store.answer(answer_id)
        if answer is None or answer.post_id != post_id or not rules.visible_to(answer.hidden, _is_staff(actor)):
            raise not_found("answer", "回答")
        rules.check_can_accept(self._facts(post), rules.AnswerFacts(answer.id, answer.post_id, answer.author_id,
                                                                     answer.hidden), actor.user_id, _is_staff(actor))
        self.store.accept(post_id, answer_id)

    def like_post(self, actor: Principal, post_id: int) -> int:
        """Like a post once per person; returns its like count (a second like changes nothing)."""
        me = self._person(actor)
        self._post(actor, post_id)
        return self.store.like("post", post_id, me, self._clock())

    def like_answer(self, actor: Principal, answer_id: int) -> int:
        """Like an answer once per person; returns its like count (a second like changes nothing)."""
        me = self._person(actor)
        self._answer(actor, answer_id)
        return self.store.like("answer", answer_id, me, self._clock())

    def report_post(self, actor: Principal, post_id: int, reason: str | None) -> int:
        """Report a post to the moderators with a reason; returns the report's id. Raises
        ``InvalidValue`` for an empty reason, ``NotFound`` for an unseen post."""
        me = self._person(actor)
        text = rules.clean_reason(reason)
        self._post(actor, post_id)
        return self.store.report("post", post_id, me, text, self._clock())

    def report_answer(self, actor: Principal, answer_id: int, reason: str | None) -> int:
        """Report an answer to the moderators with a reason; returns the report's id."""
        me = self._person(actor)
        text = rules.clean_reason(reason)
        self._answer(actor, answer_id)
        return self.store.report("answer", answer_id, me, text, self._clock())

    # moderation (staff)
    def moderate_post(self, actor: Principal, post_id: int, *, locked: bool | None = None,
                      hidden: bool | None = None) -> PostRow:
        """Lock (no more answers) or hide a post; staff only (``PermissionDenied`` otherwise).
        Returns the post as it is now."""
        self._person(actor)
        rules.check_can_moderate(_is_staff(actor))
        self._post(actor, post_id)
        self.store.set_post_flags(post_id, locked=locked, hidden=hidden)
        return self._post(actor, post_id)

    def moderate_answer(self, actor: Principal, answer_id: int, *, hidden: bool) -> AnswerRow:
        """Hide or show an answer; staff only (``PermissionDenied`` otherwise). Returns the answer."""
        self._person(actor)
        rules.check_can_moderate(_is_staff(actor))
        self._answer(actor, answer_id)
        self.store.set_answer_hidden(answer_id, hidden)
        _, row = self._answer(actor, answer_id)
        return row

    def to_article(self, actor: Principal, answer_id: int) -> kb.ArticleRef:
        """Turn an accepted answer into a knowledge article (a draft of kind 问题与解决方法, the
        question as its title, the question and the answer as its body), through the knowledge
        service; staff only, once per answer."""
        self._person(actor)
        rules.check_can_moderate(_is_staff(actor))
        post, answer = self._answer(actor, answer_id)
        if post.accepted_answer_id != answer.id:
            raise Conflict("只有被采纳的答案可以转为知识库文章", code="community.answer_not_accepted",
                           current_state="not_accepted")
        if answer.article_id is not None:
            raise Conflict("该答案已转为知识库文章", code="community.already_article", current_state="article",
                           article_id=answer.article_id)
        topic = rules.topics().get(post.topic, post.topic)
        product_lines = (post.topic,) if post.topic in PRODUCT_LINES else ()
        ref = self.marketing.write_article(actor, kb.WriteArticle(
            title=post.title, topic=topic, kind="solution",
            body=f"【问题】\n{post.body}\n\n【解答】\n{answer.body}", tags=("社区",),
            product_lines=product_lines))
        self.store.set_article(answer_id, ref.id)
        return ref


def _parse_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        value = int(cursor)
    except ValueError:
        raise InvalidValue("cursor", "分页游标无效", code="pagination.cursor_invalid") from None
    if not 0 < value < 2**63:
        raise InvalidValue("cursor", "分页游标无效", code="pagination.cursor_invalid")
    return value


__all__ = ["CommunityService", "PostView"]
