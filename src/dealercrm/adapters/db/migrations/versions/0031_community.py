"""community: posts and questions by topic, answers, likes, reports, and the Chinese full-text index community_search; the away digest's mark on conversation_members

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06 21:00:00.000000

The index rows are written by the application (``adapters/db/community.py``), which segments the
Chinese text with jieba: FTS5 on SQLite, a weighted tsvector under GIN on PostgreSQL, as kb_search.
"""
from alembic import op
import sqlalchemy as sa


revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    # the away digest (issue 21 §4): how far each member's unread messages went out by e-mail/SMS
    with op.batch_alter_table('conversation_members') as batch:
        batch.add_column(sa.Column('digested_id', _ID, nullable=False, server_default='0'))
    op.create_table(
        'community_posts',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('topic', sa.String(length=40), nullable=False),
        sa.Column('title', sa.String(length=80), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('author_id', _ID, nullable=False),
        sa.Column('author_name', sa.String(length=60), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('locked', sa.Boolean(), nullable=False),
        sa.Column('hidden', sa.Boolean(), nullable=False),
        sa.Column('accepted_answer_id', _ID, nullable=True),
        sa.ForeignKeyConstraint(['author_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_community_posts_topic_id', 'community_posts', ['topic', 'id'])
    op.create_table(
        'community_answers',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('post_id', _ID, nullable=False),
        sa.Column('author_id', _ID, nullable=False),
        sa.Column('author_name', sa.String(length=60), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('hidden', sa.Boolean(), nullable=False),
        sa.Column('article_id', _ID, nullable=True),
        sa.ForeignKeyConstraint(['post_id'], ['community_posts.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['author_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_community_answers_post_id', 'community_answers', ['post_id'])
    op.create_table(
        'community_likes',
        sa.Column('target', sa.String(length=10), nullable=False),
        sa.Column('target_id', _ID, nullable=False),
        sa.Column('user_id', _ID, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('target', 'target_id', 'user_id', name='pk_community_likes'),
    )
    op.create_table(
        'community_reports',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('target', sa.String(length=10), nullable=False),
        sa.Column('target_id', _ID, nullable=False),
        sa.Column('reporter_id', _ID, nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['reporter_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_community_reports_target', 'community_reports', ['target', 'target_id'])
    if op.get_context().dialect.name == 'sqlite':
        op.execute("CREATE VIRTUAL TABLE community_search USING fts5(title_terms, body_terms, tokenize='unicode61')")
        return
    op.execute("""
        CREATE TABLE community_search (
            post_id BIGINT PRIMARY KEY REFERENCES community_posts (id) ON DELETE CASCADE,
            title_terms TEXT NOT NULL,
            body_terms TEXT NOT NULL,
            document tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('simple', title_terms), 'A')
                || setweight(to_tsvector('simple', body_terms), 'C')) STORED
        )""")
    op.execute("CREATE INDEX ix_community_search_document ON community_search USING GIN (document)")


def downgrade() -> None:
    op.execute("DROP TABLE community_search")
    op.drop_table('community_reports')
    op.drop_table('community_likes')
    op.drop_table('community_answers')
    op.drop_table('community_posts')
    with op.batch_alter_table('conversation_members') as batch:
        batch.drop_column('digested_id')
