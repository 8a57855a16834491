"""when each headline was processed (the ingestion rate)

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("headlines", sa.Column("extracted_at", sa.DateTime(timezone=True)))
    op.create_index("ix_headlines_extracted_at", "headlines", ["extracted_at"])


def downgrade() -> None:
    op.drop_index("ix_headlines_extracted_at", table_name="headlines")
    op.drop_column("headlines", "extracted_at")
