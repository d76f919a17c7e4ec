"""Alembic environment: runs on the connection handed over by ``dealercrm.adapters.db.migrate``."""

from alembic import context
from sqlalchemy.types import TypeDecorator

from dealercrm.adapters.db.migrate import target_metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `dealercrm db upgrade` (dealercrm.adapters.db.migrate)")



def _render_item(type_, obj, autogen_context):  # noqa: ANN001 - alembic hook signature
    """Render our TypeDecorators as their plain SQL type, so migrations never import app code."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl_instance!r}"
    return False


def _include_name(name, type_, parent_names):  # noqa: ANN001 - alembic hook signature
    """The full-text indexes (FTS5 virtual tables on SQLite) are built by their migrations
    per engine and are not in the metadata: autogenerate must not drop them."""
    from dealercrm.adapters.db.fulltext import is_unmapped

    return not (type_ == "table" and is_unmapped(name))


context.configure(
    include_name=_include_name,
    render_item=_render_item,
    connection=connection,
    target_metadata=target_metadata(),
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
