"""docs: issued signed documents, Lahir Procot birth registrations, faskes officers' facility

Revision ID: 0020
Revises: 0003
Create Date: 2026-12-07 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0003"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("officers", sa.Column("facility", sa.String(length=120), nullable=True))
    op.create_table(
        "issued_documents",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("application_id", BIGID, nullable=False),
        sa.Column("code", sa.String(length=43), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("service_id", sa.String(length=40), nullable=False),
        sa.Column("agency_id", sa.String(length=40), nullable=False),
        sa.Column("citizen_id", BIGID, nullable=False),
        sa.Column("holder_masked", sa.String(length=120), nullable=False),
        sa.Column("issuer", sa.String(length=200), nullable=False),
        sa.Column("signer", sa.String(length=200), nullable=False),
        sa.Column("development", sa.Boolean(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.Text(), nullable=True),
        sa.Column("revoked_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"]),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizens.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("application_id"),
        sa.UniqueConstraint("code"),
        sa.UniqueConstraint("number"),
    )
    op.create_index("ix_issued_documents_citizen_id", "issued_documents", ["citizen_id"])
    op.create_index("ix_issued_documents_sha256", "issued_documents", ["sha256"])
    op.create_table(
        "birth_registrations",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("application_id", BIGID, nullable=False),
        sa.Column("facility", sa.String(length=120), nullable=False),
        sa.Column("officer_id", BIGID, nullable=False),
        sa.Column("mother_citizen_id", BIGID, nullable=False),
        sa.Column("father_citizen_id", BIGID, nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"]),
        sa.ForeignKeyConstraint(["officer_id"], ["officers.id"]),
        sa.ForeignKeyConstraint(["mother_citizen_id"], ["citizens.id"]),
        sa.ForeignKeyConstraint(["father_citizen_id"], ["citizens.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("application_id"),
    )
    op.create_index("ix_birth_registrations_facility", "birth_registrations", ["facility"])
    op.create_index("ix_birth_registrations_mother_citizen_id", "birth_registrations", ["mother_citizen_id"])
    op.create_index("ix_birth_registrations_father_citizen_id", "birth_registrations", ["father_citizen_id"])


def downgrade() -> None:
    op.drop_table("birth_registrations")
    op.drop_table("issued_documents")
    with op.batch_alter_table("officers") as batch:
        batch.drop_column("facility")
