"""Runtime configuration, read once from ``MPP_*`` environment variables."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError


class BadEnvironment(ValueError):
    """One line naming the variable and the form it expects (the CLI prints it instead of a traceback)."""


def _list_from_env(value: Any) -> Any:
    """A JSON list, or the friendlier ``a,b,c``."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ValueError("expected a JSON list or comma-separated values") from None
    return [part.strip() for part in text.split(",") if part.strip()]


EnvList = Annotated[list[str], NoDecode, BeforeValidator(_list_from_env)]
EnvPaths = Annotated[list[Path], NoDecode, BeforeValidator(_list_from_env)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MPP_", env_file=".env", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str | None = Field(default=None, description="Default: SQLite at <data_dir>/mpp.db")
    redis_url: str | None = None
    redis_prefix: str = Field(default="mpp:", description="Channel prefix; nodes of one deployment share it")
    host: str = "127.0.0.1"
    port: int = 8765
    submit_threads: int | None = Field(
        default=None, ge=1, le=64, description="PostgreSQL: batches of submissions in flight at once (default 8)"
    )
    gc_freeze: bool = Field(default=False, description="Freeze start-up objects out of the GC (mpp serve sets it)")
    ws_fast_path: bool = Field(
        default=True, description="Frame presence-sized websocket messages outside the websockets library"
    )
    ws_send_buffer: int = Field(
        default=65536, ge=0, description="SO_SNDBUF per websocket in bytes (0: the OS default, up to 4 MiB)"
    )
    gc_young_threshold: int = Field(
        default=50_000, ge=700, description="Young-generation GC threshold once frozen (mpp serve)"
    )
    group_commit: bool = Field(
        default=True, description="Write queued submissions in one transaction (SQLite, PostgreSQL)"
    )
    sqlite_synchronous: Literal["NORMAL", "FULL"] = Field(
        default="NORMAL",
        description=(
            "SQLite (WAL) sync: NORMAL keeps every acknowledged write through a process crash (kill -9) but can lose "
            "the last transactions on a power cut or OS crash; FULL syncs the log at each commit and survives both"
        ),
    )
    db_lock_timeout: float = Field(
        default=30.0, gt=0, description="SQLite: seconds a request waits for the writer before a 503"
    )
    session_ttl_hours: float = 24.0
    officer_session_ttl_hours: float = 12.0
    allowed_origins: EnvList = Field(
        default_factory=lambda: ["http://127.0.0.1:8765", "http://localhost:8765"],
        description="Browser origins allowed on /ws; frames from non-browser clients carry no Origin",
    )
    max_upload_bytes: int = 5 * 1024 * 1024
    max_body_bytes: int = 1024 * 1024
    http_header_timeout: float = Field(
        default=10.0, ge=0, description="Seconds for a request's line and headers to arrive, else 408 (0: off)"
    )
    http_body_timeout: float = Field(
        default=20.0, ge=0, description="Seconds for a request body, plus 1 s per MPP_HTTP_BODY_MIN_RATE bytes (0: off)"
    )
    http_body_min_rate: int = Field(default=500, ge=0, description="Bytes per second that extend the body deadline")
    max_connections_per_ip: int = Field(
        default=100, ge=0, description="Open connections (websockets too) per client address, else 429 (0: off)"
    )
    trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"],
        description="Reverse proxies whose X-Forwarded-For/-Proto are believed; exempt from the per-address cap",
    )
    limit_concurrency: int | None = Field(
        default=4096, ge=1, description="Connections plus tasks per process before uvicorn answers 503"
    )
    ws_rate_per_sec: float = 30.0
    ws_burst: int = 60
    ws_ping_interval: float = 20.0
    presence_tick_hz: float = 10.0
    presence_near_m: float = Field(
        default=4.0, ge=0.0, description="Walkers nearer than this are sent every tick; 0 sends everyone every tick"
    )
    presence_mid_m: float = Field(
        default=8.0, ge=0.0, description="Walkers up to this far are sent every 2nd tick; farther, every 4th"
    )
    presence_rank_near: int = Field(
        default=6,
        ge=0,
        description="The nearest N in view are sent every tick, the next N every 2nd, the rest every 4th "
        "(the slower of this and the distance rate wins); 0 ranks nobody",
    )
    presence_interest_every: int = Field(
        default=2,
        ge=1,
        le=4,
        description="Choose everyone's nearest K afresh every N ticks (a join, leave or hall change always does); "
        "positions and rates are still every tick. 2 saves ~8 ms of CPU every other tick at 1,000 visitors; "
        "someone walking into view shows up at most one tick (100 ms) later",
    )
    presence_publish_lead_ms: float = Field(
        default=20.0,
        ge=0.0,
        le=50.0,
        description="Each node publishes its visitors (with several nodes) and chooses interest this long before "
        "the aligned tick (2 nodes, 1,000 visitors, same run: p99 155/147 ms at 20, 158/163 ms at 40)",
    )
    load_assistant: bool = True
    stun_urls: EnvList = Field(default_factory=list, description="STUN URLs for calls, e.g. stun:turn.example.go.id")
    turn_urls: EnvList = Field(
        default_factory=list, description="TURN URLs for calls, e.g. turn:turn.example.go.id:3478?transport=udp"
    )
    turn_secret: str | None = Field(default=None, description="coturn static-auth-secret (TURN REST credentials)")
    turn_ttl_seconds: int = Field(default=3600, ge=60, le=86400, description="Lifetime of issued TURN credentials")
    turn_only: bool = Field(
        default=False, description="Calls use TURN relays only (iceTransportPolicy relay): no peer sees the other's IP"
    )
    handoff_expire_minutes: float = Field(
        default=20.0,
        gt=0,
        description="A request for an officer nobody takes within this expires (the citizen is told)",
    )
    node_id: str | None = None
    secure_cookies: bool = False
    public_url: str | None = Field(
        default=None, description="Base URL printed in documents' QR codes (default http://<host>:<port>)"
    )
    pki_dir: Path | None = Field(default=None, description="Development key material (default <data_dir>/pki)")
    signing_keys: dict[str, Path] = Field(
        default_factory=dict,
        description='Production: PKCS#12 per signer role, JSON e.g. {"dukcapil": "/etc/mpp/dukcapil.p12", ...}',
    )
    signing_key_password: SecretStr | None = None
    trust_roots: EnvPaths = Field(default_factory=list, description="PEM CA certificates that verify signatures")
    tsa_url: str | None = Field(default=None, description="RFC 3161 timestamp authority; signatures become PAdES B-T")
    verify_rate_per_min: int = Field(default=30, ge=1, description="/verify lookups per client address per minute")
    secret_key: str | None = Field(
        default=None, description="Shared by all nodes: hashes codes, derives receipt PINs, seals personal numbers"
    )
    otp_delivery: str = Field(
        default="console",
        description="console (development only) | smtp | http | smtp+http (email by SMTP, phone by HTTP)",
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "MPP Banyuwangi <no-reply@mpp.banyuwangikab.go.id>"
    smtp_starttls: bool = False
    smtp_tls: bool = False
    otp_http_url: str | None = Field(default=None, description="SMS/WhatsApp gateway endpoint (JSON POST)")
    otp_http_token: str | None = None
    otp_http_channel: str = "sms"
    otp_per_nik: int = Field(default=3, ge=1, description="Codes requested for one NIK per 15 minutes")
    otp_per_client: int = Field(default=10, ge=1, description="Codes requested from one address per 15 minutes")
    otp_fail_per_client: int = Field(default=20, ge=1, description="Wrong codes from one address per 15 minutes")
    log_json: bool = True
    # Retention per data kind (UU 27/2022 PDP), enforced by `mpp data purge` (server/domain/retention.py)
    retention_conversation_days: int = Field(default=90, ge=1, description="The assistant's conversation logs")
    retention_upload_days: int = Field(
        default=365, ge=1, description="Uploads of closed applications (and uploads never attached), after closing"
    )
    retention_auth_days: int = Field(
        default=30, ge=1, description="Sign-in and code attempts, expired codes and sessions (names anonymised)"
    )
    retention_handoff_days: int = Field(
        default=180, ge=1, description="Closed or expired officer handoffs: transcript and summary anonymised"
    )
    retention_audit_days: int = Field(default=1825, ge=1, description="Audit records of officer actions: kept longest")

    @property
    def db_url(self) -> str:
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://") :]
            return url
        return f"sqlite:///{(self.data_dir / 'mpp.db').as_posix()}"

    @property
    def pki_path(self) -> Path:
        return self.pki_dir or self.data_dir / "pki"

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def ws_sources(self) -> str:
        """CSP ``connect-src`` for the websocket: the public URL's own host, never the request's Host header."""
        netloc = urlsplit(self.base_url).netloc
        return f"ws://{netloc} wss://{netloc}"

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")


_HINTS = {
    "allowed_origins": "a JSON list or comma-separated origins, e.g. https://mpp.example.go.id,https://b.example",
    "stun_urls": "a JSON list or comma-separated URLs, e.g. stun:turn.example.go.id",
    "turn_urls": "a JSON list or comma-separated URLs, e.g. turn:turn.example.go.id:3478?transport=udp",
    "trust_roots": "a JSON list or comma-separated paths of PEM files",
    "signing_keys": 'a JSON object, e.g. {"dukcapil": "/etc/mpp/dukcapil.p12"}',
}


def load_settings() -> Settings:
    """Settings from the environment; a bad value raises ``BadEnvironment`` with one line."""
    try:
        return Settings()
    except SettingsError as exc:
        found = re.search(r'field "(\w+)"', str(exc))
        field = found.group(1) if found else "?"
        raise BadEnvironment(_bad_line(field, None)) from None
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        raise BadEnvironment(_bad_line(field, err)) from None


def _bad_line(field: str, err: Any) -> str:
    name = f"MPP_{field.upper()}"
    hint = _HINTS.get(field)
    problem = f"expected {hint}" if hint else (err["msg"] if err else "not a valid value")
    got = f" (got {str(err['input'])[:60]!r})" if err and isinstance(err.get("input"), str) else ""
    return f"{name}: {problem}{got}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
