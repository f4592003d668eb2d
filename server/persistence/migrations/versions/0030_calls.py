"""calls: the officer desk: guided-mode flag on handoffs, complaints assigned to an officer

Revision ID: 0030
Revises: 0020
Create Date: 2026-12-07 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0020"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("guided", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(sa.Column("assigned_officer_id", BIGID, nullable=True))
        batch.create_foreign_key("fk_complaints_assigned_officer", "officers", ["assigned_officer_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        batch.drop_constraint("fk_complaints_assigned_officer", type_="foreignkey")
        batch.drop_column("assigned_officer_id")
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_column("guided")
