"""messages: conversations (one-to-one, group, record threads), members with read marks, messages, their files

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 19:50:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'conversations',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('title', sa.String(length=80), nullable=False),
        sa.Column('record_kind', sa.String(length=32), nullable=True),
        sa.Column('record_id', _ID, nullable=True),
        sa.Column('direct_key', sa.String(length=45), nullable=True),
        sa.Column('created_by', _ID, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_message_id', _ID, nullable=False),
        sa.ForeignKeyConstraint(['created_by'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('direct_key'),
        sa.UniqueConstraint('record_kind', 'record_id', name='uq_conversations_record'),
    )
    op.create_index('ix_conversations_activity', 'conversations', ['last_message_id', 'id'])
    op.create_table(
        'conversation_members',
        sa.Column('conversation_id', _ID, nullable=False),
        sa.Column('user_id', _ID, nullable=False),
        sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_read_id', _ID, nullable=False),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('conversation_id', 'user_id', name='pk_conversation_members'),
    )
    op.create_index('ix_conversation_members_user_id', 'conversation_members', ['user_id'])
    op.create_table(
        'messages',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('conversation_id', _ID, nullable=False),
        sa.Column('author_id', _ID, nullable=False),
        sa.Column('author_name', sa.String(length=60), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('mentions', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['author_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_messages_conversation_id_id', 'messages', ['conversation_id', 'id'])
    op.create_table(
        'message_attachments',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('message_id', _ID, nullable=False),
        sa.Column('content_type', sa.String(length=60), nullable=False),
        sa.Column('size_bytes', _ID, nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('thumbnail_sha256', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_message_attachments_message_id', 'message_attachments', ['message_id'])


def downgrade() -> None:
    op.drop_table('message_attachments')
    op.drop_table('messages')
    op.drop_table('conversation_members')
    op.drop_table('conversations')
