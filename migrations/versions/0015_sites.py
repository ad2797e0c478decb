"""Sites and who belongs to them (decision 101). The installation as it stands becomes one
site: the facility the configuration names (FACILITY_CODE, FACILITY_NAME, FACILITY_ADDRESS,
TIMEZONE at the time of the migration), a processing laboratory, with every existing account
a member of it. Nothing else changes.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 00:00:00

"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

SETTINGS = ("FACILITY_CODE", "FACILITY_NAME", "FACILITY_ADDRESS", "TIMEZONE")


def _facility() -> dict[str, str]:
    """The running app's configuration (Flask-Migrate migrates inside its app context), or,
    under plain alembic, the defaults ``config.py`` reads from the environment."""
    try:
        from flask import current_app

        config = current_app.config
        return {name: config[name] for name in SETTINGS}
    except (RuntimeError, KeyError):
        from config import Config

        return {name: getattr(Config, name) for name in SETTINGS}


def upgrade():
    sites = op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "user_sites",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("user_id", "site_id"),
    )
    op.create_index("ix_user_sites_site_id", "user_sites", ["site_id"])

    facility = _facility()
    now = datetime.now(UTC).replace(tzinfo=None)  # stored as naive UTC, as the models do
    op.bulk_insert(
        sites,
        [
            {
                "code": facility["FACILITY_CODE"].strip().upper(),
                "name": facility["FACILITY_NAME"][:120],
                "address": facility["FACILITY_ADDRESS"],
                "timezone": facility["TIMEZONE"],
                "kind": "processing_lab",
                "active": True,
                "created_by_id": None,
                "created_at": now,
            }
        ],
    )
    op.execute(
        sa.text(
            "INSERT INTO user_sites (user_id, site_id, created_at) "
            "SELECT users.id, sites.id, :now FROM users CROSS JOIN sites"
        ).bindparams(now=now)
    )


def downgrade():
    op.drop_index("ix_user_sites_site_id", table_name="user_sites")
    op.drop_table("user_sites")
    op.drop_table("sites")
