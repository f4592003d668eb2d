"""trust: a second factor for citizens (contact, challenges), a rate-limit ledger

Revision ID: 0010
Revises: 0030
Create Date: 2026-12-07 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0030"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("citizens") as batch:
        batch.add_column(sa.Column("contact_kind", sa.String(10), nullable=True))
        batch.add_column(sa.Column("contact", sa.String(200), nullable=True))
    op.create_table(
        "identity_challenges",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("public_id", sa.String(32), nullable=False, unique=True),
        sa.Column("session_id", BigId, sa.ForeignKey("visitor_sessions.id"), nullable=False),
        sa.Column("nik_key", sa.String(64), nullable=False),
        sa.Column("citizen_id", BigId, sa.ForeignKey("citizens.id"), nullable=True),
        sa.Column("purpose", sa.String(10), nullable=False),
        sa.Column("nik", sa.String(16), nullable=True),
        sa.Column("name", sa.String(120), nullable=True),
        sa.Column("contact_kind", sa.String(10), nullable=True),
        sa.Column("contact", sa.String(200), nullable=True),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_identity_challenges_session_id", "identity_challenges", ["session_id"])
    op.create_index("ix_identity_challenges_nik_key", "identity_challenges", ["nik_key"])
    op.create_table(
        "auth_attempts",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_auth_attempts_scope_key_created", "auth_attempts", ["scope", "key", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_auth_attempts_scope_key_created", table_name="auth_attempts")
    op.drop_table("auth_attempts")
    op.drop_index("ix_identity_challenges_nik_key", table_name="identity_challenges")
    op.drop_index("ix_identity_challenges_session_id", table_name="identity_challenges")
    op.drop_table("identity_challenges")
    with op.batch_alter_table("citizens") as batch:
        batch.drop_column("contact")
        batch.drop_column("contact_kind")
