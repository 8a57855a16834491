"""news items with times, symbols and external ids; universes of stocks

Revision ID: 0006
Revises: 0005

A headline (or tweet) may carry `published_at` (UTC), the `symbols` it is about (table
`headline_symbols`) and an `external_id`, unique per source (idempotency by source + id).
`universe_stocks` names the stocks of a universe (such as ACL18 StockNet's) with their company
and sector.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("headlines", sa.Column("published_at", sa.DateTime(timezone=True)))
    op.add_column("headlines", sa.Column("external_id", sa.String(128)))
    op.create_index("ix_headlines_published_at", "headlines", ["published_at"])
    op.create_index("uq_headline_external", "headlines", ["source", "external_id"], unique=True)
    op.create_table(
        "headline_symbols",
        sa.Column(
            "headline_id",
            sa.Integer,
            sa.ForeignKey("headlines.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("symbol", sa.String(15), primary_key=True),
    )
    op.create_index("ix_headline_symbols_symbol", "headline_symbols", ["symbol"])
    op.create_table(
        "universe_stocks",
        sa.Column("universe", sa.String(32), primary_key=True),
        sa.Column("symbol", sa.String(15), primary_key=True),
        sa.Column("company", sa.Text),
        sa.Column("sector", sa.String(64)),
    )


def downgrade() -> None:
    op.drop_table("universe_stocks")
    op.drop_index("ix_headline_symbols_symbol", table_name="headline_symbols")
    op.drop_table("headline_symbols")
    op.drop_index("uq_headline_external", table_name="headlines")
    op.drop_index("ix_headlines_published_at", table_name="headlines")
    with op.batch_alter_table("headlines") as batch:
        batch.drop_column("external_id")
        batch.drop_column("published_at")
