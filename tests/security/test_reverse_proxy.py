"""deploy/nginx/mpp.conf, run for real: Debian's nginx in front of ``mpp serve``, TLS on loopback.

Only the lines the file marks "test:" are rewritten (ports, certificate paths); every timeout,
cap and header is the shipped one.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from websockets.exceptions import InvalidMessage, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.conftest import free_port, need, port_open, start_mpp_serve

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "deploy" / "nginx" / "mpp.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _certificate(tmp: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the test's own trust root)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mpp.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _rewrite(text: str, marker: str, new_line: str) -> str:
    lines = [line for line in text.splitlines() if f"# test: {marker}" in line]
    assert len(lines) == 1, f"deploy/nginx/mpp.conf lost its '# test: {marker}' line"
    indent = lines[0][: len(lines[0]) - len(lines[0].lstrip())]
    return text.replace(lines[0], indent + new_line)


@dataclass
class Proxied:
    app: int
    http: int
    https: int
    ssl: ssl.SSLContext


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    need(Path(NGINX).exists(), "nginx is not installed (apt-get install nginx)")
    tmp = tmp_path_factory.mktemp("nginx")
    app_port, http_port, https_port = free_port(), free_port(), free_port()
    app = start_mpp_serve(tmp, app_port, MPP_VERIFY_RATE_PER_MIN="3")
    cert, key = _certificate(tmp)
    site = CONF.read_text()
    site = _rewrite(site, "the app's port", f"server 127.0.0.1:{app_port};")
    site = _rewrite(site, "http address", f"listen 127.0.0.1:{http_port};")
    site = _rewrite(site, "https address", f"listen 127.0.0.1:{https_port} ssl http2;")
    site = _rewrite(site, "certificate", f"ssl_certificate {cert};")
    site = _rewrite(site, "key", f"ssl_certificate_key {key};")
    (tmp / "mpp.conf").write_text(site)
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "logs"):
        (tmp / d).mkdir()
    (tmp / "nginx.conf").write_text(
        f"""daemon off;
user root;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/mpp.conf;
}}
"""
    )
    check = subprocess.run([NGINX, "-t", "-p", str(tmp), "-c", str(tmp / "nginx.conf")], capture_output=True)
    assert check.returncode == 0, check.stderr.decode()
    nginx = subprocess.Popen(
        [NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 10
        while not (port_open("127.0.0.1", https_port) and port_open("127.0.0.1", http_port)):
            assert nginx.poll() is None and time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.1)
        context = ssl.create_default_context(cafile=str(cert))
        yield Proxied(app_port, http_port, https_port, context)
    finally:
        nginx.terminate()
        try:
            nginx.wait(5)
        except subprocess.TimeoutExpired:
            nginx.kill()
        app.kill()
        app.wait(10)


def _client(p: Proxied, source: str = "127.0.0.1") -> httpx.Client:
    transport = httpx.HTTPTransport(verify=p.ssl, local_address=source)
    return httpx.Client(transport=transport, base_url=f"https://127.0.0.1:{p.https}", timeout=10)


def test_tls_serves_the_api_and_plain_http_redirects(proxied: Proxied) -> None:
    with _client(proxied) as c:
        r = c.get("/api/v1/health")
        assert r.status_code == 200 and r.json()["status"] == "ok"
        assert r.extensions["http_version"] in (b"HTTP/1.1", b"HTTP/2")
    r = httpx.get(f"http://127.0.0.1:{proxied.http}/api/v1/health", follow_redirects=False)
    assert r.status_code == 301
    assert r.headers["location"].startswith("https://127.0.0.1/api/v1/health")


def test_the_websocket_is_upgraded_through_tls(proxied: Proxied) -> None:
    token = httpx.post(f"http://127.0.0.1:{proxied.app}/api/v1/sessions", json={}).json()["token"]
    with connect(f"wss://127.0.0.1:{proxied.https}/ws", ssl=proxied.ssl, open_timeout=10) as ws:
        ws.send(json.dumps({"type": "hello", "token": token, "protocol_version": 2, "last_seq": 0}))
        assert json.loads(ws.recv(timeout=10))["type"] == "welcome"
        ws.send(json.dumps({"type": "ping", "nonce": 7}))
        frame = json.loads(ws.recv(timeout=10))
        while frame["type"] != "pong":
            frame = json.loads(ws.recv(timeout=10))
        assert frame == {"type": "pong", "nonce": 7}


def test_the_app_rate_limits_the_real_client_address(proxied: Proxied) -> None:
    """MPP_VERIFY_RATE_PER_MIN=3 per address: 127.0.0.2 runs out, 127.0.0.3 behind the same proxy does not."""
    with _client(proxied, "127.0.0.2") as c:
        codes = [c.get("/api/v1/verify/NOPE-0000").status_code for _ in range(4)]
    assert codes[-1] == 429 and 429 not in codes[:3], codes
    with _client(proxied, "127.0.0.3") as c:
        assert c.get("/api/v1/verify/NOPE-0000").status_code != 429


def test_a_request_flood_from_one_address_gets_429_from_the_proxy(proxied: Proxied) -> None:
    with _client(proxied, "127.0.0.5") as c:
        codes = [c.get("/api/v1/health").status_code for _ in range(150)]
    assert codes[0] == 200 and codes.count(429) > 0, codes


@pytest.mark.slow
def test_slow_headers_are_cut_by_the_proxy(proxied: Proxied) -> None:
    """One header byte every 2 s: nginx's client_header_timeout (10 s) closes it; before, 60 s and more."""
    raw = socket.create_connection(("127.0.0.1", proxied.https), timeout=30)
    sock = proxied.ssl.wrap_socket(raw, server_hostname="127.0.0.1")
    start = time.monotonic()
    request = b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 40
    closed = None
    sock.settimeout(2)
    try:
        for i in range(len(request)):
            sock.sendall(request[i : i + 1])
            try:
                data = sock.recv(4096)
            except TimeoutError:
                continue
            closed = time.monotonic() - start
            assert data == b"" or data.startswith(b"HTTP/1.1 408"), data[:60]
            break
    except (ConnectionError, ssl.SSLError):
        closed = time.monotonic() - start
    finally:
        sock.close()
    assert closed is not None and 9 <= closed <= 16, closed


@pytest.mark.slow
def test_one_address_holds_at_most_64_websockets(proxied: Proxied) -> None:
    tokens = [httpx.post(f"http://127.0.0.1:{proxied.app}/api/v1/sessions", json={}).json()["token"] for _ in range(65)]

    def open_ws(token: str) -> ClientConnection:
        uri = f"wss://127.0.0.1:{proxied.https}/ws"
        for attempt in (1, 2):  # a full run once saw one of 64 handshakes end without a response: retried once
            raw = socket.create_connection(("127.0.0.1", proxied.https), source_address=("127.0.0.4", 0))
            try:
                ws = connect(uri, sock=raw, ssl=proxied.ssl, server_hostname="127.0.0.1", open_timeout=20)
                break
            except InvalidMessage:
                raw.close()
                if attempt == 2:
                    raise
        ws.send(json.dumps({"type": "hello", "token": token, "protocol_version": 2, "last_seq": 0}))
        assert json.loads(ws.recv(timeout=20))["type"] == "welcome"  # held open past the hello timeout
        return ws

    with ThreadPoolExecutor(8) as pool:
        sockets = list(pool.map(open_ws, tokens[:64]))
    try:
        with pytest.raises(InvalidStatus) as refused:
            open_ws(tokens[64])
        assert refused.value.response.status_code == 429
        with _client(proxied, "127.0.0.6") as c:  # another address is served meanwhile
            assert c.get("/api/v1/health").status_code == 200
    finally:
        for ws in sockets:
            ws.close()
