"""throttle counters unlogged on PostgreSQL (issue 16)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

Every ticket lookup writes its attempt counters (services/kernel/throttle.py). In a
logged table each write is WAL and its commit waits for the disk, while the company's
counter row, which every lookup of that company writes, stays locked: the commits of one
company's lookups queue one fsync after another. The counters are worth keeping only for
their 15-minute window, like the Redis variant, which keeps nothing on disk either, so on
PostgreSQL the table is UNLOGGED: no WAL, no wait for the disk; after a crash of the
database server (not of ours) it comes back empty, and standbys do not have it (a
promoted standby starts with fresh counters). The used ALTCHA challenges kept there are
likewise forgotten, which lets a solved challenge be replayed once within its few minutes.
SQLite has no such setting (its synchronous=NORMAL commits do not wait for the disk).
"""
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE throttle SET UNLOGGED")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE throttle SET LOGGED")
