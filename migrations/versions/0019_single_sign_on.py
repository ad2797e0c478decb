"""Single sign-on with OpenID Connect: the link between an account and the provider's subject, and what signing needs (decisions 105-106).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 05:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

COLUMNS = (
    ("oidc_issuer", sa.String(255)),
    ("oidc_subject", sa.String(255)),
    ("oidc_linked_at", sa.DateTime()),
    ("signing_password_hash", sa.String(256)),
    ("signing_password_set_at", sa.DateTime()),
)


def upgrade():
    for name, kind in COLUMNS:
        op.add_column("users", sa.Column(name, kind, nullable=True))
    op.create_index("uq_users_oidc_identity", "users", ["oidc_issuer", "oidc_subject"], unique=True)


def downgrade():
    op.drop_index("uq_users_oidc_identity", table_name="users")
    with op.batch_alter_table("users") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
