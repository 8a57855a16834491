"""trained model versions with their metrics

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(15), nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("artifact_path", sa.Text, nullable=False),
        sa.Column("embedding_version", sa.String(64)),
        sa.Column("train_start", sa.Date),
        sa.Column("train_end", sa.Date),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("name", "symbol", "target", "version", name="uq_model_version"),
    )


def downgrade() -> None:
    op.drop_table("model_versions")
