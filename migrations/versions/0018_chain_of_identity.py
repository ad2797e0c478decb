"""A therapy course and its chain-of-identity identifier (ISBT 128 ST-028; decision 104).

Every unit gets the identifier of its patient's course. An installation that had units before
gets one course per patient, numbered in the order of the patient's first collection, at the
facility and in the year of that collection; the course sequences continue from there.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 05:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "therapy_courses",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(15), nullable=False, unique=True),
        sa.Column("patient_id", sa.Integer(), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id")),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("started_by_id", sa.Integer(), sa.ForeignKey("users.id")),
    )
    op.create_index("ix_therapy_courses_patient_id", "therapy_courses", ["patient_id"])
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":  # in place, with its REFERENCES clause (as 0017)
        op.execute(
            "ALTER TABLE units ADD COLUMN chain_of_identity VARCHAR(15) "
            "REFERENCES therapy_courses (code)"
        )
    else:
        op.add_column(
            "units",
            sa.Column(
                "chain_of_identity", sa.String(15), sa.ForeignKey("therapy_courses.code")
            ),
        )
    _one_course_per_patient(bind)
    op.create_index("ix_units_chain_of_identity", "units", ["chain_of_identity"])


def _one_course_per_patient(bind) -> None:
    firsts = bind.execute(
        sa.text(
            "SELECT u.patient_id, u.collected_at, s.id, s.code FROM units u "
            "JOIN sites s ON s.id = u.site_id "
            "WHERE u.parent_id IS NULL AND NOT EXISTS (SELECT 1 FROM units e "
            "  WHERE e.patient_id = u.patient_id AND e.parent_id IS NULL "
            "  AND (e.collected_at < u.collected_at "
            "       OR (e.collected_at = u.collected_at AND e.id < u.id))) "
            "ORDER BY u.collected_at, u.id"
        )
    ).all()
    taken: dict[tuple[str, int], int] = {}
    for patient_id, collected_at, site_id, facility in firsts:
        year = int(str(collected_at)[:4])
        number = taken[(facility, year)] = taken.get((facility, year), 0) + 1
        code = f"CH{facility}{year % 100:02d}{number:06d}"
        bind.execute(
            sa.text(
                "INSERT INTO therapy_courses (code, patient_id, site_id, started_at) "
                "VALUES (:code, :patient, :site, :at)"
            ),
            {"code": code, "patient": patient_id, "site": site_id, "at": collected_at},
        )
        bind.execute(
            sa.text("UPDATE units SET chain_of_identity = :code WHERE patient_id = :patient"),
            {"code": code, "patient": patient_id},
        )
    bind.execute(sa.text(COURSE_SEQUENCES))  # none but left by an earlier downgrade
    for (facility, year), last in taken.items():
        bind.execute(
            sa.text(
                "INSERT INTO identifier_sequences (scope, year, last_value) "
                "VALUES (:scope, :year, :last)"
            ),
            {"scope": f"CH{facility}", "year": year, "last": last},
        )


# The courses' sequences: scope ``CH`` + facility, 7 characters (a DIN's scope is the 5-character
# facility number, a wristband's ``P`` + facility).
COURSE_SEQUENCES = "DELETE FROM identifier_sequences WHERE scope LIKE 'CH_____'"


def downgrade():
    op.execute(COURSE_SEQUENCES)
    op.drop_index("ix_units_chain_of_identity", table_name="units")
    with op.batch_alter_table("units") as batch:
        batch.drop_column("chain_of_identity")
    op.drop_index("ix_therapy_courses_patient_id", table_name="therapy_courses")
    op.drop_table("therapy_courses")
