"""FHIR store: per-type current tables, shared index tables, history, pid sequence.

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 19:32:20.914392
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
    op.create_index(op.f('ix_idx_date_hash_identity_high_pid'), 'idx_date', ['hash_identity', 'high', 'pid'], unique=False)
    op.create_index(op.f('ix_idx_date_hash_identity_low_high_pid'), 'idx_date', ['hash_identity', 'low', 'high', 'pid'], unique=False)
    op.create_index(op.f('ix_idx_date_pid'), 'idx_date', ['pid'], unique=False)
    op.create_table('idx_ref',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hash_identity', sa.BigInteger(), nullable=False),
    sa.Column('target_type', sa.String(length=64), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=False)
    )
    op.create_index(op.f('ix_idx_ref_hash_identity_target_id_pid'), 'idx_ref', ['hash_identity', 'target_id', 'pid'], unique=False)
    op.create_index(op.f('ix_idx_ref_pid'), 'idx_ref', ['pid'], unique=False)
    op.create_table('idx_string',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hash_identity', sa.BigInteger(), nullable=False),
    sa.Column('value_norm', sa.String(length=512), nullable=False),
    sa.Column('value_exact', sa.String(length=512), nullable=False)
    )
    op.create_index(op.f('ix_idx_string_hash_identity_value_norm_pid'), 'idx_string', ['hash_identity', 'value_norm', 'pid'], unique=False)
    op.create_index(op.f('ix_idx_string_pid'), 'idx_string', ['pid'], unique=False)
    op.create_table('idx_token',
    sa.Column('pid', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hash_sys_value', sa.BigInteger(), nullable=False),
    sa.Column('hash_value', sa.BigInteger(), nullable=False),
    sa.Column('sort_date', hub.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('pid', 'hash_sys_value', name=op.f('pk_idx_token'))
    )
    op.create_index(op.f('ix_idx_token_hash_sys_value_sort_date_pid'), 'idx_token', ['hash_sys_value', 'sort_date', 'pid'], unique=False)
    op.create_index(op.f('ix_idx_token_hash_value_sort_date_pid'), 'idx_token', ['hash_value', 'sort_date', 'pid'], unique=False)
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
    op.create_index(op.f('ix_res_allergyintolerance_date_high'), 'res_allergyintolerance', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_allergyintolerance_date_low'), 'res_allergyintolerance', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_allergyintolerance_last_updated'), 'res_allergyintolerance', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_allergyintolerance_patient_date_low'), 'res_allergyintolerance', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_appointment_date_high'), 'res_appointment', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_appointment_date_low'), 'res_appointment', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_appointment_last_updated'), 'res_appointment', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_appointment_patient_date_low'), 'res_appointment', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_auditevent_date_high'), 'res_auditevent', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_auditevent_date_low'), 'res_auditevent', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_auditevent_last_updated'), 'res_auditevent', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_auditevent_patient_date_low'), 'res_auditevent', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_binary_last_updated'), 'res_binary', ['last_updated'], unique=False)
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
    op.create_index(op.f('ix_res_careplan_date_high'), 'res_careplan', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_careplan_date_low'), 'res_careplan', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_careplan_last_updated'), 'res_careplan', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_careplan_patient_date_low'), 'res_careplan', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_careteam_date_high'), 'res_careteam', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_careteam_date_low'), 'res_careteam', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_careteam_last_updated'), 'res_careteam', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_careteam_patient_date_low'), 'res_careteam', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_claim_date_high'), 'res_claim', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_claim_date_low'), 'res_claim', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_claim_last_updated'), 'res_claim', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_claim_patient_date_low'), 'res_claim', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_codesystem_last_updated'), 'res_codesystem', ['last_updated'], unique=False)
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
    op.create_index(op.f('ix_res_communication_date_high'), 'res_communication', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_communication_date_low'), 'res_communication', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_communication_last_updated'), 'res_communication', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_communication_patient_date_low'), 'res_communication', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_communicationrequest_date_high'), 'res_communicationrequest', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_communicationrequest_date_low'), 'res_communicationrequest', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_communicationrequest_last_updated'), 'res_communicationrequest', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_communicationrequest_patient_date_low'), 'res_communicationrequest', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_composition_date_high'), 'res_composition', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_composition_date_low'), 'res_composition', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_composition_last_updated'), 'res_composition', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_composition_patient_date_low'), 'res_composition', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_conceptmap_last_updated'), 'res_conceptmap', ['last_updated'], unique=False)
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
    op.create_index(op.f('ix_res_condition_date_high'), 'res_condition', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_condition_date_low'), 'res_condition', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_condition_last_updated'), 'res_condition', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_condition_patient_date_low'), 'res_condition', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_consent_date_high'), 'res_consent', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_consent_date_low'), 'res_consent', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_consent_last_updated'), 'res_consent', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_consent_patient_date_low'), 'res_consent', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_coverage_last_updated'), 'res_coverage', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_coverage_patient_date_low'), 'res_coverage', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_device_last_updated'), 'res_device', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_device_patient_date_low'), 'res_device', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_diagnosticreport_date_high'), 'res_diagnosticreport', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_diagnosticreport_date_low'), 'res_diagnosticreport', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_diagnosticreport_last_updated'), 'res_diagnosticreport', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_diagnosticreport_patient_date_low'), 'res_diagnosticreport', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_documentreference_date_high'), 'res_documentreference', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_documentreference_date_low'), 'res_documentreference', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_documentreference_last_updated'), 'res_documentreference', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_documentreference_patient_date_low'), 'res_documentreference', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_encounter_date_high'), 'res_encounter', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_encounter_date_low'), 'res_encounter', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_encounter_last_updated'), 'res_encounter', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_encounter_patient_date_low'), 'res_encounter', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_endpoint_last_updated'), 'res_endpoint', ['last_updated'], unique=False)
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
    op.create_index(op.f('ix_res_episodeofcare_date_high'), 'res_episodeofcare', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_episodeofcare_date_low'), 'res_episodeofcare', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_episodeofcare_last_updated'), 'res_episodeofcare', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_episodeofcare_patient_date_low'), 'res_episodeofcare', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_explanationofbenefit_date_high'), 'res_explanationofbenefit', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_explanationofbenefit_date_low'), 'res_explanationofbenefit', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_explanationofbenefit_last_updated'), 'res_explanationofbenefit', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_explanationofbenefit_patient_date_low'), 'res_explanationofbenefit', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_goal_date_high'), 'res_goal', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_goal_date_low'), 'res_goal', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_goal_last_updated'), 'res_goal', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_goal_patient_date_low'), 'res_goal', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_healthcareservice_last_updated'), 'res_healthcareservice', ['last_updated'], unique=False)
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
    op.create_index(op.f('ix_res_imagingstudy_date_high'), 'res_imagingstudy', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_imagingstudy_date_low'), 'res_imagingstudy', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_imagingstudy_last_updated'), 'res_imagingstudy', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_imagingstudy_patient_date_low'), 'res_imagingstudy', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_immunization_date_high'), 'res_immunization', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_immunization_date_low'), 'res_immunization', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_immunization_last_updated'), 'res_immunization', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_immunization_patient_date_low'), 'res_immunization', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_location_last_updated'), 'res_location', ['last_updated'], unique=False)
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
    op.create_index(op.f('ix_res_media_date_high'), 'res_media', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_media_date_low'), 'res_media', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_media_last_updated'), 'res_media', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_media_patient_date_low'), 'res_media', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_medication_last_updated'), 'res_medication', ['last_updated'], unique=False)
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
    op.create_index(op.f('ix_res_medicationrequest_date_high'), 'res_medicationrequest', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_medicationrequest_date_low'), 'res_medicationrequest', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_medicationrequest_last_updated'), 'res_medicationrequest', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_medicationrequest_patient_date_low'), 'res_medicationrequest', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_observation_date_high'), 'res_observation', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_observation_date_low'), 'res_observation', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_observation_last_updated'), 'res_observation', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_observation_patient_date_low'), 'res_observation', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_organization_last_updated'), 'res_organization', ['last_updated'], unique=False)
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
    op.create_index(op.f('ix_res_patient_date_high'), 'res_patient', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_patient_date_low'), 'res_patient', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_patient_last_updated'), 'res_patient', ['last_updated'], unique=False)
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
    op.create_index(op.f('ix_res_practitioner_last_updated'), 'res_practitioner', ['last_updated'], unique=False)
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
    op.create_index(op.f('ix_res_practitionerrole_last_updated'), 'res_practitionerrole', ['last_updated'], unique=False)
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
    op.create_index(op.f('ix_res_procedure_date_high'), 'res_procedure', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_procedure_date_low'), 'res_procedure', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_procedure_last_updated'), 'res_procedure', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_procedure_patient_date_low'), 'res_procedure', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_provenance_date_high'), 'res_provenance', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_provenance_date_low'), 'res_provenance', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_provenance_last_updated'), 'res_provenance', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_provenance_patient_date_low'), 'res_provenance', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_questionnaire_last_updated'), 'res_questionnaire', ['last_updated'], unique=False)
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
    op.create_index(op.f('ix_res_questionnaireresponse_date_high'), 'res_questionnaireresponse', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_questionnaireresponse_date_low'), 'res_questionnaireresponse', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_questionnaireresponse_last_updated'), 'res_questionnaireresponse', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_questionnaireresponse_patient_date_low'), 'res_questionnaireresponse', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_relatedperson_last_updated'), 'res_relatedperson', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_relatedperson_patient_date_low'), 'res_relatedperson', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_schedule_date_high'), 'res_schedule', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_schedule_date_low'), 'res_schedule', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_schedule_last_updated'), 'res_schedule', ['last_updated'], unique=False)
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
    op.create_index(op.f('ix_res_servicerequest_date_high'), 'res_servicerequest', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_servicerequest_date_low'), 'res_servicerequest', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_servicerequest_last_updated'), 'res_servicerequest', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_servicerequest_patient_date_low'), 'res_servicerequest', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_slot_date_high'), 'res_slot', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_slot_date_low'), 'res_slot', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_slot_last_updated'), 'res_slot', ['last_updated'], unique=False)
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
    op.create_index(op.f('ix_res_specimen_date_high'), 'res_specimen', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_specimen_date_low'), 'res_specimen', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_specimen_last_updated'), 'res_specimen', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_specimen_patient_date_low'), 'res_specimen', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_structuredefinition_last_updated'), 'res_structuredefinition', ['last_updated'], unique=False)
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
    op.create_index(op.f('ix_res_subscription_last_updated'), 'res_subscription', ['last_updated'], unique=False)
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
    op.create_index(op.f('ix_res_subscriptiontopic_last_updated'), 'res_subscriptiontopic', ['last_updated'], unique=False)
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
    op.create_index(op.f('ix_res_task_date_high'), 'res_task', ['date_high'], unique=False)
    op.create_index(op.f('ix_res_task_date_low'), 'res_task', ['date_low'], unique=False)
    op.create_index(op.f('ix_res_task_last_updated'), 'res_task', ['last_updated'], unique=False)
    op.create_index(op.f('ix_res_task_patient_date_low'), 'res_task', ['patient', 'date_low'], unique=False)
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
    op.create_index(op.f('ix_res_valueset_last_updated'), 'res_valueset', ['last_updated'], unique=False)
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
    op.create_index(op.f('ix_resource_history_last_updated'), 'resource_history', ['last_updated'], unique=False)
    op.create_index(op.f('ix_resource_history_res_type_last_updated'), 'resource_history', ['res_type', 'last_updated'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_resource_history_res_type_last_updated'), table_name='resource_history')
    op.drop_index(op.f('ix_resource_history_last_updated'), table_name='resource_history')
    op.drop_table('resource_history')
    op.drop_index(op.f('ix_res_valueset_last_updated'), table_name='res_valueset')
    op.drop_table('res_valueset')
    op.drop_index(op.f('ix_res_task_patient_date_low'), table_name='res_task')
    op.drop_index(op.f('ix_res_task_last_updated'), table_name='res_task')
    op.drop_index(op.f('ix_res_task_date_low'), table_name='res_task')
    op.drop_index(op.f('ix_res_task_date_high'), table_name='res_task')
    op.drop_table('res_task')
    op.drop_index(op.f('ix_res_subscriptiontopic_last_updated'), table_name='res_subscriptiontopic')
    op.drop_table('res_subscriptiontopic')
    op.drop_index(op.f('ix_res_subscription_last_updated'), table_name='res_subscription')
    op.drop_table('res_subscription')
    op.drop_index(op.f('ix_res_structuredefinition_last_updated'), table_name='res_structuredefinition')
    op.drop_table('res_structuredefinition')
    op.drop_index(op.f('ix_res_specimen_patient_date_low'), table_name='res_specimen')
    op.drop_index(op.f('ix_res_specimen_last_updated'), table_name='res_specimen')
    op.drop_index(op.f('ix_res_specimen_date_low'), table_name='res_specimen')
    op.drop_index(op.f('ix_res_specimen_date_high'), table_name='res_specimen')
    op.drop_table('res_specimen')
    op.drop_index(op.f('ix_res_slot_last_updated'), table_name='res_slot')
    op.drop_index(op.f('ix_res_slot_date_low'), table_name='res_slot')
    op.drop_index(op.f('ix_res_slot_date_high'), table_name='res_slot')
    op.drop_table('res_slot')
    op.drop_index(op.f('ix_res_servicerequest_patient_date_low'), table_name='res_servicerequest')
    op.drop_index(op.f('ix_res_servicerequest_last_updated'), table_name='res_servicerequest')
    op.drop_index(op.f('ix_res_servicerequest_date_low'), table_name='res_servicerequest')
    op.drop_index(op.f('ix_res_servicerequest_date_high'), table_name='res_servicerequest')
    op.drop_table('res_servicerequest')
    op.drop_index(op.f('ix_res_schedule_last_updated'), table_name='res_schedule')
    op.drop_index(op.f('ix_res_schedule_date_low'), table_name='res_schedule')
    op.drop_index(op.f('ix_res_schedule_date_high'), table_name='res_schedule')
    op.drop_table('res_schedule')
    op.drop_index(op.f('ix_res_relatedperson_patient_date_low'), table_name='res_relatedperson')
    op.drop_index(op.f('ix_res_relatedperson_last_updated'), table_name='res_relatedperson')
    op.drop_table('res_relatedperson')
    op.drop_index(op.f('ix_res_questionnaireresponse_patient_date_low'), table_name='res_questionnaireresponse')
    op.drop_index(op.f('ix_res_questionnaireresponse_last_updated'), table_name='res_questionnaireresponse')
    op.drop_index(op.f('ix_res_questionnaireresponse_date_low'), table_name='res_questionnaireresponse')
    op.drop_index(op.f('ix_res_questionnaireresponse_date_high'), table_name='res_questionnaireresponse')
    op.drop_table('res_questionnaireresponse')
    op.drop_index(op.f('ix_res_questionnaire_last_updated'), table_name='res_questionnaire')
    op.drop_table('res_questionnaire')
    op.drop_index(op.f('ix_res_provenance_patient_date_low'), table_name='res_provenance')
    op.drop_index(op.f('ix_res_provenance_last_updated'), table_name='res_provenance')
    op.drop_index(op.f('ix_res_provenance_date_low'), table_name='res_provenance')
    op.drop_index(op.f('ix_res_provenance_date_high'), table_name='res_provenance')
    op.drop_table('res_provenance')
    op.drop_index(op.f('ix_res_procedure_patient_date_low'), table_name='res_procedure')
    op.drop_index(op.f('ix_res_procedure_last_updated'), table_name='res_procedure')
    op.drop_index(op.f('ix_res_procedure_date_low'), table_name='res_procedure')
    op.drop_index(op.f('ix_res_procedure_date_high'), table_name='res_procedure')
    op.drop_table('res_procedure')
    op.drop_index(op.f('ix_res_practitionerrole_last_updated'), table_name='res_practitionerrole')
    op.drop_table('res_practitionerrole')
    op.drop_index(op.f('ix_res_practitioner_last_updated'), table_name='res_practitioner')
    op.drop_table('res_practitioner')
    op.drop_index(op.f('ix_res_patient_last_updated'), table_name='res_patient')
    op.drop_index(op.f('ix_res_patient_date_low'), table_name='res_patient')
    op.drop_index(op.f('ix_res_patient_date_high'), table_name='res_patient')
    op.drop_table('res_patient')
    op.drop_index(op.f('ix_res_organization_last_updated'), table_name='res_organization')
    op.drop_table('res_organization')
    op.drop_index(op.f('ix_res_observation_patient_date_low'), table_name='res_observation')
    op.drop_index(op.f('ix_res_observation_last_updated'), table_name='res_observation')
    op.drop_index(op.f('ix_res_observation_date_low'), table_name='res_observation')
    op.drop_index(op.f('ix_res_observation_date_high'), table_name='res_observation')
    op.drop_table('res_observation')
    op.drop_index(op.f('ix_res_medicationrequest_patient_date_low'), table_name='res_medicationrequest')
    op.drop_index(op.f('ix_res_medicationrequest_last_updated'), table_name='res_medicationrequest')
    op.drop_index(op.f('ix_res_medicationrequest_date_low'), table_name='res_medicationrequest')
    op.drop_index(op.f('ix_res_medicationrequest_date_high'), table_name='res_medicationrequest')
    op.drop_table('res_medicationrequest')
    op.drop_index(op.f('ix_res_medication_last_updated'), table_name='res_medication')
    op.drop_table('res_medication')
    op.drop_index(op.f('ix_res_media_patient_date_low'), table_name='res_media')
    op.drop_index(op.f('ix_res_media_last_updated'), table_name='res_media')
    op.drop_index(op.f('ix_res_media_date_low'), table_name='res_media')
    op.drop_index(op.f('ix_res_media_date_high'), table_name='res_media')
    op.drop_table('res_media')
    op.drop_index(op.f('ix_res_location_last_updated'), table_name='res_location')
    op.drop_table('res_location')
    op.drop_index(op.f('ix_res_immunization_patient_date_low'), table_name='res_immunization')
    op.drop_index(op.f('ix_res_immunization_last_updated'), table_name='res_immunization')
    op.drop_index(op.f('ix_res_immunization_date_low'), table_name='res_immunization')
    op.drop_index(op.f('ix_res_immunization_date_high'), table_name='res_immunization')
    op.drop_table('res_immunization')
    op.drop_index(op.f('ix_res_imagingstudy_patient_date_low'), table_name='res_imagingstudy')
    op.drop_index(op.f('ix_res_imagingstudy_last_updated'), table_name='res_imagingstudy')
    op.drop_index(op.f('ix_res_imagingstudy_date_low'), table_name='res_imagingstudy')
    op.drop_index(op.f('ix_res_imagingstudy_date_high'), table_name='res_imagingstudy')
    op.drop_table('res_imagingstudy')
    op.drop_index(op.f('ix_res_healthcareservice_last_updated'), table_name='res_healthcareservice')
    op.drop_table('res_healthcareservice')
    op.drop_index(op.f('ix_res_goal_patient_date_low'), table_name='res_goal')
    op.drop_index(op.f('ix_res_goal_last_updated'), table_name='res_goal')
    op.drop_index(op.f('ix_res_goal_date_low'), table_name='res_goal')
    op.drop_index(op.f('ix_res_goal_date_high'), table_name='res_goal')
    op.drop_table('res_goal')
    op.drop_index(op.f('ix_res_explanationofbenefit_patient_date_low'), table_name='res_explanationofbenefit')
    op.drop_index(op.f('ix_res_explanationofbenefit_last_updated'), table_name='res_explanationofbenefit')
    op.drop_index(op.f('ix_res_explanationofbenefit_date_low'), table_name='res_explanationofbenefit')
    op.drop_index(op.f('ix_res_explanationofbenefit_date_high'), table_name='res_explanationofbenefit')
    op.drop_table('res_explanationofbenefit')
    op.drop_index(op.f('ix_res_episodeofcare_patient_date_low'), table_name='res_episodeofcare')
    op.drop_index(op.f('ix_res_episodeofcare_last_updated'), table_name='res_episodeofcare')
    op.drop_index(op.f('ix_res_episodeofcare_date_low'), table_name='res_episodeofcare')
    op.drop_index(op.f('ix_res_episodeofcare_date_high'), table_name='res_episodeofcare')
    op.drop_table('res_episodeofcare')
    op.drop_index(op.f('ix_res_endpoint_last_updated'), table_name='res_endpoint')
    op.drop_table('res_endpoint')
    op.drop_index(op.f('ix_res_encounter_patient_date_low'), table_name='res_encounter')
    op.drop_index(op.f('ix_res_encounter_last_updated'), table_name='res_encounter')
    op.drop_index(op.f('ix_res_encounter_date_low'), table_name='res_encounter')
    op.drop_index(op.f('ix_res_encounter_date_high'), table_name='res_encounter')
    op.drop_table('res_encounter')
    op.drop_index(op.f('ix_res_documentreference_patient_date_low'), table_name='res_documentreference')
    op.drop_index(op.f('ix_res_documentreference_last_updated'), table_name='res_documentreference')
    op.drop_index(op.f('ix_res_documentreference_date_low'), table_name='res_documentreference')
    op.drop_index(op.f('ix_res_documentreference_date_high'), table_name='res_documentreference')
    op.drop_table('res_documentreference')
    op.drop_index(op.f('ix_res_diagnosticreport_patient_date_low'), table_name='res_diagnosticreport')
    op.drop_index(op.f('ix_res_diagnosticreport_last_updated'), table_name='res_diagnosticreport')
    op.drop_index(op.f('ix_res_diagnosticreport_date_low'), table_name='res_diagnosticreport')
    op.drop_index(op.f('ix_res_diagnosticreport_date_high'), table_name='res_diagnosticreport')
    op.drop_table('res_diagnosticreport')
    op.drop_index(op.f('ix_res_device_patient_date_low'), table_name='res_device')
    op.drop_index(op.f('ix_res_device_last_updated'), table_name='res_device')
    op.drop_table('res_device')
    op.drop_index(op.f('ix_res_coverage_patient_date_low'), table_name='res_coverage')
    op.drop_index(op.f('ix_res_coverage_last_updated'), table_name='res_coverage')
    op.drop_table('res_coverage')
    op.drop_index(op.f('ix_res_consent_patient_date_low'), table_name='res_consent')
    op.drop_index(op.f('ix_res_consent_last_updated'), table_name='res_consent')
    op.drop_index(op.f('ix_res_consent_date_low'), table_name='res_consent')
    op.drop_index(op.f('ix_res_consent_date_high'), table_name='res_consent')
    op.drop_table('res_consent')
    op.drop_index(op.f('ix_res_condition_patient_date_low'), table_name='res_condition')
    op.drop_index(op.f('ix_res_condition_last_updated'), table_name='res_condition')
    op.drop_index(op.f('ix_res_condition_date_low'), table_name='res_condition')
    op.drop_index(op.f('ix_res_condition_date_high'), table_name='res_condition')
    op.drop_table('res_condition')
    op.drop_index(op.f('ix_res_conceptmap_last_updated'), table_name='res_conceptmap')
    op.drop_table('res_conceptmap')
    op.drop_index(op.f('ix_res_composition_patient_date_low'), table_name='res_composition')
    op.drop_index(op.f('ix_res_composition_last_updated'), table_name='res_composition')
    op.drop_index(op.f('ix_res_composition_date_low'), table_name='res_composition')
    op.drop_index(op.f('ix_res_composition_date_high'), table_name='res_composition')
    op.drop_table('res_composition')
    op.drop_index(op.f('ix_res_communicationrequest_patient_date_low'), table_name='res_communicationrequest')
    op.drop_index(op.f('ix_res_communicationrequest_last_updated'), table_name='res_communicationrequest')
    op.drop_index(op.f('ix_res_communicationrequest_date_low'), table_name='res_communicationrequest')
    op.drop_index(op.f('ix_res_communicationrequest_date_high'), table_name='res_communicationrequest')
    op.drop_table('res_communicationrequest')
    op.drop_index(op.f('ix_res_communication_patient_date_low'), table_name='res_communication')
    op.drop_index(op.f('ix_res_communication_last_updated'), table_name='res_communication')
    op.drop_index(op.f('ix_res_communication_date_low'), table_name='res_communication')
    op.drop_index(op.f('ix_res_communication_date_high'), table_name='res_communication')
    op.drop_table('res_communication')
    op.drop_index(op.f('ix_res_codesystem_last_updated'), table_name='res_codesystem')
    op.drop_table('res_codesystem')
    op.drop_index(op.f('ix_res_claim_patient_date_low'), table_name='res_claim')
    op.drop_index(op.f('ix_res_claim_last_updated'), table_name='res_claim')
    op.drop_index(op.f('ix_res_claim_date_low'), table_name='res_claim')
    op.drop_index(op.f('ix_res_claim_date_high'), table_name='res_claim')
    op.drop_table('res_claim')
    op.drop_index(op.f('ix_res_careteam_patient_date_low'), table_name='res_careteam')
    op.drop_index(op.f('ix_res_careteam_last_updated'), table_name='res_careteam')
    op.drop_index(op.f('ix_res_careteam_date_low'), table_name='res_careteam')
    op.drop_index(op.f('ix_res_careteam_date_high'), table_name='res_careteam')
    op.drop_table('res_careteam')
    op.drop_index(op.f('ix_res_careplan_patient_date_low'), table_name='res_careplan')
    op.drop_index(op.f('ix_res_careplan_last_updated'), table_name='res_careplan')
    op.drop_index(op.f('ix_res_careplan_date_low'), table_name='res_careplan')
    op.drop_index(op.f('ix_res_careplan_date_high'), table_name='res_careplan')
    op.drop_table('res_careplan')
    op.drop_index(op.f('ix_res_binary_last_updated'), table_name='res_binary')
    op.drop_table('res_binary')
    op.drop_index(op.f('ix_res_auditevent_patient_date_low'), table_name='res_auditevent')
    op.drop_index(op.f('ix_res_auditevent_last_updated'), table_name='res_auditevent')
    op.drop_index(op.f('ix_res_auditevent_date_low'), table_name='res_auditevent')
    op.drop_index(op.f('ix_res_auditevent_date_high'), table_name='res_auditevent')
    op.drop_table('res_auditevent')
    op.drop_index(op.f('ix_res_appointment_patient_date_low'), table_name='res_appointment')
    op.drop_index(op.f('ix_res_appointment_last_updated'), table_name='res_appointment')
    op.drop_index(op.f('ix_res_appointment_date_low'), table_name='res_appointment')
    op.drop_index(op.f('ix_res_appointment_date_high'), table_name='res_appointment')
    op.drop_table('res_appointment')
    op.drop_index(op.f('ix_res_allergyintolerance_patient_date_low'), table_name='res_allergyintolerance')
    op.drop_index(op.f('ix_res_allergyintolerance_last_updated'), table_name='res_allergyintolerance')
    op.drop_index(op.f('ix_res_allergyintolerance_date_low'), table_name='res_allergyintolerance')
    op.drop_index(op.f('ix_res_allergyintolerance_date_high'), table_name='res_allergyintolerance')
    op.drop_table('res_allergyintolerance')
    op.drop_table('pid_counter')
    op.drop_index(op.f('ix_idx_token_hash_value_sort_date_pid'), table_name='idx_token')
    op.drop_index(op.f('ix_idx_token_hash_sys_value_sort_date_pid'), table_name='idx_token')
    op.drop_table('idx_token')
    op.drop_index(op.f('ix_idx_string_pid'), table_name='idx_string')
    op.drop_index(op.f('ix_idx_string_hash_identity_value_norm_pid'), table_name='idx_string')
    op.drop_table('idx_string')
    op.drop_index(op.f('ix_idx_ref_pid'), table_name='idx_ref')
    op.drop_index(op.f('ix_idx_ref_hash_identity_target_id_pid'), table_name='idx_ref')
    op.drop_table('idx_ref')
    op.drop_index(op.f('ix_idx_date_pid'), table_name='idx_date')
    op.drop_index(op.f('ix_idx_date_hash_identity_low_high_pid'), table_name='idx_date')
    op.drop_index(op.f('ix_idx_date_hash_identity_high_pid'), table_name='idx_date')
    op.drop_table('idx_date')
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.schema.DropSequence(sa.Sequence("pid_seq")))
