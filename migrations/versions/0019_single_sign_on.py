"""Single sign-on with OpenID Connect: the link between an account and the provider's subject, and what signing needs (decisions 105-106).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 05:30:00

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
