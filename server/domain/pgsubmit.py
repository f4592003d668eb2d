"""Group commit of submissions on PostgreSQL: a whole batch in one statement, one round trip.

Through the ORM a submission is six or seven statements, each a round trip to the server
and ~0.3 ms of Python; the writer thread spent its time waiting on them one after another
(on this loaded 2-core machine a round trip to a local server takes 1-15 ms). Here the
forms are validated in Python first, then one statement looks up every job's session,
citizen and idempotency key, inserts the new applications (tracking numbers drawn with
their ids) and their events, and reports each job's fate. The connection is in autocommit
mode, so that statement is its own transaction: there is no BEGIN or COMMIT to wait for,
and each request is still answered only after the commit that holds its rows.

Semantics are those of the SQLite writer, in the same order (token, replay, form): a job
refused before writing (bad key, token or form) fails alone; a lost race on an idempotency
key (``ON CONFLICT DO NOTHING`` skips the row) and a key repeated inside the batch are
retried alone after the commit, where they replay the stored application; a session not
yet identified goes alone through the ORM path; any database error aborts the statement,
which wrote nothing, and the caller retries every job alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from protocol.catalog import Catalog, Service
from server.domain import applications, sessions
from server.errors import ApiError, unauthorized
from server.persistence import models as m

# Per job ($ord): its session, citizen and any application stored under its key ("l"); the
# jobs whose form passed and that are new get an id from the sequence, so the tracking number
# (BWI-<year>-<id, at least 6 digits>, as applications.tracking_number) and the actor (the NIK masked
# as protocol.nik.mask_nik) are written with the row; the events follow in the same statement.
_BATCH = """
WITH j AS (
    SELECT * FROM unnest(%(hashes)s::text[], %(keys)s::text[], %(service_id)s::text[], %(agency_id)s::text[],
                         %(village_code)s::text[], %(data)s::text[], %(state)s::text[], %(version)s::int[],
                         %(sla_due)s::date[], %(request_hash)s::text[])
        WITH ORDINALITY AS j(h, k, service_id, agency_id, village_code, data, state, version, sla_due,
                             request_hash, ord)
), l AS (
    SELECT j.*, s.id AS sid, s.citizen_id, s.expires_at > %(now)s AS live, c.nik, COALESCE(s.demo, false) AS s_demo,
           a.id AS a_id, a.tracking_number AS a_tn, a.service_id AS a_service, a.agency_id AS a_agency,
           a.village_code AS a_village, a.citizen_id AS a_citizen, a.state AS a_state, a.version AS a_version,
           a.data AS a_data, a.sla_due AS a_sla, a.created_at AS a_created, a.updated_at AS a_updated,
           a.request_hash AS a_hash
    FROM j
    LEFT JOIN visitor_sessions s ON s.token_hash = j.h
    LEFT JOIN citizens c ON c.id = s.citizen_id
    LEFT JOIN LATERAL (
        SELECT * FROM applications x
        WHERE x.idempotency_key IN ('s' || s.id || ':' || j.k, 'c' || s.citizen_id || ':' || j.k)
        LIMIT 1
    ) a ON true
), v AS (
    SELECT nextval(pg_get_serial_sequence('applications', 'id')) AS id, n.*,
           'citizen:' || CASE WHEN length(n.nik) = 16 THEN left(n.nik, 4) || '********' || right(n.nik, 4)
                              ELSE repeat('*', least(length(n.nik), 16)) END AS actor
    FROM (
        SELECT * FROM l
        WHERE l.service_id IS NOT NULL AND l.live AND l.citizen_id IS NOT NULL AND l.a_id IS NULL
        ORDER BY l.ord  -- ids (and tracking numbers) in the order the jobs arrived
    ) n
), ins AS (
    INSERT INTO applications (id, tracking_number, service_id, agency_id, village_code, citizen_id, data,
                              state, version, sla_due, idempotency_key, request_hash, created_at, updated_at, demo)
    SELECT id, 'BWI-' || %(year)s::text || '-' || lpad(id::text, greatest(6, length(id::text)), '0'),
           service_id, agency_id, village_code, citizen_id, data::json, state, version, sla_due,
           'c' || citizen_id || ':' || k, request_hash, %(now)s, %(now)s, s_demo
    FROM v ORDER BY ord
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id, tracking_number
), ev AS (
    INSERT INTO events (kind, citizen_id, application_id, actor, from_state, to_state, payload, created_at)
    SELECT 'application', v.citizen_id, ins.id, v.actor, step.from_state, step.to_state,
           json_build_object('tracking_number', ins.tracking_number, 'service_id', v.service_id,
                             'version', step.version),
           %(now)s
    FROM ins JOIN v ON v.id = ins.id
    CROSS JOIN LATERAL (VALUES (1, NULL, 'draft', 1), (2, 'draft', 'submitted', 2))
        AS step(n, from_state, to_state, version)
    WHERE step.n = 1 OR v.state = 'submitted'
    ORDER BY v.ord, step.n
)
SELECT l.sid, l.citizen_id, l.live, l.a_id, l.a_tn, l.a_service, l.a_agency, l.a_village, l.a_citizen,
       l.a_state, l.a_version, l.a_data, l.a_sla, l.a_created, l.a_updated, l.a_hash, ins.id, ins.tracking_number
FROM l LEFT JOIN v ON v.ord = l.ord LEFT JOIN ins ON ins.id = v.id
ORDER BY l.ord
"""

Job = Any  # submissions._Job (not imported: submissions imports this module)
Settled = tuple[Job, "applications.Created | None", "BaseException | None"]
_ROW_FIELDS = ("service_id", "agency_id", "village_code", "state", "version", "sla_due", "request_hash")
_Checked = tuple[Service, dict[str, Any]] | ApiError


@dataclass
class Plan:
    """A batch ready to send: who is settled already, who goes alone, and the statement's parameters."""

    settled: list[Settled]
    alone: list[Job]
    sent: list[tuple[Job, _Checked, str, dict[str, Any] | None]]  # job, form check, request hash, new row
    params: dict[str, Any]


def plan(catalog: Catalog, batch: Sequence[Job]) -> Plan:
    """Everything a batch needs from Python before the database: keys, tokens, forms."""
    now = m.now_utc()
    out = Plan([], [], [], {})
    keys: list[str] = []
    hashes: list[str] = []
    seen: set[tuple[str, str]] = set()
    for job in batch:
        try:
            key = applications.check_key(job.key)
            h = sessions.token_hash_of(job.token)
        except ApiError as exc:
            out.settled.append((job, None, exc))
            continue
        if (h, key) in seen:
            out.alone.append(job)  # the same session and key twice in one batch: the second replays the first
            continue
        seen.add((h, key))
        try:
            checked: _Checked = applications.validate_submission(catalog, job.service_id, job.data)
        except ApiError as exc:
            checked = exc  # said only if the key is not a replay (as on the ORM path)
        req_hash = applications.request_hash(job.service_id, job.data, job.submit)
        row = None
        if not isinstance(checked, ApiError):
            row = applications.new_application_row(checked[0], checked[1], job.submit, 0, key, req_hash, now)
        out.sent.append((job, checked, req_hash, row))
        keys.append(key)
        hashes.append(h)
    rows = [r for _, _, _, r in out.sent]
    out.params = {name: [None if r is None else r[name] for r in rows] for name in _ROW_FIELDS}
    out.params["data"] = [None if r is None else json.dumps(r["data"]) for r in rows]
    out.params["hashes"] = hashes
    out.params["keys"] = keys
    out.params["now"] = now
    out.params["year"] = now.astimezone(sessions.WIB).year
    return out


def finish(batch: Plan, found: Sequence[Sequence[Any]]) -> tuple[list[Settled], list[Job]]:
    """Each sent job's fate from its row of the statement's result (committed by then)."""
    settled, alone = batch.settled, batch.alone
    for (job, checked, req_hash, new), row in zip(batch.sent, found, strict=True):
        sid, citizen_id, live = row[0], row[1], row[2]
        try:
            if sid is None:
                raise unauthorized()
            if not live:
                raise unauthorized("token_expired")
            if citizen_id is None:
                alone.append(job)  # identification happens on the ORM path
                continue
            if row[3] is not None:
                stored = applications.AppSnapshot(*row[3:15])
                settled.append((job, applications.replay(stored, row[15], req_hash), None))
                continue
            if isinstance(checked, ApiError):
                raise checked
        except ApiError as exc:
            settled.append((job, None, exc))
            continue
        if row[16] is None or new is None:
            alone.append(job)  # a concurrent request (or another session of the citizen) took the key first
            continue
        app = applications.snapshot(row[16], {**new, "citizen_id": citizen_id})
        app.tracking_number = row[17]
        settled.append((job, applications.Created(app, True, [applications.Wake(citizen_id, None)]), None))
    return settled, alone


def write_batch(raw: Any, catalog: Catalog, batch: Sequence[Job]) -> tuple[list[Settled], list[Job]]:
    """Write and commit ``batch`` on ``raw``, a psycopg connection in autocommit mode.

    Returns the jobs settled (their rows are committed, or they were refused before writing)
    and those to retry alone in transactions of their own. A database error propagates,
    having written nothing: the caller retries every job alone.
    """
    todo = plan(catalog, batch)
    if not todo.sent:
        return todo.settled, todo.alone
    with raw.cursor() as cur:
        cur.execute(_BATCH, todo.params)
        return finish(todo, cur.fetchall())


async def write_batch_async(conn: Any, catalog: Catalog, batch: Sequence[Job]) -> tuple[list[Settled], list[Job]]:
    """:func:`write_batch` on a psycopg ``AsyncConnection``: no thread hand-offs on the way."""
    todo = plan(catalog, batch)
    if not todo.sent:
        return todo.settled, todo.alone
    async with conn.cursor() as cur:
        await cur.execute(_BATCH, todo.params)
        return finish(todo, await cur.fetchall())
