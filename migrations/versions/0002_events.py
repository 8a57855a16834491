"""events and their linked entities

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("headlines") as batch:
        batch.add_column(sa.Column("extracted_version", sa.String(32)))
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "headline_id",
            sa.Integer,
            sa.ForeignKey("headlines.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("subject_head", sa.String(128), nullable=False),
        sa.Column("subject_start", sa.Integer, nullable=False),
        sa.Column("subject_end", sa.Integer, nullable=False),
        sa.Column("predicate", sa.String(128), nullable=False),
        sa.Column("predicate_text", sa.Text, nullable=False),
        sa.Column("predicate_start", sa.Integer, nullable=False),
        sa.Column("predicate_end", sa.Integer, nullable=False),
        sa.Column("object", sa.Text),
        sa.Column("object_head", sa.String(128)),
        sa.Column("object_start", sa.Integer),
        sa.Column("object_end", sa.Integer),
        sa.Column("negated", sa.Boolean, nullable=False),
        sa.UniqueConstraint("headline_id", "position", name="uq_event"),
    )
    op.create_index("ix_events_headline_id", "events", ["headline_id"])
    op.create_table(
        "event_entities",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "event_id", sa.Integer, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("mention", sa.Text, nullable=False),
        sa.Column("start", sa.Integer, nullable=False),
        sa.Column("end", sa.Integer, nullable=False),
        sa.Column("entity_id", sa.String(32), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
    )
    op.create_index("ix_event_entities_event_id", "event_entities", ["event_id"])
    op.create_index("ix_event_entities_entity_id", "event_entities", ["entity_id"])


def downgrade() -> None:
    op.drop_table("event_entities")
    op.drop_table("events")
    with op.batch_alter_table("headlines") as batch:
        batch.drop_column("extracted_version")
