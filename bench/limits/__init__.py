"""Raw limits: the database driver alone (sqlite3, psycopg) doing what a job
queue must — insert a job, claim the next ready one, record its outcome
fenced by its lock — on a jobs table of the same shape as jobmill's, with
jobmill's durability settings (SQLite WAL + synchronous=NORMAL; PostgreSQL
as configured, fsync on). No Python beyond the loop: what jobmill could reach.

- ``raw_insert_one``: one INSERT per transaction;
- ``raw_insert_bulk``: one transaction, ``executemany`` (SQLite) or ``COPY`` (PostgreSQL);
- ``raw_cycle_one``: claim one row (a transaction), complete it (another);
- ``raw_cycle_batch``: the same with 100 rows per statement;
- ``raw_wakeup_p50/p99``: a row inserted (``latency_interval`` apart) until a
  process that waits for work has claimed it: SQLite polls ``PRAGMA
  data_version`` every millisecond, PostgreSQL LISTENs for a NOTIFY sent in
  the insert's transaction.
"""
