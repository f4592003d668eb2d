"""Group commit of submissions on SQLite: a batch in five statements, not six per job.

Job by job, a submission was six statements (session, key, citizen, insert, tracking
number, events), each ~50-200 us of Python around a few us of SQLite. Here a batch is
one lookup of every job's session and citizen, one of every stored key, the next id,
then one ``executemany`` for the applications (ids and tracking numbers drawn here, so
no UPDATE follows) and one for their events. The caller holds SQLite's writer lock for
the whole transaction (``BEGIN IMMEDIATE``), so the ids and the keys looked up cannot
change under it.

Semantics are the job-by-job writer's (and :mod:`server.domain.pgsubmit`'s): a job refused
before writing (bad key, token or form) fails alone and the batch goes on; a replayed key
answers the stored application; a key taken twice in the batch (two sessions of one
citizen) and a session not yet identified go alone after the commit; any database error
propagates having written nothing the caller keeps (it rolls back and retries every job
alone).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select
from sqlalchemy.orm import Session

from protocol.catalog import Catalog
from server.domain import applications, pgsubmit
from server.errors import ApiError, unauthorized
from server.persistence import models as m
from server.persistence.fastsql import Prepared

_APPS: Table = m.Application.__table__  # type: ignore[assignment]
_EVENTS: Table = m.Event.__table__  # type: ignore[assignment]
_VS: Table = m.VisitorSession.__table__  # type: ignore[assignment]
_CITIZENS: Table = m.Citizen.__table__  # type: ignore[assignment]

_LAST_ID = Prepared(select(func.max(_APPS.c.id)))
_INSERT_APPS = Prepared(insert(_APPS))
_INSERT_EVENTS = Prepared(insert(_EVENTS))
_BY_SIZE: dict[tuple[str, int], Prepared] = {}  # one plain IN (?, ?, ...) per list length: no expanding parameters


def _sessions(n: int) -> Prepared:
    """Session, citizen, liveness and demo tag of ``n`` token hashes (``h0``..), on the raw fast path."""
    found = _BY_SIZE.get(("s", n))
    if found is None:
        found = _BY_SIZE["s", n] = Prepared(
            select(_VS.c.token_hash, _VS.c.id, _VS.c.citizen_id, _VS.c.expires_at > bindparam("now"), _VS.c.demo)
            .add_columns(_CITIZENS.c.nik)
            .outerjoin(_CITIZENS, _CITIZENS.c.id == _VS.c.citizen_id)
            .where(_VS.c.token_hash.in_([bindparam(f"h{i}") for i in range(n)]))
        )
    return found


def _stored(n: int) -> Prepared:
    """Id and request hash of the applications stored under ``n`` idempotency keys (``k0``..)."""
    found = _BY_SIZE.get(("k", n))
    if found is None:
        found = _BY_SIZE["k", n] = Prepared(
            select(_APPS.c.idempotency_key, _APPS.c.id, _APPS.c.request_hash).where(
                _APPS.c.idempotency_key.in_([bindparam(f"k{i}") for i in range(n)])
            )
        )
    return found


Settled = pgsubmit.Settled
Job = pgsubmit.Job


def write_batch(db: Session, catalog: Catalog, batch: Sequence[Job]) -> tuple[list[Settled], list[Job]]:
    """Write ``batch`` in ``db``'s transaction (the caller commits); the settled jobs and those to run alone."""
    todo = pgsubmit.plan(catalog, batch)
    if not todo.sent:
        return todo.settled, todo.alone
    hashes = sorted(set(todo.params["hashes"]))
    params: dict[str, Any] = {f"h{i}": h for i, h in enumerate(hashes)}
    params["now"] = todo.params["now"]
    found = {row[0]: row[1:] for row in _sessions(len(hashes)).all(db, params)}
    settled, alone = todo.settled, todo.alone
    ready: list[tuple[Job, tuple[Any, ...], str, pgsubmit._Checked, dict[str, Any] | None, str]] = []
    lookups: list[str] = []
    for (job, checked, req_hash, new), h, key in zip(
        todo.sent, todo.params["hashes"], todo.params["keys"], strict=True
    ):
        vs = found.get(h)
        try:
            if vs is None:
                raise unauthorized()
            if not vs[2]:
                raise unauthorized("token_expired")
        except ApiError as exc:
            settled.append((job, None, exc))
            continue
        if vs[1] is None:
            alone.append(job)  # identification happens on the ORM path
            continue
        lookups += [f"s{vs[0]}:{key}", f"c{vs[1]}:{key}"]
        ready.append((job, vs, key, checked, new, req_hash))
    keys = sorted(set(lookups))
    stored = {row[0]: row[1:] for row in _stored(len(keys)).all(db, {f"k{i}": k for i, k in enumerate(keys)})}
    next_id = (_LAST_ID.scalar(db, {}) or 0) + 1
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    taken: set[str] = set()
    for job, vs, key, checked, new, req_hash in ready:
        sid, citizen_id, _, demo, nik = vs
        prior = stored.get(f"s{sid}:{key}") or stored.get(f"c{citizen_id}:{key}")
        try:
            if prior is not None:
                existing = db.get(m.Application, prior[0])  # a replay: rare, so the ORM's typed row
                assert existing is not None
                settled.append((job, applications.replay(existing, prior[1], req_hash), None))
                continue
            if isinstance(checked, ApiError):
                raise checked
            if nik is None or new is None:
                raise unauthorized()
        except ApiError as exc:
            settled.append((job, None, exc))
            continue
        idem = f"c{citizen_id}:{key}"
        if idem in taken:
            alone.append(job)  # another session of the citizen took the key in this batch: it replays after
            continue
        taken.add(idem)
        row = {**new, "citizen_id": citizen_id, "idempotency_key": idem, "demo": bool(demo), "id": next_id}
        next_id += 1
        app = applications.snapshot(row["id"], row)
        row["tracking_number"] = app.tracking_number
        rows.append(row)
        events += applications.new_application_events(app, str(nik))
        settled.append((job, applications.Created(app, True, [applications.Wake(citizen_id, None)]), None))
    _INSERT_APPS.executemany(db, rows)
    _INSERT_EVENTS.executemany(db, events)
    return settled, alone


__all__ = ["write_batch"]
