"""Machine clients, used client-assertion ids, people's accounts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

import hub.models

revision = '0002'
down_revision = '0001'
branch_labels = ('auth',)
depends_on = None


def upgrade() -> None:
    op.create_table('auth_client',
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('organization_id', sa.String(length=64), nullable=True),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('scopes', sa.Text(), nullable=False),
    sa.Column('jwks', sa.Text(), nullable=True),
    sa.Column('jwks_url', sa.String(length=2000), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_auth_client'))
    )
    op.create_table('auth_jti',
    sa.Column('iss', sa.String(length=64), nullable=False),
    sa.Column('jti', sa.String(length=200), nullable=False),
    sa.Column('expires_at', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('iss', 'jti', name=op.f('pk_auth_jti'))
    )
    op.create_index(op.f('ix_auth_jti_expires_at'), 'auth_jti', ['expires_at'], unique=False)
    op.create_table('auth_user',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('organization_id', sa.String(length=64), nullable=True),
    sa.Column('practitioner_role_id', sa.String(length=64), nullable=True),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_user')),
    sa.UniqueConstraint('username', name=op.f('uq_auth_user_username'))
    )


def downgrade() -> None:
    op.drop_table('auth_user')
    op.drop_index(op.f('ix_auth_jti_expires_at'), table_name='auth_jti')
    op.drop_table('auth_jti')
    op.drop_table('auth_client')
