"""CLI commands of the server benchmarks: ``mpp bench api``, ``calls``, ``documents`` and ``presence``."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer, *, bench_app: typer.Typer, eval_app: typer.Typer) -> None:
    @bench_app.command("api")
    def bench_api(
        duration: float = typer.Option(10.0, help="Measured seconds per run (wrk)"),
        concurrency: str = typer.Option("8,16", help="Concurrent HTTP connections; a comma list runs each"),
        requests: int = typer.Option(3000, help="Submissions per run when wrk is missing (httpx fallback)"),
        postgres: str = typer.Option(
            "postgresql://postgres@127.0.0.1:5432/test", help="PostgreSQL URL to include when reachable"
        ),
    ) -> None:
        """Submissions/s and p50/p99 through the real HTTP stack, next to a bare FastAPI insert."""
        from bench.api import run_bench

        try:
            levels = [int(c) for c in concurrency.split(",") if c.strip()]
        except ValueError:
            raise typer.BadParameter(
                "a comma-separated list of integers, e.g. 8,16", param_hint="--concurrency"
            ) from None
        if not levels or min(levels) < 1:
            raise typer.BadParameter("at least one level >= 1", param_hint="--concurrency")
        run_bench(levels, duration, requests, postgres)

    @bench_app.command("documents")
    def bench_documents(count: int = typer.Option(100, min=5, help="Documents per measurement")) -> None:
        """Documents rendered and signed per second (PAdES, pyHanko), next to render-only in the same run."""
        from bench.documents import run

        run(count)

    @bench_app.command("calls")
    def bench_calls(
        calls: int = typer.Option(20, min=1, max=200, help="Concurrent calls signalled"),
        hold: float = typer.Option(10.0, min=1.0, help="Seconds the calls stay up, idle"),
        browsers: bool = typer.Option(True, help="Also time 'Panggil Petugas' -> the officer's face (chromium)"),
    ) -> None:
        """Server CPU per call (signalling only) next to pings, and the time to the officer's face next to the floor."""
        from bench.calls import run

        run(calls, hold, browsers)

    @bench_app.command("edge")
    def bench_edge(
        baseline: Path = typer.Option(
            None, exists=True, file_okay=False, help="Another source tree to attack in the same run (git archive)"
        ),
        scale: float = typer.Option(1.0, min=0.05, max=1.0, help="1.0: 200 flooders, 750 slow sockets, 40 s holds"),
        stock: bool = typer.Option(True, help="Also flood the stock websocket path (MPP_WS_FAST_PATH=0)"),
    ) -> None:
        """Issue 15's transport attacks (tiny-frame flood, slow headers, slow bodies): status, RSS, /health time."""
        from bench.edge import run

        sources = [("this", Path(__file__).resolve().parents[1])]
        if baseline is not None:
            sources.insert(0, ("baseline", baseline.resolve()))
        run(sources, scale, stock)

    @bench_app.command("ws-transport")
    def bench_ws_transport(
        clients: int = typer.Option(1000, min=2, help="Protocol bots"),
        duration: float = typer.Option(10.0, min=1.0, help="Measured seconds per transport"),
    ) -> None:
        """The same presence relay on websockets, uvicorn + server/realtime/fastws.py and picows: CPU and p99."""
        from bench.transports import run

        run(clients, duration)

    @bench_app.command("presence")
    def bench_presence(
        clients: int = typer.Option(200, help="Protocol bots"),
        nodes: int = typer.Option(1, help="Server nodes (over Redis when more than one)"),
        duration: float = typer.Option(10.0, help="Measured seconds"),
        redis_url: str = typer.Option("redis://127.0.0.1:6379/0", help="Redis for several nodes"),
        env_row: list[str] = typer.Option(
            [],
            help="Also run the nodes with these settings, e.g. MPP_PRESENCE_RANK_NEAR=0 (old vs new in one run)",
        ),
        in_process: bool = typer.Option(
            False, help="Bytes per visitor only, on the engine alone: quick, and independent of the machine's load"
        ),
        baseline: Path = typer.Option(
            None,
            exists=True,
            file_okay=False,
            help="Another source tree (e.g. `git archive` of an older commit) whose nodes run first, in the same run",
        ),
    ) -> None:
        """Delivered updates/s, p50/p99, CPU per node and bytes per client, against a bare relay."""
        from bench.presence import run, run_in_process

        try:
            if in_process:
                run_in_process(clients, duration, tuple(env_row))
            else:
                run(clients, nodes, duration, redis_url, tuple(env_row), baseline.resolve() if baseline else None)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--env-row") from None
