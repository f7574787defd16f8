"""A worker's round in one statement: the completions of a batch and the next
claim, as two data-modifying CTEs of one statement sent on its own (PostgreSQL,
where each statement sent is a round trip and each commit a flush to disk).

Both parts are the statements a round otherwise sends in its transaction
(``complete_all_statement``, ``claim_statement``), so each completion is
fenced by its own lock as there. They touch different rows (running ones and
pending ones) and see the same snapshot: a job unblocked by a completion of
this round is claimed by the next.

The statement runs on the driver, compiled once (``store.hot``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import CompoundSelect, Connection, literal, null, select

from jobmill.outcomes import Lock, Outcome
from jobmill.records import JobMetadata
from jobmill.states import JobStatus
from jobmill.store.base import metadata_from_tuples
from jobmill.store.claims import ClaimRequest, claim_statement, in_claim_order
from jobmill.store.dialects import Dialect
from jobmill.store.hot import DriverStatement, driver_statement
from jobmill.store.record import COMPLETED_COLUMNS, complete_all_statement, completed_rows
from jobmill.store.schema import jobs


def fits_one_statement(outcome: Outcome) -> bool:
    """Whether an outcome is written by ``complete_and_claim``: a completion that
    writes no events."""
    return (
        outcome.status is JobStatus.COMPLETED and outcome.requires is None and not outcome.progress
    )


@cache
def complete_and_claim_statement(
    dialect: Dialect, queues: int, by_name: bool
) -> CompoundSelect[Any]:
    """The rows claimed (``written`` false) and the (id, attempts) of the
    completions written (``written`` true), in one result."""
    done = complete_all_statement(dialect).cte("done")
    claimed = claim_statement(dialect, queues, by_name).cte("claimed")
    done_columns = [
        done.c[column.name] if column.name in ("id", "attempts") else null() for column in jobs.c
    ]
    return select(literal(False).label("written"), *claimed.c).union_all(
        select(literal(True), *done_columns)
    )


def round_sent(
    conn: Connection,
    dialect: Dialect,
    ended: Sequence[tuple[Lock, Outcome]],
    claim: ClaimRequest,
    now: datetime,
) -> tuple[str, dict[str, Any]]:
    """The text and parameters of ``complete_and_claim``'s statement, as the
    driver of ``conn`` is sent them."""
    return _driver_statement(conn, dialect, claim).bound(_params(dialect, ended, claim, now))


def complete_and_claim(
    conn: Connection,
    dialect: Dialect,
    ended: Sequence[tuple[Lock, Outcome]],
    claim: ClaimRequest,
    now: datetime,
) -> tuple[set[tuple[str, int]], list[JobMetadata]]:
    """Write these completions (each ``fits_one_statement``) and claim, on an
    autocommit connection whose session ``dialect.steer_planner`` prepared;
    returns the (id, attempt) of the completions written and the jobs claimed."""
    statement = _driver_statement(conn, dialect, claim)
    names, rows = statement.run(conn, _params(dialect, ended, claim, now))
    # The first column says which part a row comes from.
    job_id, attempts = names.index("id"), names.index("attempts")
    done = {(row[job_id], row[attempts]) for row in rows if row[0]}
    claimed = metadata_from_tuples(names, [row for row in rows if not row[0]])
    return done, in_claim_order(claimed)


def _driver_statement(conn: Connection, dialect: Dialect, claim: ClaimRequest) -> DriverStatement:
    queues, by_name = len(claim.queues or ()), claim.job_names is not None
    return driver_statement(complete_and_claim_statement(dialect, queues, by_name), conn.dialect)


def _params(
    dialect: Dialect, ended: Sequence[tuple[Lock, Outcome]], claim: ClaimRequest, now: datetime
) -> dict[str, Any]:
    return {
        **dialect.batch_params(COMPLETED_COLUMNS, completed_rows(ended)),
        **claim.params(dialect, now),
        "now": now,
    }
