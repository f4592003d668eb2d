"""A delivery sink for tests: records each code so a test can go through the second factor for real."""

from __future__ import annotations

import threading
from typing import Any

from server.domain.delivery import CodeMessage


class RecordingDelivery:
    """Implements ``server.domain.delivery.CodeDelivery``; nothing in the server knows it is a test."""

    def __init__(self) -> None:
        self.sent: list[CodeMessage] = []
        self._lock = threading.Lock()

    async def send(self, message: CodeMessage) -> None:
        with self._lock:
            self.sent.append(message)

    def code_for(self, challenge_id: str) -> str | None:
        with self._lock:
            for msg in reversed(self.sent):
                if msg.reference == challenge_id:
                    return msg.code
        return None

    def wait_for(self, challenge_id: str, timeout: float = 10.0) -> str:
        """For a live server: the code is sent after the response, so it may arrive a moment later."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.code_for(challenge_id)
            if code is not None:
                return code
            time.sleep(0.02)
        raise AssertionError(f"no code for challenge {challenge_id}")

    def to(self, contact: str) -> list[CodeMessage]:
        with self._lock:
            return [msg for msg in self.sent if msg.contact.value == contact]


def app_state(client: Any) -> Any:
    """``client.app.state`` for a TestClient (its ``app`` is typed as a bare ASGI callable)."""
    return client.app.state


def sink(client: Any) -> RecordingDelivery:
    """The app's recording sink; an app built with the default delivery gets one installed (test-side only)."""
    state = app_state(client)
    if not isinstance(state.delivery, RecordingDelivery):
        state.delivery = state.port.delivery = RecordingDelivery()
    delivery: RecordingDelivery = state.delivery
    return delivery


def prove(client: Any, headers: dict[str, str], nik: str, name: str, contact: str | None = None) -> dict[str, Any]:
    """Both steps of the second factor through the public API; returns the verify reply."""
    body: dict[str, Any] = {"nik": nik, "name": name}
    if contact is not None:
        body["contact"] = contact
    sink(client)
    r = client.post("/api/v1/sessions/identify", json=body, headers=headers)
    assert r.status_code == 202, r.text
    challenge = r.json()["challenge_id"]
    code = sink(client).code_for(challenge)
    assert code is not None, "no code was delivered (unknown NIK without a contact, or a wrong name)"
    r = client.post("/api/v1/sessions/verify", json={"challenge_id": challenge, "code": code}, headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


class SmtpInbox:
    """A real SMTP server (aiosmtpd) on a free local port; keeps every received mail."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        from tests.conftest import free_port

        self.mails: list[tuple[list[str], str]] = []
        self._lock = threading.Lock()
        self.port = free_port()
        inbox = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                import email

                msg = email.message_from_bytes(envelope.content)
                body = msg.get_payload(decode=True)
                text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
                with inbox._lock:
                    inbox.mails.append((list(envelope.rcpt_tos), text))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpInbox:
        self.controller.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.controller.stop()

    def env(self) -> dict[str, str]:
        """Settings for an ``mpp serve`` child that mails its codes here."""
        return {"MPP_OTP_DELIVERY": "smtp", "MPP_SMTP_HOST": "127.0.0.1", "MPP_SMTP_PORT": str(self.port)}

    def code_for(self, address: str, timeout: float = 10.0, after: int = 0) -> str:
        """The 6-digit code in the newest mail to ``address`` (waits for it to arrive)."""
        import re
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                mine = [body for rcpts, body in self.mails[after:] if address in rcpts]
            if mine:
                found = re.search(r"\b(\d{6})\b", mine[-1])
                assert found, mine[-1]
                return found.group(1)
            time.sleep(0.05)
        raise AssertionError(f"no mail to {address} within {timeout}s")


def newest_code(inbox: SmtpInbox, after: int, timeout: float = 10.0) -> str:
    """The code in the first mail received after index ``after``, whoever it went to."""
    import re
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with inbox._lock:
            fresh = [body for _rcpts, body in inbox.mails[after:]]
        if fresh:
            found = re.search(r"\b(\d{6})\b", fresh[0])
            assert found, fresh[0]
            return found.group(1)
        time.sleep(0.05)
    raise AssertionError(f"no mail within {timeout}s")


def prove_http(base: str, headers: dict[str, str], nik: str, name: str, inbox: SmtpInbox, contact: str) -> None:
    """The second factor against a real server whose codes are mailed to ``inbox``."""
    import httpx

    start = len(inbox.mails)
    r = httpx.post(f"{base}/sessions/identify", json={"nik": nik, "name": name, "contact": contact}, headers=headers)
    assert r.status_code == 202, r.text
    code = inbox.code_for(contact, after=start)
    r = httpx.post(
        f"{base}/sessions/verify", json={"challenge_id": r.json()["challenge_id"], "code": code}, headers=headers
    )
    assert r.status_code == 200, r.text


_shared: SmtpInbox | None = None


def shared_inbox() -> SmtpInbox:
    """One SMTP inbox per test process: every ``mpp serve`` child started by the tests mails codes here."""
    global _shared
    if _shared is None:
        _shared = SmtpInbox().__enter__()
    return _shared


def prove_in_page(page: Any, nik: str, name: str, contact: str | None = None) -> None:
    """The 2D page's identity card, both steps; the code is read from the mail the server sent."""
    contact = contact or f"warga{nik[-6:]}@example.com"
    before = len(shared_inbox().mails)
    page.fill("#id-nik", nik)
    page.fill("#id-name", name)
    page.fill("#id-contact", contact)
    page.click("#identify-form button[type=submit]")
    page.locator("#code-form").wait_for()
    assert page.locator("#id-code").get_attribute("autocomplete") == "one-time-code"
    page.fill("#id-code", shared_inbox().code_for(contact, after=before))
    page.click("#code-form button[type=submit]")
    page.locator("#identified").wait_for()
