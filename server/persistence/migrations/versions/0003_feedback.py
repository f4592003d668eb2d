"""feedback: one survey per application/handoff per session; complaint lookup indexes

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23 00:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("uq_survey_session_application", "survey_responses", ["session_id", "application_id"], unique=True)
    op.create_index("uq_survey_session_handoff", "survey_responses", ["session_id", "handoff_id"], unique=True)
    op.create_index("ix_complaints_session_id", "complaints", ["session_id"])
    op.create_index("ix_complaints_citizen_id", "complaints", ["citizen_id"])
    op.create_index("ix_complaints_agency_id", "complaints", ["agency_id"])


def downgrade() -> None:
    op.drop_index("ix_complaints_agency_id", table_name="complaints")
    op.drop_index("ix_complaints_citizen_id", table_name="complaints")
    op.drop_index("ix_complaints_session_id", table_name="complaints")
    op.drop_index("uq_survey_session_handoff", table_name="survey_responses")
    op.drop_index("uq_survey_session_application", table_name="survey_responses")
