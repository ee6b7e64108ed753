"""FHIR store: per-type current tables, shared index tables, history, pid sequence.

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 19:34:58.690617
"""
import sqlalchemy as sa
from alembic import op

import hub.models


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.schema.CreateSequence(sa.Sequence("pid_seq", cache=100)))
    op.create_table('idx_date',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hash_identity', sa.BigInteger(), nullable=False),
    sa.Column('low', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('high', hub.models.UTCDateTime(timezone=True), nullable=False)
    )
    with op.batch_alter_table('idx_date', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idx_date_hash_identity_high_pid'), ['hash_identity', 'high', 'pid'], unique=False)
        batch_op.create_index(batch_op.f('ix_idx_date_hash_identity_low_high_pid'), ['hash_identity', 'low', 'high', 'pid'], unique=False)
        batch_op.create_index(batch_op.f('ix_idx_date_pid'), ['pid'], unique=False)

    op.create_table('idx_ref',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hash_identity', sa.BigInteger(), nullable=False),
    sa.Column('target_type', sa.String(length=64), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=False)
    )
    with op.batch_alter_table('idx_ref', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idx_ref_hash_identity_target_id_pid'), ['hash_identity', 'target_id', 'pid'], unique=False)
        batch_op.create_index(batch_op.f('ix_idx_ref_pid'), ['pid'], unique=False)

    op.create_table('idx_string',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hash_identity', sa.BigInteger(), nullable=False),
    sa.Column('value_norm', sa.String(length=512), nullable=False),
    sa.Column('value_exact', sa.String(length=512), nullable=False)
    )
    with op.batch_alter_table('idx_string', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idx_string_hash_identity_value_norm_pid'), ['hash_identity', 'value_norm', 'pid'], unique=False)
        batch_op.create_index(batch_op.f('ix_idx_string_pid'), ['pid'], unique=False)

    op.create_table('idx_token',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hash_sys_value', sa.BigInteger(), nullable=False),
    sa.Column('hash_value', sa.BigInteger(), nullable=False),
    sa.Column('sort_date', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('pid', 'hash_sys_value', name=op.f('pk_idx_token'))
    )
    with op.batch_alter_table('idx_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idx_token_hash_sys_value_sort_date_pid'), ['hash_sys_value', 'sort_date', 'pid'], unique=False)
        batch_op.create_index(batch_op.f('ix_idx_token_hash_value_sort_date_pid'), ['hash_value', 'sort_date', 'pid'], unique=False)

    op.create_table('pid_counter',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('value', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pid_counter'))
    )
    op.create_table('res_allergyintolerance',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_allergyintolerance')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_allergyintolerance_fhir_id'))
    )
    with op.batch_alter_table('res_allergyintolerance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_allergyintolerance_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_allergyintolerance_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_allergyintolerance_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_allergyintolerance_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_appointment',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_appointment')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_appointment_fhir_id'))
    )
    with op.batch_alter_table('res_appointment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_appointment_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_appointment_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_appointment_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_appointment_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_auditevent',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_auditevent')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_auditevent_fhir_id'))
    )
    with op.batch_alter_table('res_auditevent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_auditevent_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_auditevent_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_auditevent_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_auditevent_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_binary',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_binary')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_binary_fhir_id'))
    )
    with op.batch_alter_table('res_binary', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_binary_last_updated'), ['last_updated'], unique=False)

    op.create_table('res_careplan',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_careplan')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_careplan_fhir_id'))
    )
    with op.batch_alter_table('res_careplan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_careplan_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_careplan_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_careplan_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_careplan_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_careteam',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_careteam')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_careteam_fhir_id'))
    )
    with op.batch_alter_table('res_careteam', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_careteam_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_careteam_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_careteam_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_careteam_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_claim',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_claim')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_claim_fhir_id'))
    )
    with op.batch_alter_table('res_claim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_claim_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_claim_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_claim_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_claim_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_codesystem',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_codesystem')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_codesystem_fhir_id'))
    )
    with op.batch_alter_table('res_codesystem', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_codesystem_last_updated'), ['last_updated'], unique=False)

    op.create_table('res_communication',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_communication')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_communication_fhir_id'))
    )
    with op.batch_alter_table('res_communication', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_communication_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_communication_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_communication_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_communication_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_communicationrequest',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_communicationrequest')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_communicationrequest_fhir_id'))
    )
    with op.batch_alter_table('res_communicationrequest', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_communicationrequest_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_communicationrequest_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_communicationrequest_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_communicationrequest_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_composition',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_composition')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_composition_fhir_id'))
    )
    with op.batch_alter_table('res_composition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_composition_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_composition_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_composition_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_composition_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_conceptmap',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_conceptmap')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_conceptmap_fhir_id'))
    )
    with op.batch_alter_table('res_conceptmap', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_conceptmap_last_updated'), ['last_updated'], unique=False)

    op.create_table('res_condition',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_condition')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_condition_fhir_id'))
    )
    with op.batch_alter_table('res_condition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_condition_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_condition_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_condition_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_condition_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_consent',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_consent')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_consent_fhir_id'))
    )
    with op.batch_alter_table('res_consent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_consent_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_consent_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_consent_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_consent_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_coverage',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_coverage')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_coverage_fhir_id'))
    )
    with op.batch_alter_table('res_coverage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_coverage_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_coverage_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_device',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_device')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_device_fhir_id'))
    )
    with op.batch_alter_table('res_device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_device_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_device_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_diagnosticreport',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_diagnosticreport')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_diagnosticreport_fhir_id'))
    )
    with op.batch_alter_table('res_diagnosticreport', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_diagnosticreport_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_diagnosticreport_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_diagnosticreport_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_diagnosticreport_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_documentreference',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_documentreference')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_documentreference_fhir_id'))
    )
    with op.batch_alter_table('res_documentreference', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_documentreference_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_documentreference_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_documentreference_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_documentreference_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_encounter',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_encounter')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_encounter_fhir_id'))
    )
    with op.batch_alter_table('res_encounter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_encounter_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_encounter_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_encounter_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_encounter_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_endpoint',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_endpoint')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_endpoint_fhir_id'))
    )
    with op.batch_alter_table('res_endpoint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_endpoint_last_updated'), ['last_updated'], unique=False)

    op.create_table('res_episodeofcare',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_episodeofcare')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_episodeofcare_fhir_id'))
    )
    with op.batch_alter_table('res_episodeofcare', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_episodeofcare_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_episodeofcare_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_episodeofcare_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_episodeofcare_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_explanationofbenefit',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_explanationofbenefit')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_explanationofbenefit_fhir_id'))
    )
    with op.batch_alter_table('res_explanationofbenefit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_explanationofbenefit_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_explanationofbenefit_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_explanationofbenefit_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_explanationofbenefit_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_goal',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_goal')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_goal_fhir_id'))
    )
    with op.batch_alter_table('res_goal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_goal_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_goal_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_goal_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_goal_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_healthcareservice',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_healthcareservice')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_healthcareservice_fhir_id'))
    )
    with op.batch_alter_table('res_healthcareservice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_healthcareservice_last_updated'), ['last_updated'], unique=False)

    op.create_table('res_imagingstudy',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_imagingstudy')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_imagingstudy_fhir_id'))
    )
    with op.batch_alter_table('res_imagingstudy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_imagingstudy_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_imagingstudy_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_imagingstudy_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_imagingstudy_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_immunization',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_immunization')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_immunization_fhir_id'))
    )
    with op.batch_alter_table('res_immunization', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_immunization_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_immunization_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_immunization_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_immunization_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_location',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_location')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_location_fhir_id'))
    )
    with op.batch_alter_table('res_location', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_location_last_updated'), ['last_updated'], unique=False)

    op.create_table('res_media',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_media')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_media_fhir_id'))
    )
    with op.batch_alter_table('res_media', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_media_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_media_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_media_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_media_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_medication',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_medication')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_medication_fhir_id'))
    )
    with op.batch_alter_table('res_medication', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_medication_last_updated'), ['last_updated'], unique=False)

    op.create_table('res_medicationrequest',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_medicationrequest')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_medicationrequest_fhir_id'))
    )
    with op.batch_alter_table('res_medicationrequest', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_medicationrequest_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_medicationrequest_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_medicationrequest_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_medicationrequest_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_observation',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_observation')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_observation_fhir_id'))
    )
    with op.batch_alter_table('res_observation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_observation_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_observation_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_observation_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_observation_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_organization',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_organization')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_organization_fhir_id'))
    )
    with op.batch_alter_table('res_organization', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_organization_last_updated'), ['last_updated'], unique=False)

    op.create_table('res_organizationaffiliation',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_organizationaffiliation')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_organizationaffiliation_fhir_id'))
    )
    with op.batch_alter_table('res_organizationaffiliation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_organizationaffiliation_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_organizationaffiliation_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_organizationaffiliation_last_updated'), ['last_updated'], unique=False)

    op.create_table('res_patient',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_patient')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_patient_fhir_id'))
    )
    with op.batch_alter_table('res_patient', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_patient_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_patient_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_patient_last_updated'), ['last_updated'], unique=False)

    op.create_table('res_practitioner',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_practitioner')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_practitioner_fhir_id'))
    )
    with op.batch_alter_table('res_practitioner', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_practitioner_last_updated'), ['last_updated'], unique=False)

    op.create_table('res_practitionerrole',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_practitionerrole')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_practitionerrole_fhir_id'))
    )
    with op.batch_alter_table('res_practitionerrole', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_practitionerrole_last_updated'), ['last_updated'], unique=False)

    op.create_table('res_procedure',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_procedure')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_procedure_fhir_id'))
    )
    with op.batch_alter_table('res_procedure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_procedure_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_procedure_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_procedure_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_procedure_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_provenance',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_provenance')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_provenance_fhir_id'))
    )
    with op.batch_alter_table('res_provenance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_provenance_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_provenance_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_provenance_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_provenance_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_questionnaire',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_questionnaire')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_questionnaire_fhir_id'))
    )
    with op.batch_alter_table('res_questionnaire', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_questionnaire_last_updated'), ['last_updated'], unique=False)

    op.create_table('res_questionnaireresponse',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_questionnaireresponse')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_questionnaireresponse_fhir_id'))
    )
    with op.batch_alter_table('res_questionnaireresponse', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_questionnaireresponse_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_questionnaireresponse_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_questionnaireresponse_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_questionnaireresponse_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_relatedperson',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_relatedperson')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_relatedperson_fhir_id'))
    )
    with op.batch_alter_table('res_relatedperson', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_relatedperson_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_relatedperson_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_schedule',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_schedule')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_schedule_fhir_id'))
    )
    with op.batch_alter_table('res_schedule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_schedule_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_schedule_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_schedule_last_updated'), ['last_updated'], unique=False)

    op.create_table('res_servicerequest',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_servicerequest')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_servicerequest_fhir_id'))
    )
    with op.batch_alter_table('res_servicerequest', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_servicerequest_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_servicerequest_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_servicerequest_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_servicerequest_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_slot',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_slot')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_slot_fhir_id'))
    )
    with op.batch_alter_table('res_slot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_slot_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_slot_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_slot_last_updated'), ['last_updated'], unique=False)

    op.create_table('res_specimen',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_specimen')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_specimen_fhir_id'))
    )
    with op.batch_alter_table('res_specimen', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_specimen_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_specimen_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_specimen_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_specimen_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_structuredefinition',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_structuredefinition')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_structuredefinition_fhir_id'))
    )
    with op.batch_alter_table('res_structuredefinition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_structuredefinition_last_updated'), ['last_updated'], unique=False)

    op.create_table('res_subscription',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_subscription')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_subscription_fhir_id'))
    )
    with op.batch_alter_table('res_subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_subscription_last_updated'), ['last_updated'], unique=False)

    op.create_table('res_subscriptiontopic',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_subscriptiontopic')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_subscriptiontopic_fhir_id'))
    )
    with op.batch_alter_table('res_subscriptiontopic', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_subscriptiontopic_last_updated'), ['last_updated'], unique=False)

    op.create_table('res_task',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_task')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_task_fhir_id'))
    )
    with op.batch_alter_table('res_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_task_date_high'), ['date_high'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_task_date_low'), ['date_low'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_task_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_res_task_patient_date_low'), ['patient', 'date_low'], unique=False)

    op.create_table('res_valueset',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=True),
    sa.Column('patient', sa.String(length=64), nullable=True),
    sa.Column('date_low', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('date_high', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('pid', name=op.f('pk_res_valueset')),
    sa.UniqueConstraint('fhir_id', name=op.f('uq_res_valueset_fhir_id'))
    )
    with op.batch_alter_table('res_valueset', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_res_valueset_last_updated'), ['last_updated'], unique=False)

    op.create_table('resource_history',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('last_updated', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('body', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('pid', 'version', name=op.f('pk_resource_history'))
    )
    with op.batch_alter_table('resource_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resource_history_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_resource_history_res_type_last_updated'), ['res_type', 'last_updated'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('resource_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resource_history_res_type_last_updated'))
        batch_op.drop_index(batch_op.f('ix_resource_history_last_updated'))

    op.drop_table('resource_history')
    with op.batch_alter_table('res_valueset', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_valueset_last_updated'))

    op.drop_table('res_valueset')
    with op.batch_alter_table('res_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_task_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_task_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_task_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_task_date_high'))

    op.drop_table('res_task')
    with op.batch_alter_table('res_subscriptiontopic', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_subscriptiontopic_last_updated'))

    op.drop_table('res_subscriptiontopic')
    with op.batch_alter_table('res_subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_subscription_last_updated'))

    op.drop_table('res_subscription')
    with op.batch_alter_table('res_structuredefinition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_structuredefinition_last_updated'))

    op.drop_table('res_structuredefinition')
    with op.batch_alter_table('res_specimen', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_specimen_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_specimen_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_specimen_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_specimen_date_high'))

    op.drop_table('res_specimen')
    with op.batch_alter_table('res_slot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_slot_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_slot_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_slot_date_high'))

    op.drop_table('res_slot')
    with op.batch_alter_table('res_servicerequest', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_servicerequest_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_servicerequest_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_servicerequest_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_servicerequest_date_high'))

    op.drop_table('res_servicerequest')
    with op.batch_alter_table('res_schedule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_schedule_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_schedule_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_schedule_date_high'))

    op.drop_table('res_schedule')
    with op.batch_alter_table('res_relatedperson', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_relatedperson_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_relatedperson_last_updated'))

    op.drop_table('res_relatedperson')
    with op.batch_alter_table('res_questionnaireresponse', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_questionnaireresponse_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_questionnaireresponse_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_questionnaireresponse_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_questionnaireresponse_date_high'))

    op.drop_table('res_questionnaireresponse')
    with op.batch_alter_table('res_questionnaire', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_questionnaire_last_updated'))

    op.drop_table('res_questionnaire')
    with op.batch_alter_table('res_provenance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_provenance_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_provenance_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_provenance_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_provenance_date_high'))

    op.drop_table('res_provenance')
    with op.batch_alter_table('res_procedure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_procedure_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_procedure_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_procedure_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_procedure_date_high'))

    op.drop_table('res_procedure')
    with op.batch_alter_table('res_practitionerrole', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_practitionerrole_last_updated'))

    op.drop_table('res_practitionerrole')
    with op.batch_alter_table('res_practitioner', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_practitioner_last_updated'))

    op.drop_table('res_practitioner')
    with op.batch_alter_table('res_patient', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_patient_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_patient_date_high'))

    op.drop_table('res_patient')
    with op.batch_alter_table('res_organizationaffiliation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_organizationaffiliation_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_organizationaffiliation_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_organizationaffiliation_date_high'))

    op.drop_table('res_organizationaffiliation')
    with op.batch_alter_table('res_organization', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_organization_last_updated'))

    op.drop_table('res_organization')
    with op.batch_alter_table('res_observation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_observation_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_observation_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_observation_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_observation_date_high'))

    op.drop_table('res_observation')
    with op.batch_alter_table('res_medicationrequest', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_medicationrequest_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_medicationrequest_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_medicationrequest_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_medicationrequest_date_high'))

    op.drop_table('res_medicationrequest')
    with op.batch_alter_table('res_medication', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_medication_last_updated'))

    op.drop_table('res_medication')
    with op.batch_alter_table('res_media', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_media_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_media_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_media_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_media_date_high'))

    op.drop_table('res_media')
    with op.batch_alter_table('res_location', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_location_last_updated'))

    op.drop_table('res_location')
    with op.batch_alter_table('res_immunization', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_immunization_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_immunization_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_immunization_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_immunization_date_high'))

    op.drop_table('res_immunization')
    with op.batch_alter_table('res_imagingstudy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_imagingstudy_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_imagingstudy_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_imagingstudy_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_imagingstudy_date_high'))

    op.drop_table('res_imagingstudy')
    with op.batch_alter_table('res_healthcareservice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_healthcareservice_last_updated'))

    op.drop_table('res_healthcareservice')
    with op.batch_alter_table('res_goal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_goal_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_goal_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_goal_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_goal_date_high'))

    op.drop_table('res_goal')
    with op.batch_alter_table('res_explanationofbenefit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_explanationofbenefit_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_explanationofbenefit_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_explanationofbenefit_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_explanationofbenefit_date_high'))

    op.drop_table('res_explanationofbenefit')
    with op.batch_alter_table('res_episodeofcare', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_episodeofcare_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_episodeofcare_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_episodeofcare_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_episodeofcare_date_high'))

    op.drop_table('res_episodeofcare')
    with op.batch_alter_table('res_endpoint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_endpoint_last_updated'))

    op.drop_table('res_endpoint')
    with op.batch_alter_table('res_encounter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_encounter_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_encounter_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_encounter_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_encounter_date_high'))

    op.drop_table('res_encounter')
    with op.batch_alter_table('res_documentreference', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_documentreference_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_documentreference_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_documentreference_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_documentreference_date_high'))

    op.drop_table('res_documentreference')
    with op.batch_alter_table('res_diagnosticreport', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_diagnosticreport_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_diagnosticreport_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_diagnosticreport_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_diagnosticreport_date_high'))

    op.drop_table('res_diagnosticreport')
    with op.batch_alter_table('res_device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_device_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_device_last_updated'))

    op.drop_table('res_device')
    with op.batch_alter_table('res_coverage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_coverage_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_coverage_last_updated'))

    op.drop_table('res_coverage')
    with op.batch_alter_table('res_consent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_consent_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_consent_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_consent_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_consent_date_high'))

    op.drop_table('res_consent')
    with op.batch_alter_table('res_condition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_condition_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_condition_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_condition_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_condition_date_high'))

    op.drop_table('res_condition')
    with op.batch_alter_table('res_conceptmap', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_conceptmap_last_updated'))

    op.drop_table('res_conceptmap')
    with op.batch_alter_table('res_composition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_composition_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_composition_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_composition_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_composition_date_high'))

    op.drop_table('res_composition')
    with op.batch_alter_table('res_communicationrequest', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_communicationrequest_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_communicationrequest_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_communicationrequest_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_communicationrequest_date_high'))

    op.drop_table('res_communicationrequest')
    with op.batch_alter_table('res_communication', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_communication_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_communication_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_communication_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_communication_date_high'))

    op.drop_table('res_communication')
    with op.batch_alter_table('res_codesystem', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_codesystem_last_updated'))

    op.drop_table('res_codesystem')
    with op.batch_alter_table('res_claim', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_claim_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_claim_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_claim_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_claim_date_high'))

    op.drop_table('res_claim')
    with op.batch_alter_table('res_careteam', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_careteam_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_careteam_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_careteam_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_careteam_date_high'))

    op.drop_table('res_careteam')
    with op.batch_alter_table('res_careplan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_careplan_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_careplan_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_careplan_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_careplan_date_high'))

    op.drop_table('res_careplan')
    with op.batch_alter_table('res_binary', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_binary_last_updated'))

    op.drop_table('res_binary')
    with op.batch_alter_table('res_auditevent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_auditevent_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_auditevent_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_auditevent_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_auditevent_date_high'))

    op.drop_table('res_auditevent')
    with op.batch_alter_table('res_appointment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_appointment_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_appointment_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_appointment_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_appointment_date_high'))

    op.drop_table('res_appointment')
    with op.batch_alter_table('res_allergyintolerance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_res_allergyintolerance_patient_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_allergyintolerance_last_updated'))
        batch_op.drop_index(batch_op.f('ix_res_allergyintolerance_date_low'))
        batch_op.drop_index(batch_op.f('ix_res_allergyintolerance_date_high'))

    op.drop_table('res_allergyintolerance')
    op.drop_table('pid_counter')
    with op.batch_alter_table('idx_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idx_token_hash_value_sort_date_pid'))
        batch_op.drop_index(batch_op.f('ix_idx_token_hash_sys_value_sort_date_pid'))

    op.drop_table('idx_token')
    with op.batch_alter_table('idx_string', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idx_string_pid'))
        batch_op.drop_index(batch_op.f('ix_idx_string_hash_identity_value_norm_pid'))

    op.drop_table('idx_string')
    with op.batch_alter_table('idx_ref', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idx_ref_pid'))
        batch_op.drop_index(batch_op.f('ix_idx_ref_hash_identity_target_id_pid'))

    op.drop_table('idx_ref')
    with op.batch_alter_table('idx_date', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idx_date_pid'))
        batch_op.drop_index(batch_op.f('ix_idx_date_hash_identity_low_high_pid'))
        batch_op.drop_index(batch_op.f('ix_idx_date_hash_identity_high_pid'))

    op.drop_table('idx_date')
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.schema.DropSequence(sa.Sequence("pid_seq")))
