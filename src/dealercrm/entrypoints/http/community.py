"""HTTP API of the community (互动社区, issue 21 §2): posts and questions by topic with Chinese
search, answers, accepting an answer, likes, reports, staff moderation (hide, lock) and an
accepted answer turned into a knowledge article. Lists are ``{items, next_cursor}``; errors are
problem+json (a hidden post is 404 to anyone but staff; a dealer moderating is 403)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from msgspec import Meta

from dealercrm.application.ports.community import AnswerRow, PostRow
from dealercrm.application.services.community import CommunityService
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.http.schemas import Page
from dealercrm.entrypoints.http.schemas import Request as Body
from dealercrm.entrypoints.http.security import ANY_USER, requires

User = Request[Principal, Any, Any]
Id = Annotated[int, Meta(ge=1, le=2**63 - 1)]


class NewPost(Body):
    topic: Annotated[str, Meta(max_length=40)]
    title: Annotated[str, Meta(max_length=1000)]
    body: Annotated[str, Meta(max_length=50000)]
    kind: Annotated[str, Meta(max_length=20)] = "question"


class NewAnswer(Body):
    body: Annotated[str, Meta(max_length=50000)]


class Accept(Body):
    answer_id: Id


class Report(Body):
    reason: Annotated[str, Meta(max_length=2000)]


class PostModeration(Body):
    locked: bool | None = None
    hidden: bool | None = None


class AnswerModeration(Body):
    hidden: bool


class PostOut(msgspec.Struct):
    id: int
    kind: str
    topic: str
    title: str
    body: str
    author_id: int
    author_name: str
    created_at: dt.datetime
    locked: bool
    hidden: bool
    accepted_answer_id: int | None
    answer_count: int
    like_count: int
    report_count: int


class AnswerOut(msgspec.Struct):
    id: int
    post_id: int
    author_id: int
    author_name: str
    body: str
    created_at: dt.datetime
    hidden: bool
    accepted: bool
    article_id: int | None
    like_count: int


class PostPage(msgspec.Struct):
    items: list[PostOut]
    next_cursor: str | None


class PostDetail(msgspec.Struct):
    post: PostOut
    answers: list[AnswerOut]


class Topic(msgspec.Struct):
    code: str
    name: str


class Created(msgspec.Struct):
    id: int


class Likes(msgspec.Struct):
    like_count: int


class ArticleCreated(msgspec.Struct):
    article_id: int
    article_no: str
    status: str


def post_out(p: PostRow, user: Principal) -> PostOut:
    """The post as ``user`` sees it: how often it was reported is for the moderators (staff)."""
    return PostOut(p.id, p.kind.value, p.topic, p.title, p.body, p.author_id, p.author_name, p.created_at, p.locked,
                   p.hidden, p.accepted_answer_id, p.answer_count, p.like_count,
                   p.report_count if user.role.is_staff else 0)


def answer_out(a: AnswerRow, accepted_id: int | None) -> AnswerOut:
    return AnswerOut(a.id, a.post_id, a.author_id, a.author_name, a.body, a.created_at, a.hidden,
                     a.id == accepted_id, a.article_id, a.like_count)


class CommunityController(Controller):
    path = "/api/v1/community"
    tags = ["community 互动社区"]
    guards = [requires(*ANY_USER)]

    @get("/topics", sync_to_thread=False, summary="话题 The topics: product lines, fault categories, regulations")
    def topics(self, community: CommunityService) -> Page[Topic]:
        return Page([Topic(code, name) for code, name in community.topics().items()], None)

    @get("/posts", sync_to_thread=True, summary="帖子 Posts and questions, newest first, by topic and Chinese search")
    def index(self, request: User, community: CommunityService,
              topic: Annotated[str | None, Parameter(max_length=40)] = None,
              q: Annotated[str | None, Parameter(max_length=200)] = None,
              cursor: Annotated[str | None, Parameter(max_length=30)] = None,
              limit: Annotated[int, Parameter(ge=1, le=100)] = 20, reported: bool = False) -> PostPage:
        rows, next_cursor = community.posts(request.user, topic=topic, q=q, cursor=cursor, limit=limit,
                                            reported=reported)
        return PostPage([post_out(r, request.user) for r in rows], next_cursor)

    @post("/posts", sync_to_thread=True, status_code=HTTP_201_CREATED, summary="提问/发帖 Ask a question or post")
    def create(self, data: NewPost, request: User, community: CommunityService) -> Created:
        return Created(community.ask(request.user, kind=data.kind, topic=data.topic, title=data.title,
                                     body=data.body))

    @get("/posts/{post_id:int}", sync_to_thread=True, summary="帖子详情 A post with its answers")
    def detail(self, post_id: int, request: User, community: CommunityService) -> PostDetail:
        view = community.post(request.user, post_id)
        accepted = view.post.accepted_answer_id
        return PostDetail(post_out(view.post, request.user), [answer_out(a, accepted) for a in view.answers])

    @post("/posts/{post_id:int}/answers", sync_to_thread=True, status_code=HTTP_201_CREATED,
          summary="回答 Answer (not on a locked post)")
    def answer(self, post_id: int, data: NewAnswer, request: User, community: CommunityService) -> Created:
        return Created(community.answer(request.user, post_id, data.body))

    @post("/posts/{post_id:int}/accept", sync_to_thread=True, status_code=HTTP_200_OK,
          summary="采纳 Accept an answer (the asker or staff)")
    def accept(self, post_id: int, data: Accept, request: User, community: CommunityService) -> PostOut:
        community.accept(request.user, post_id, data.answer_id)
        return post_out(community.post(request.user, post_id).post, request.user)

    @post("/posts/{post_id:int}/like", sync_to_thread=True, status_code=HTTP_200_OK, summary="点赞 Like a post once")
    def like_post(self, post_id: int, request: User, community: CommunityService) -> Likes:
        return Likes(community.like_post(request.user, post_id))

    @post("/answers/{answer_id:int}/like", sync_to_thread=True, status_code=HTTP_200_OK,
          summary="点赞 Like an answer once")
    def like_answer(self, answer_id: int, request: User, community: CommunityService) -> Likes:
        return Likes(community.like_answer(request.user, answer_id))

    @post("/posts/{post_id:int}/report", sync_to_thread=True, status_code=HTTP_201_CREATED,
          summary="举报 Report a post")
    def report_post(self, post_id: int, data: Report, request: User, community: CommunityService) -> Created:
        return Created(community.report_post(request.user, post_id, data.reason))

    @post("/answers/{answer_id:int}/report", sync_to_thread=True, status_code=HTTP_201_CREATED,
          summary="举报 Report an answer")
    def report_answer(self, answer_id: int, data: Report, request: User, community: CommunityService) -> Created:
        return Created(community.report_answer(request.user, answer_id, data.reason))

    @post("/posts/{post_id:int}/moderation", sync_to_thread=True, status_code=HTTP_200_OK,
          summary="管理 Hide or lock a post (staff)")
    def moderate_post(self, post_id: int, data: PostModeration, request: User,
                      community: CommunityService) -> PostOut:
        return post_out(community.moderate_post(request.user, post_id, locked=data.locked, hidden=data.hidden),
                        request.user)

    @post("/answers/{answer_id:int}/moderation", sync_to_thread=True, status_code=HTTP_200_OK,
          summary="管理 Hide an answer (staff)")
    def moderate_answer(self, answer_id: int, data: AnswerModeration, request: User,
                        community: CommunityService) -> AnswerOut:
        row = community.moderate_answer(request.user, answer_id, hidden=data.hidden)
        return answer_out(row, community.post(request.user, row.post_id).post.accepted_answer_id)

    @post("/answers/{answer_id:int}/article", sync_to_thread=True, status_code=HTTP_201_CREATED,
          summary="转为知识 Turn an accepted answer into a knowledge article (staff)")
    def to_article(self, answer_id: int, request: User, community: CommunityService) -> ArticleCreated:
        ref = community.to_article(request.user, answer_id)
        return ArticleCreated(ref.id, ref.article_no, ref.status)


COMMUNITY_CONTROLLERS = [CommunityController]
