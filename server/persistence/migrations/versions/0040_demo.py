"""demo: applications, visitor sessions and officers of a demo tour are tagged, kept out of real lists

Revision ID: 0040
Revises: 0010
Create Date: 2026-12-07 13:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("visitor_sessions") as batch:
        batch.add_column(sa.Column("demo", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("officers") as batch:
        batch.add_column(sa.Column("demo", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("demo", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index("ix_applications_demo", ["demo"])


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_index("ix_applications_demo")
        batch.drop_column("demo")
    with op.batch_alter_table("officers") as batch:
        batch.drop_column("demo")
    with op.batch_alter_table("visitor_sessions") as batch:
        batch.drop_column("demo")
