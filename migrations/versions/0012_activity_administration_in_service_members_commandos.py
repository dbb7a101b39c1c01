"""activities under "1+6+12+N" organisers with a version (publish, update, cancel, finish);
in-service party members (下沉报到) with their reports and two-way evaluations; commando teams
that stand down (team.disbanded_at, team_membership.away_with_team_id)

Revision ID: 0012
Revises: 0009
Create Date: 2026-11-30 22:42:24.673425
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
import schema.base


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('service_organiser',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=96), nullable=False),
    sa.Column('level', sa.Enum('centre', 'six', 'twelve', 'n', name='servicelevel', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('created_at', schema.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint('length(name) > 0', name=op.f('ck_service_organiser_name_not_empty')),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_service_organiser_community_id_community')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_service_organiser_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_organiser')),
    sa.UniqueConstraint('name', name=op.f('uq_service_organiser_name'))
    )
    with op.batch_alter_table('service_organiser', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_organiser_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_organiser_level'), ['level'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_organiser_team_id'), ['team_id'], unique=False)

    op.create_table('in_service_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('id_number', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=True),
    sa.Column('post', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('responsibility', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('registry_record_id', sa.Integer(), nullable=True),
    sa.Column('registered_by_account_id', sa.Integer(), nullable=True),
    sa.Column('registered_at', schema.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_in_service_member_community_id_community')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_in_service_member_person_id_person')),
    sa.ForeignKeyConstraint(['registered_by_account_id'], ['account.id'], name=op.f('fk_in_service_member_registered_by_account_id_account')),
    sa.ForeignKeyConstraint(['registry_record_id'], ['registry_record.id'], name=op.f('fk_in_service_member_registry_record_id_registry_record')),
    sa.ForeignKeyConstraint(['unit_id'], ['paired_unit.id'], name=op.f('fk_in_service_member_unit_id_paired_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_in_service_member')),
    sa.UniqueConstraint('id_number', name=op.f('uq_in_service_member_id_number')),
    sa.UniqueConstraint('person_id', name=op.f('uq_in_service_member_person_id'))
    )
    with op.batch_alter_table('in_service_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_in_service_member_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_in_service_member_unit_id'), ['unit_id'], unique=False)

    op.create_table('member_evaluation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('direction', sa.Enum('community_rates_member', 'member_rates_community', name='evaluationdirection', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('by_account_id', sa.Integer(), nullable=True),
    sa.Column('by_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('at', schema.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint('score BETWEEN 0 AND 100', name=op.f('ck_member_evaluation_score')),
    sa.ForeignKeyConstraint(['by_account_id'], ['account.id'], name=op.f('fk_member_evaluation_by_account_id_account')),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_member_evaluation_community_id_community')),
    sa.ForeignKeyConstraint(['member_id'], ['in_service_member.id'], name=op.f('fk_member_evaluation_member_id_in_service_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_evaluation')),
    sa.UniqueConstraint('member_id', 'period', 'direction', name=op.f('uq_member_evaluation_member_id_period_direction'))
    )
    with op.batch_alter_table('member_evaluation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_evaluation_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_member_evaluation_member_id'), ['member_id'], unique=False)

    op.create_table('member_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('service_minutes', sa.Integer(), nullable=False),
    sa.Column('submitted_by_account_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', schema.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint('length(summary) > 0', name=op.f('ck_member_report_summary_not_empty')),
    sa.ForeignKeyConstraint(['member_id'], ['in_service_member.id'], name=op.f('fk_member_report_member_id_in_service_member')),
    sa.ForeignKeyConstraint(['submitted_by_account_id'], ['account.id'], name=op.f('fk_member_report_submitted_by_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_report')),
    sa.UniqueConstraint('member_id', 'period', name=op.f('uq_member_report_member_id_period'))
    )
    with op.batch_alter_table('member_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_report_member_id'), ['member_id'], unique=False)

    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organiser_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('updated_at', schema.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('cancelled_at', schema.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('cancel_reason', sqlmodel.sql.sqltypes.AutoString(length=1000), server_default='', nullable=False))
        batch_op.add_column(sa.Column('finished_at', schema.base.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_activity_organiser_id'), ['organiser_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_activity_organiser_id_service_organiser'), 'service_organiser', ['organiser_id'], ['id'])

    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disbanded_at', schema.base.UTCDateTime(), nullable=True))

    with op.batch_alter_table('team_membership', schema=None) as batch_op:
        batch_op.add_column(sa.Column('away_with_team_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_team_membership_away_with_team_id'), ['away_with_team_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_team_membership_away_with_team_id_team'), 'team', ['away_with_team_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('team_membership', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_team_membership_away_with_team_id_team'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_team_membership_away_with_team_id'))
        batch_op.drop_column('away_with_team_id')

    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.drop_column('disbanded_at')

    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_activity_organiser_id_service_organiser'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_activity_organiser_id'))
        batch_op.drop_column('finished_at')
        batch_op.drop_column('cancel_reason')
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('version')
        batch_op.drop_column('organiser_id')

    with op.batch_alter_table('member_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_report_member_id'))

    op.drop_table('member_report')
    with op.batch_alter_table('member_evaluation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_evaluation_member_id'))
        batch_op.drop_index(batch_op.f('ix_member_evaluation_community_id'))

    op.drop_table('member_evaluation')
    with op.batch_alter_table('in_service_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_in_service_member_unit_id'))
        batch_op.drop_index(batch_op.f('ix_in_service_member_community_id'))

    op.drop_table('in_service_member')
    with op.batch_alter_table('service_organiser', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_organiser_team_id'))
        batch_op.drop_index(batch_op.f('ix_service_organiser_level'))
        batch_op.drop_index(batch_op.f('ix_service_organiser_community_id'))

    op.drop_table('service_organiser')
