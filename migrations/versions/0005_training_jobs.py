"""training jobs: model versions queued, claimed under a lease, trained in the background

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "training_jobs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("symbol", sa.String(15), nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("cut", sa.Date, nullable=False),
        sa.Column("score_end", sa.Date),
        sa.Column("embedding_version", sa.String(64)),
        sa.Column("embedding_until", sa.Date),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("n_seeds", sa.Integer, nullable=False),
        sa.Column("train", sa.JSON, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("worker", sa.String(64)),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("seconds", sa.Float),
        sa.Column("error", sa.Text),
        sa.Column(
            "version_id", sa.Integer, sa.ForeignKey("model_versions.id", ondelete="SET NULL")
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint(
            "symbol", "target", "name", "cut", "embedding_version", name="uq_training_job"
        ),
    )
    op.create_index("ix_training_jobs_status", "training_jobs", ["status"])


def downgrade() -> None:
    op.drop_index("ix_training_jobs_status", table_name="training_jobs")
    op.drop_table("training_jobs")
