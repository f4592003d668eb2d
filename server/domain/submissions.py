"""Group commit for submissions (SQLite and PostgreSQL).

SQLite has one writer. Instead of every request taking the writer lock, beginning,
committing and handing a thread back, one writer thread takes whatever submissions
have queued up while it was busy and writes them in one transaction: one BEGIN, one
COMMIT and one thread wake-up for the whole batch. A request is answered only after
the commit that holds its rows, so an acknowledged submission is durable.

On PostgreSQL the cost is round trips and WAL flushes rather than a lock: a few batches
run at once on the event loop itself (psycopg's async connections, no thread hand-offs),
each written by :mod:`server.domain.pgsubmit` in one statement instead of job by job; batches in
flight together share the server's WAL flushes.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from protocol.catalog import Catalog
from server.domain import applications, litesubmit, pgsubmit
from server.domain import sessions as visitor_sessions

log = logging.getLogger(__name__)

Outcome = tuple[dict[str, Any], applications.Created]


@dataclass(slots=True)
class _Job:
    token: visitor_sessions.SessionKey
    service_id: str
    data: Any
    key: str
    submit: bool
    loop: asyncio.AbstractEventLoop | None
    future: asyncio.Future[Outcome] | None


def write_one(db: Session, catalog: Catalog, job: _Job) -> Outcome:
    vs = visitor_sessions.session_for_submission(db, job.token)
    result = applications.create_application(db, vs, catalog, job.service_id, job.data, job.key, job.submit)
    return applications.application_dict(result.application), result


def submit_alone(
    sessions: sessionmaker[Session],
    catalog: Catalog,
    token: visitor_sessions.SessionKey,
    service_id: str,
    data: Any,
    key: str,
    submit: bool,
) -> Outcome:
    """One submission in a transaction of its own (PostgreSQL, or a job taken out of a failed batch)."""
    job = _Job(token, service_id, data, key, submit, None, None)
    with sessions() as db:
        outcome = write_one(db, catalog, job)
        db.commit()
    return outcome


class SubmissionWriter:
    def __init__(self, sessions: sessionmaker[Session], catalog: Catalog, max_batch: int = 64) -> None:
        self.sessions = sessions
        self.catalog = catalog
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches = 0
        self.jobs = 0

    async def submit(
        self, token: visitor_sessions.SessionKey, service_id: str, data: Any, key: str, submit: bool
    ) -> Outcome:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        self._ensure_thread()
        self._queue.put(_Job(token, service_id, data, key, submit, loop, future))
        return await future

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="mpp-submissions", daemon=True)
                self._thread.start()

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            batch = [job]
            while len(batch) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                batch.append(more)
            try:
                self._write(batch)
            except Exception as exc:
                log.exception("submission batch failed")
                for j in batch:
                    _settle(j, None, exc)

    def _write(self, batch: list[_Job]) -> None:
        self.batches += 1
        self.jobs += len(batch)
        done: list[tuple[_Job, Outcome | None, BaseException | None]] = []
        alone: list[_Job] = list(batch)
        with self.sessions() as db:
            try:
                settled, alone = litesubmit.write_batch(db, self.catalog, batch)
                db.commit()
            except Exception:  # noqa: BLE001 - isolate the job that broke the batch
                db.rollback()
                alone = list(batch)  # nothing was kept, even if the batch itself ran (a failed COMMIT)
            else:
                done = [
                    (job, None if made is None else (applications.application_dict(made.application), made), error)
                    for job, made, error in settled
                ]
        _settle_all(done)
        if alone:
            _settle_all([self._alone(job) for job in alone])

    def _alone(self, job: _Job) -> tuple[_Job, Outcome | None, BaseException | None]:
        try:
            outcome = submit_alone(
                self.sessions, self.catalog, job.token, job.service_id, job.data, job.key, job.submit
            )
            return job, outcome, None
        except Exception as exc:  # noqa: BLE001 - handed to the request, which maps it to 4xx/503
            return job, None, exc


# The batch statement takes ~2 ms to plan, more than it takes to run for a few jobs, and with the
# default plan_cache_mode PostgreSQL re-plans it on every run (a custom plan for arrays of unknown
# length always looks cheaper). So psycopg prepares it on each connection from its first use and the
# generic plan is kept. That plan may be made on an empty table, where a sequential scan looks best
# and, kept, would grow with the table (measured: 1.3 -> 5.5 ms of server CPU per submission within
# 6,000 submissions); every lookup in the statement is by a unique index, so sequential scans are off.
_PLAN_ONCE = "-c plan_cache_mode=force_generic_plan -c enable_seqscan=off"


class PgSubmissionWriter:
    """Group commit on PostgreSQL: ``connections`` batches in flight, each one statement."""

    def __init__(
        self, sessions: sessionmaker[Session], catalog: Catalog, connections: int = 8, max_batch: int = 64
    ) -> None:
        self.sessions = sessions
        self.catalog = catalog
        self.connections = connections
        self.max_batch = max_batch
        url = sessions.kw["bind"].url
        self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._queue: asyncio.Queue[_Job] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.batches = 0
        self.jobs = 0

    async def submit(
        self, token: visitor_sessions.SessionKey, service_id: str, data: Any, key: str, submit: bool
    ) -> Outcome:
        loop = asyncio.get_running_loop()
        if self._queue is None or self._loop is not loop:
            self._start(loop)
        assert self._queue is not None
        future: asyncio.Future[Outcome] = loop.create_future()
        self._queue.put_nowait(_Job(token, service_id, data, key, submit, loop, future))
        return await future

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue = asyncio.Queue()
        self._workers = [loop.create_task(self._work(self._queue)) for _ in range(self.connections)]

    async def _work(self, jobs: asyncio.Queue[_Job]) -> None:
        conn: Any = None
        try:
            while True:
                batch = [await jobs.get()]
                while len(batch) < self.max_batch and not jobs.empty():
                    batch.append(jobs.get_nowait())
                try:
                    conn = await self._write(batch, conn)
                except Exception as exc:
                    log.exception("submission batch failed")
                    for j in batch:
                        _settle(j, None, exc)
        finally:
            if conn is not None:
                await conn.close()

    async def _write(self, batch: list[_Job], conn: Any = None) -> Any:
        """Write one batch on ``conn`` (connected if need be); returns the connection to keep."""
        import psycopg

        self.batches += 1
        self.jobs += len(batch)
        try:
            if conn is None or conn.closed:
                conn = await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True, prepare_threshold=0, options=_PLAN_ONCE
                )
            settled, alone = await pgsubmit.write_batch_async(conn, self.catalog, batch)
        except Exception:  # a broken job or a lost connection: nothing was written, each job again, alone
            log.warning("submission batch of %d failed; retrying its jobs alone", len(batch), exc_info=True)
            if conn is not None:
                await conn.close()
            conn = None
            settled, alone = [], list(batch)
        _settle_all(
            [
                (job, None if created is None else (applications.application_dict(created.application), created), error)
                for job, created, error in settled
            ]
        )
        if alone:
            await asyncio.gather(*(self._alone(job) for job in alone))
        return conn

    async def _alone(self, job: _Job) -> None:
        try:
            outcome = await asyncio.to_thread(
                submit_alone, self.sessions, self.catalog, job.token, job.service_id, job.data, job.key, job.submit
            )
        except Exception as exc:  # noqa: BLE001 - handed to the request, which maps it to 4xx/503
            _settle(job, None, exc)
        else:
            _settle(job, outcome, None)

    async def aclose(self) -> None:
        """Stop the batch tasks (they close their connections); queued jobs were answered or are dropped."""
        for task in self._workers:
            task.cancel()
        if self._loop is asyncio.get_running_loop():
            await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        self._queue = None

    def close(self) -> None:
        for task in self._workers:
            task.cancel()


def _settle(job: _Job, outcome: Outcome | None, error: BaseException | None) -> None:
    _settle_all([(job, outcome, error)])


def _apply(done: list[tuple[_Job, Outcome | None, BaseException | None]]) -> None:
    for job, outcome, error in done:
        future = job.future
        if future is None or future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            assert outcome is not None
            future.set_result(outcome)


def _settle_all(done: list[tuple[_Job, Outcome | None, BaseException | None]]) -> None:
    """Answer a batch's requests with one hand-off per event loop.

    ``call_soon_threadsafe`` writes to the loop's wake-up socket: once per job it was a
    syscall and a GIL hand-over per submission. On the loop's own thread (PostgreSQL) the
    futures are set directly.
    """
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, Outcome | None, BaseException | None]]] = {}
    for item in done:
        loop = item[0].loop
        if loop is not None and item[0].future is not None:
            by_loop.setdefault(loop, []).append(item)
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    for loop, items in by_loop.items():
        if loop is running:
            _apply(items)
            continue
        try:
            loop.call_soon_threadsafe(_apply, items)
        except RuntimeError:  # the loop is gone (shutdown): nobody is waiting any more
            pass
