"""Email delivery of published editions: ``brief send`` and ``brief batch --send``.

Each edition goes to each recipient as its own message (multipart: a text and an HTML body
with the masthead, the bottom line, what changed and, with a ``base_url``, a link; the PDF
attached; the subject names the brief and its edition). Sending is idempotent: the
delivery ledger (:mod:`helpers.pipeline.deliveries`) records every message a server
accepted or refused for good, and an edition already recorded for a reader is not sent again
unless ``again``. ``dry_run`` writes the ``.eml`` files and sends nothing.

The server: STARTTLS whenever it offers it, and required for any host that is not loopback
unless ``insecure``; a login with the configured user and the password from
``$BRIEF_SMTP_PASSWORD`` (:data:`PASSWORD_ENV`), never from a command line and never logged.
Faults end as :mod:`helpers.errors` says: a server that cannot be reached (or that goes
away) raises :class:`~helpers.errors.MailServerError` (exit 69) with nothing recorded for
the message in flight; a temporary refusal (4xx) is retried :data:`RETRIES` times with
growing pauses, then reported for that recipient, unrecorded, so the next send tries again;
a permanent refusal (5xx) is reported and recorded. :class:`SendReport` says what became of
each message, and its ``exit_code`` is 7 (:class:`~helpers.errors.DeliveryError`) when a
recipient was not reached.
"""

from __future__ import annotations

import html as html_lib
import ipaddress
import json
import logging
import os
import smtplib
import ssl
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from urllib.parse import quote, urljoin

from helpers.errors import DeliveryError, MailServerError, UsageError
from helpers.pipeline.deliveries import DELIVERIES_DIR, Ledger
from helpers.pipeline.feeds import Edition, edition_summary
from helpers.pipeline.manifest import files_match
from helpers.pipeline.publish import check_no_links, locked, write_atomic

__all__ = [
    "PASSWORD_ENV",
    "RETRIES",
    "Delivery",
    "SendReport",
    "Server",
    "compose",
    "editions_of",
    "is_loopback",
    "recipients_for",
    "send_editions",
]

log = logging.getLogger(__name__)

#: The only place the SMTP password is read from.
PASSWORD_ENV = "BRIEF_SMTP_PASSWORD"
#: Retries of a temporary refusal (4xx) per message, after the first attempt.
RETRIES = 3
#: The first pause before a retry, in seconds; each next one doubles.
BACKOFF = 2.0
_NAMESPACE = uuid.UUID("0c7b8f0a-3f5e-4a51-b1f4-2f6d8e9a7c13")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine: ``localhost`` or a loopback address."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Server:
    """Where and how to send.

    Attributes
    ----------
    host, port
        The SMTP server (``--smtp HOST:PORT``).
    user
        Log in as this user (``smtp_user``); the password is :data:`PASSWORD_ENV`'s.
    insecure
        Allow a server that is not loopback and offers no STARTTLS (``--insecure-smtp``).
    ssl_context
        For STARTTLS; default: the system's trusted certificates, host names checked.
    retries, backoff
        Retries of a 4xx and the first pause (doubling), see :data:`RETRIES`.
    """

    host: str
    port: int = 25
    user: str | None = None
    insecure: bool = False
    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = None
    retries: int = RETRIES
    backoff: float = BACKOFF

    @classmethod
    def parse(cls, text: str, **fields) -> Server:
        """``HOST:PORT`` or ``HOST`` (port 25); ``[::1]:2525`` for IPv6.

        Raises
        ------
        UsageError
            For an empty host or a port that is not a number from 1 to 65535.
        """
        host, sep, port = str(text).strip().rpartition(":")
        if not sep or "]" in port:
            host, port = str(text).strip(), "25"
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise UsageError(f"SMTP server {text!r}: expected HOST:PORT, e.g. mail.example.org:587")
        return cls(host=host.strip("[]"), port=int(port), **fields)

    @property
    def label(self) -> str:
        """``host:port``, as messages name the server."""
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Delivery:
    """What became of one edition for one recipient.

    ``status``: ``sent``, ``already sent``, ``nothing new`` (``only_changed``), ``written``
    (``dry_run``: the ``.eml`` file is ``path``), ``deferred`` (4xx after the retries) or
    ``refused`` (5xx).
    """

    edition: Edition
    recipient: str
    status: str
    message_id: str = ""
    detail: str = ""
    path: Path | None = None

    @property
    def failed(self) -> bool:
        """Whether the recipient was not reached."""
        return self.status in ("deferred", "refused")

    @property
    def text(self) -> str:
        """``brief/default to ana@example.org: sent (<...@example.org>)``."""
        what = f"{self.edition.notebook}/{self.edition.run} to {self.recipient}: {self.status}"
        extra = self.detail or (str(self.path) if self.path else self.message_id)
        return f"{what} ({extra})" if extra else what


@dataclass
class SendReport:
    """Every :class:`Delivery` of a send, in order."""

    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0, or 7 when a recipient was not reached (:class:`~helpers.errors.DeliveryError`)."""
        return DeliveryError.exit_code if any(d.failed for d in self.deliveries) else 0

    def summary(self) -> str:
        """A line per message, then the counts."""
        counts: dict[str, int] = {}
        for d in self.deliveries:
            counts[d.status] = counts.get(d.status, 0) + 1
        lines = [d.text for d in self.deliveries]
        totals = ", ".join(f"{n} {status}" for status, n in counts.items()) or "nothing to send"
        return "\n".join([*lines, f"{len(self.deliveries)} message(s): {totals}"])


# -- what to send ------------------------------------------------------------------------------


def editions_of(runs: Sequence[Path | str]) -> tuple[Path, list[tuple[Edition, Path | None]]]:
    """The output folder and the published edition of each run folder (or its manifest).

    Returns the output folder (one for all) and each edition with its PDF, if it has one.

    Raises
    ------
    UsageError
        A run that is not a published run folder, whose files do not match its manifest,
        or runs from different output folders.
    """
    found: list[tuple[Edition, Path | None]] = []
    outs: set[Path] = set()
    for given in runs:
        folder = Path(given)
        folder = folder.parent if folder.name == "manifest.json" else folder
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"{given}: not a published run folder ({exc})") from None
        if not files_match(folder, manifest):
            raise UsageError(f"{given}: its files do not match its manifest; not sending it")
        out = folder.absolute().parent.parent
        outs.add(out)
        base = f"{folder.parent.name}/{folder.name}"
        href = {Path(n).suffix.lstrip("."): f"{base}/{n}" for n in manifest.get("outputs", {})}
        row = {"notebook": folder.parent.name, "run": folder.name, "manifest": manifest}
        edition = edition_summary(out, {**row, "href": href})
        pdf = out / edition.files["pdf"] if "pdf" in edition.files else None
        found.append((edition, pdf))
    if len(outs) > 1:
        raise UsageError("send runs of one output folder at a time: " + ", ".join(map(str, outs)))
    return (outs.pop() if outs else Path(".")), found


def recipients_for(
    edition: Edition, given: Iterable[str], configured: Mapping[str, Sequence[str]]
) -> list[str]:
    """The addresses an edition goes to: ``given`` (``--to``, a plan's ``deliver:``) if any,
    else the project file's ``recipients`` of its series (as the index names it:
    ``brief: partner = China``) and of its notebook (``brief``); without repeats."""
    chosen = list(given) or [
        *configured.get(edition.series_title, ()),
        *configured.get(edition.notebook, ()),
    ]
    return list(dict.fromkeys(chosen))


def compose(
    edition: Edition,
    pdf: Path | None,
    *,
    sender: str,
    recipient: str,
    message_id: str,
    base_url: str | None = None,
) -> EmailMessage:
    """The message for one reader: text and HTML bodies, the PDF attached."""
    link = None
    if base_url and edition.files:
        target = edition.files.get("html") or edition.files["pdf"]
        link = urljoin(base_url if base_url.endswith("/") else base_url + "/", quote(target))
    message = EmailMessage()
    message["Subject"] = edition.headline
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id
    text = [edition.title, f"Edition of {edition.headline.rsplit('edition of ', 1)[-1]}", ""]
    text += ["Bottom line", edition.bottom_line or "(see the brief)", ""]
    text += ["What changed", edition.since or "(not recorded for this brief)", ""]
    text += [f"Read it online: {link}"] if link else []
    text += ["The brief is attached as a PDF."] if pdf else []
    message.set_content("\n".join(text) + "\n")
    message.add_alternative(_html_body(edition, link, pdf is not None), subtype="html")
    if pdf is not None:
        message.add_attachment(
            pdf.read_bytes(), maintype="application", subtype="pdf", filename=pdf.name
        )
    return message


def _html_body(edition: Edition, link: str | None, attached: bool) -> str:
    e = html_lib.escape
    parts = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(edition.headline)}</title></head><body><main>",
        f"<h1>{e(edition.title)}</h1>",
        f"<p>{e(edition.headline)}</p>",
        f"<h2>Bottom line</h2><p>{e(edition.bottom_line or '(see the brief)')}</p>",
        f"<h2>What changed</h2><p>{e(edition.since or '(not recorded for this brief)')}</p>",
    ]
    if link:
        parts.append(f'<p><a href="{e(link)}">Read it online</a></p>')
    if attached:
        parts.append("<p>The brief is attached as a PDF.</p>")
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def _message_id(edition: Edition, recipient: str, sent_before: int, sender: str) -> str:
    """Derived, not random: a message sent again after a killed run carries the same id."""
    domain = sender.rpartition("@")[2].strip("<> ") or "myanmar-brief.invalid"
    key = f"{edition.id}\0{recipient.lower()}\0{sent_before}"
    return f"<{uuid.uuid5(_NAMESPACE, key).hex}@{domain}>"


# -- sending -----------------------------------------------------------------------------------


def _connect(server: Server) -> smtplib.SMTP:
    """A connection, on STARTTLS where offered or required, logged in if a user is set."""
    password = os.environ.get(PASSWORD_ENV) if server.user else None
    if server.user and not password:
        raise UsageError(
            f"smtp_user is {server.user!r} but ${PASSWORD_ENV} is not set; the password is "
            "read from there only"
        )
    try:
        smtp = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
    except OSError as exc:
        raise MailServerError(
            f"cannot reach the mail server {server.label}: {exc.strerror or exc}; nothing "
            "was sent or recorded"
        ) from None
    try:
        smtp.ehlo()
        if smtp.has_extn("starttls"):
            smtp.starttls(context=server.ssl_context or ssl.create_default_context())
            smtp.ehlo()
        elif not (is_loopback(server.host) or server.insecure):
            raise MailServerError(
                f"the mail server {server.label} does not offer STARTTLS, which a server that "
                "is not on this machine must; nothing was sent (--insecure-smtp to send in "
                "the clear all the same)"
            )
        if server.user:
            smtp.login(server.user, password or "")
    except (OSError, smtplib.SMTPException) as exc:
        smtp.close()
        if isinstance(exc, MailServerError):
            raise
        raise MailServerError(
            f"the mail server {server.label} could not be used: {_reply(exc)}; nothing was "
            "sent or recorded"
        ) from None
    return smtp


def _reply(exc: BaseException) -> str:
    code = getattr(exc, "smtp_code", None)
    error = getattr(exc, "smtp_error", b"")
    text = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
    return f"{code} {text}".strip() if code else f"{type(exc).__name__}: {exc}"


def _refusal(exc: smtplib.SMTPException, recipient: str) -> tuple[int, str]:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()), (550, b""))
        return code, f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
    code = getattr(exc, "smtp_code", 0) or 0
    return code, _reply(exc)


def _transmit(smtp: smtplib.SMTP, message: EmailMessage, server: Server, sender: str) -> str:
    """Send one message; ``sent``, or ``deferred``/``refused`` with the server's reply."""
    recipient = str(message["To"])
    for attempt in range(server.retries + 1):
        try:
            smtp.send_message(message, from_addr=sender, to_addrs=[recipient])
            return "sent"
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as exc:
            code, reply = _refusal(exc, recipient)
        except OSError as exc:  # SMTPServerDisconnected, a reset: after the refusals, which
            # are OSErrors too
            raise MailServerError(
                f"the mail server {server.label} went away while sending to {recipient}: "
                f"{exc}; that message is not recorded and goes again with the next send"
            ) from None
        if not 400 <= code < 500:
            return f"refused: {reply}"
        if attempt < server.retries:
            log.info("%s deferred (%s); retry %d", recipient, reply, attempt + 1)
            time.sleep(server.backoff * 2**attempt)
    return f"deferred: {reply} (after {server.retries} retries)"


def send_editions(
    out_dir: Path,
    editions: Sequence[tuple[Edition, Path | None, Sequence[str]]],
    *,
    sender: str | None,
    server: Server | None,
    base_url: str | None = None,
    again: bool = False,
    only_changed: bool = False,
    dry_run: bool = False,
    on_delivery: Callable[[Delivery], None] | None = None,
) -> SendReport:
    """Mail each edition to its recipients, recording each message in the ledger.

    Parameters
    ----------
    out_dir
        The output folder the editions are published in (its ledger is used).
    editions
        Each edition (:func:`editions_of`), its PDF, and its recipients.
    sender
        The ``From`` address.
    server
        Where to send; ``None`` only with ``dry_run``.
    again
        Send also what the ledger says was sent (a new Message-ID).
    only_changed
        Send only editions with something new (:attr:`~.feeds.Edition.has_news`).
    dry_run
        Write each message to ``<out>/_deliveries/outbox/`` as an ``.eml`` file; send
        nothing, record nothing, connect to nothing.
    on_delivery
        Called with each :class:`Delivery` as it is decided.

    Returns
    -------
    SendReport

    Raises
    ------
    UsageError
        No sender, no server (and not a dry run), an edition without recipients.
    MailServerError
        The server cannot be reached or used, or went away; what was sent before is recorded.
    LockHeldError
        Another run holds the output folder (a render, a batch, another send).
    """
    if not sender or "@" not in sender or any(c.isspace() for c in sender):
        raise UsageError(
            f"a sender address is needed (--from, or from in brief.toml), not {sender!r}"
        )
    if server is None and not dry_run:
        raise UsageError(
            "no mail server: give --smtp HOST:PORT (or $BRIEF_SMTP, or smtp in brief.toml)"
        )
    with locked(out_dir):  # one sender at a time writes the ledger
        return _send_all(
            out_dir,
            editions,
            sender=sender,
            server=server,
            base_url=base_url,
            again=again,
            only_changed=only_changed,
            dry_run=dry_run,
            on_delivery=on_delivery,
        )


def _send_all(
    out_dir: Path,
    editions: Sequence[tuple[Edition, Path | None, Sequence[str]]],
    *,
    sender: str,
    server: Server | None,
    base_url: str | None,
    again: bool,
    only_changed: bool,
    dry_run: bool,
    on_delivery: Callable[[Delivery], None] | None,
) -> SendReport:
    report = SendReport()
    ledger = Ledger(out_dir)
    smtp: smtplib.SMTP | None = None

    def decided(delivery: Delivery) -> None:
        report.deliveries.append(delivery)
        if on_delivery is not None:
            on_delivery(delivery)

    try:
        for edition, pdf, recipients in editions:
            for recipient in recipients:
                delivery = _skip(ledger, edition, recipient, again=again, only_changed=only_changed)
                if delivery is not None:
                    decided(delivery)
                    continue
                message_id = _message_id(
                    edition, recipient, ledger.times_sent(edition.id, recipient), sender
                )
                message = compose(
                    edition,
                    pdf,
                    sender=sender,
                    recipient=recipient,
                    message_id=message_id,
                    base_url=base_url,
                )
                if dry_run:
                    decided(_write_eml(out_dir, edition, recipient, message))
                    continue
                if smtp is None:
                    smtp = _connect(server)  # type: ignore[arg-type]
                decided(_send_one(smtp, message, server, sender, ledger, edition))  # type: ignore[arg-type]
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
    return report


def _skip(
    ledger: Ledger, edition: Edition, recipient: str, *, again: bool, only_changed: bool
) -> Delivery | None:
    if only_changed and not edition.has_news:
        return Delivery(edition, recipient, "nothing new", detail="--only-changed")
    last = ledger.last(edition.id, recipient)
    if last is not None and not again:
        word = "already sent" if last.status == "sent" else "already refused"
        return Delivery(
            edition,
            recipient,
            word,
            last.message_id,
            detail=f"{word} {last.when}, {last.message_id}; not sent again (--again to send it)",
        )
    return None


def _send_one(
    smtp: smtplib.SMTP,
    message: EmailMessage,
    server: Server,
    sender: str,
    ledger: Ledger,
    edition: Edition,
) -> Delivery:
    recipient, message_id = str(message["To"]), str(message["Message-ID"])
    outcome = _transmit(smtp, message, server, sender)
    status = outcome.split(":", 1)[0]
    if status in ("sent", "refused"):
        ledger.append(
            edition=edition.id,
            notebook=edition.notebook,
            run=edition.run,
            recipient=recipient,
            message_id=message_id,
            status=status,
            reply=outcome.partition(": ")[2],
        )
    detail = outcome.partition(": ")[2]
    return Delivery(edition, recipient, status, message_id, detail=detail or message_id)


def _write_eml(out_dir: Path, edition: Edition, recipient: str, message: EmailMessage) -> Delivery:
    safe = "".join(c if c.isalnum() or c in "@._-" else "_" for c in recipient)
    out_dir = Path(out_dir).resolve()
    path = out_dir / DELIVERIES_DIR / "outbox" / f"{edition.notebook}-{edition.run}-{safe}.eml"
    check_no_links(out_dir, path)  # written inside --out only, through no link
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, bytes(message))
    return Delivery(edition, recipient, "written", str(message["Message-ID"]), path=path)
