"""How a one-time code reaches a citizen: an interface and its real implementations.

- :class:`SmtpDelivery` sends e-mail through ``aiosmtplib`` to the configured server.
- :class:`HttpGatewayDelivery` POSTs to an SMS/WhatsApp provider's HTTP gateway. The request is
  ``POST <MPP_OTP_HTTP_URL>`` with ``Authorization: Bearer <MPP_OTP_HTTP_TOKEN>`` and the JSON body
  ``{"to": "+6281234567890", "channel": "sms"|"whatsapp", "text": "...", "reference": "<challenge>"}``;
  any 2xx is success. Most Indonesian gateways accept this shape or a thin proxy in front of them.
- :class:`ConsoleDelivery` logs the code, for development only; it says so loudly.
- :class:`RoutedDelivery` picks one of the above per contact kind (email / phone).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

import httpx

from l10n import t
from server.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Contact:
    kind: str  # "email" | "phone"
    value: str


@dataclass(frozen=True)
class CodeMessage:
    contact: Contact
    code: str
    lang: str
    reference: str

    def text(self) -> str:
        return t("api.code_message", self.lang, code=self.code)

    def subject(self) -> str:
        return t("api.code_subject", self.lang)


class DeliveryError(Exception):
    """The code could not be handed to the channel (logged; the citizen may ask again)."""


class CodeDelivery(Protocol):
    async def send(self, message: CodeMessage) -> None: ...


class SmtpDelivery:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, message: CodeMessage) -> None:
        import aiosmtplib

        s = self.settings
        mail = EmailMessage()
        mail["From"] = s.smtp_from
        mail["To"] = message.contact.value
        mail["Subject"] = message.subject()
        mail.set_content(message.text())
        try:
            await aiosmtplib.send(
                mail,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_user,
                password=s.smtp_password,
                start_tls=s.smtp_starttls,
                use_tls=s.smtp_tls,
                timeout=15,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"smtp: {exc.__class__.__name__}") from exc


def e164(phone: str) -> str:
    """08123… / 628123… / +628123… -> +628123…"""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    return "+" + digits


class HttpGatewayDelivery:
    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not settings.otp_http_url:
            raise ValueError("MPP_OTP_HTTP_URL is required for the HTTP gateway delivery")
        self.url = settings.otp_http_url
        self.token = settings.otp_http_token
        self.channel = settings.otp_http_channel
        self.transport = transport

    async def send(self, message: CodeMessage) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        body = {
            "to": e164(message.contact.value),
            "channel": self.channel,
            "text": message.text(),
            "reference": message.reference,
        }
        try:
            async with httpx.AsyncClient(timeout=15, transport=self.transport) as client:
                r = await client.post(self.url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"gateway: {exc.__class__.__name__}") from exc
        if not 200 <= r.status_code < 300:
            raise DeliveryError(f"gateway answered {r.status_code}")


class ConsoleDelivery:
    """Development only: the code goes to the server log. Never use this in production."""

    def __init__(self) -> None:
        log.warning(
            "OTP delivery is the DEVELOPMENT console sink: codes are written to this log. "
            "NOT FOR PRODUCTION - set MPP_OTP_DELIVERY=smtp or http."
        )

    async def send(self, message: CodeMessage) -> None:
        log.warning(
            "DEVELOPMENT ONLY (not for production): code %s for %s %s",
            message.code,
            message.contact.kind,
            message.contact.value,
        )


class RoutedDelivery:
    """E-mail to one channel, phone numbers to another."""

    def __init__(self, email: CodeDelivery | None, phone: CodeDelivery | None) -> None:
        self.email = email
        self.phone = phone

    async def send(self, message: CodeMessage) -> None:
        target = self.email if message.contact.kind == "email" else self.phone
        if target is None:
            raise DeliveryError(f"no delivery configured for {message.contact.kind}")
        await target.send(message)


async def deliver(delivery: CodeDelivery, message: CodeMessage) -> None:
    """Send and log a failure; runs after the response, whose timing must not tell a sent code from a withheld one."""
    try:
        await delivery.send(message)
    except DeliveryError as exc:
        log.error("code delivery failed: %s", exc)


def delivery_from_settings(settings: Settings) -> CodeDelivery:
    kinds = {k.strip() for k in settings.otp_delivery.split("+") if k.strip()}
    unknown = kinds - {"console", "smtp", "http"}
    if unknown or not kinds:
        raise ValueError(f"MPP_OTP_DELIVERY: expected console, smtp, http or smtp+http, got {settings.otp_delivery!r}")
    if kinds == {"console"}:
        return ConsoleDelivery()
    smtp = SmtpDelivery(settings) if "smtp" in kinds else None
    http = HttpGatewayDelivery(settings) if "http" in kinds else None
    return RoutedDelivery(smtp or http, http or smtp)
