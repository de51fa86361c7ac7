"""Email delivery (issue 21) against a real SMTP server on 127.0.0.1 (aiosmtpd).

Messages are parsed back with the ``email`` package; the runs sent are real run folders
(files and a manifest whose sha256s match), made as in ``test_feeds``, without a kernel.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import ssl
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from test_feeds import publish

from helpers.cli import main
from helpers.errors import MailServerError
from helpers.pipeline import mail
from helpers.pipeline.deliveries import DELIVERIES_DIR, LEDGER_NAME, Ledger

SENDER = "briefs@example.org"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """An aiosmtpd handler keeping what it accepts; ``replies`` gives an address's first
    answers to RCPT (``451 ...``, ``550 ...``) before it is accepted."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes, bool]] = []
        self.replies: dict[str, list[str]] = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        queued = self.replies.get(address)
        if queued:
            return queued.pop(0) if len(queued) > 1 or not queued[0].startswith("5") else queued[0]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content, session.ssl is not None))
        return "250 Message accepted for delivery"

    def parsed(self) -> list[email.message.EmailMessage]:
        return [
            email.message_from_bytes(raw, policy=email.policy.default)
            for _, raw, _ in self.messages
        ]


@pytest.fixture
def server(request):
    """A plain SMTP server on loopback; ``request.param`` may give Controller options."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **getattr(request, "param", {}))
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def out(tmp_path, monkeypatch) -> Path:
    """An output folder with two published runs; no project file, no mail settings around."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "BRIEF_SMTP",
        "BRIEF_FROM",
        "BRIEF_SMTP_USER",
        "BRIEF_BASE_URL",
        mail.PASSWORD_ENV,
    ):
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / "reports"
    publish(
        out,
        "default",
        created="2026-12-01T10:00:00.000Z",
        changes={"new": 2, "changed": 0, "dropped": 0, "new_sources": 0},
    )
    publish(
        out,
        "as-of-2024-04-01-aaaa",
        created="2026-12-02T10:00:00.000Z",
        as_of="2024-04-01",
        changes={"new": 0, "changed": 0, "dropped": 0, "new_sources": 0},
    )
    return out


def send(out: Path, port: int, *args: str) -> int:
    return main(
        [
            "send",
            str(out / "brief" / "default"),
            "--smtp",
            f"127.0.0.1:{port}",
            "--from",
            SENDER,
            *args,
        ]
    )


def test_each_reader_gets_text_html_and_the_pdf_with_a_subject_naming_the_edition(
    out, server, capsys
):
    inbox, port = server
    code = send(
        out,
        port,
        "--to",
        "ana@example.org",
        "--to",
        "ben@example.org",
        "--base-url",
        "https://briefs.example.org/",
    )
    assert code == 0, capsys.readouterr().err
    first, second = inbox.parsed()
    assert [first["To"], second["To"]] == ["ana@example.org", "ben@example.org"]
    assert first["Subject"] == "Junta & default, edition of 2 March 2024"
    assert first["From"] == SENDER
    text = first.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "Bottom line\nThe report says default things. Confidence is low." in text
    assert "What changed\nSince the edition of 1 March 2024: 2 new" in text
    assert "https://briefs.example.org/brief/default/brief.html" in text
    page = first.get_body(("html",)).get_content().replace("\r\n", "\n")
    assert '<html lang="en">' in page and "<h2>Bottom line</h2>" in page
    [pdf] = list(first.iter_attachments())
    assert pdf.get_filename() == "brief.pdf" and pdf.get_content_type() == "application/pdf"
    assert pdf.get_content() == (out / "brief" / "default" / "brief.pdf").read_bytes()
    ledger = Ledger(out)
    assert [(r.recipient, r.status, r.message_id) for r in ledger.records] == [
        ("ana@example.org", "sent", first["Message-ID"]),
        ("ben@example.org", "sent", second["Message-ID"]),
    ]


def test_a_second_send_sends_nothing_and_says_so_unless_again(out, server, capsys):
    inbox, port = server
    assert send(out, port, "--to", "ana@example.org") == 0
    capsys.readouterr()
    assert send(out, port, "--to", "ana@example.org") == 0
    assert "already sent" in capsys.readouterr().out
    assert len(inbox.messages) == 1
    assert send(out, port, "--to", "ana@example.org", "--again") == 0
    ids = [m["Message-ID"] for m in inbox.parsed()]
    assert len(ids) == 2 and ids[0] != ids[1]


def test_a_run_killed_before_recording_sends_one_duplicate_with_the_same_message_id(out, server):
    inbox, port = server
    assert send(out, port, "--to", "ana@example.org") == 0
    ledger = out / DELIVERIES_DIR / LEDGER_NAME
    ledger.write_text("")  # the line the killed run never wrote
    assert send(out, port, "--to", "ana@example.org") == 0
    first, again = inbox.parsed()
    assert first["Message-ID"] == again["Message-ID"]


def test_a_server_that_cannot_be_reached_exits_69_and_records_nothing(out, capsys):
    assert send(out, free_port(), "--to", "ana@example.org") == MailServerError.exit_code
    assert "cannot reach the mail server" in capsys.readouterr().err
    assert not (out / DELIVERIES_DIR / LEDGER_NAME).exists()


def test_a_temporary_refusal_is_retried_then_sent(out, server):
    inbox, port = server
    inbox.replies["ana@example.org"] = ["451 4.3.0 Try again later", "451 4.3.0 Try again later"]
    editions = [
        (e, pdf, ["ana@example.org"]) for e, pdf in mail.editions_of([out / "brief" / "default"])[1]
    ]
    report = mail.send_editions(
        out, editions, sender=SENDER, server=mail.Server("127.0.0.1", port, backoff=0.01)
    )
    assert [d.status for d in report.deliveries] == ["sent"] and report.exit_code == 0
    assert len(inbox.messages) == 1


def test_refusals_are_reported_by_recipient_a_permanent_one_recorded(out, server):
    inbox, port = server
    inbox.replies["late@example.org"] = ["451 4.3.0 Try again later"] * 5
    inbox.replies["gone@example.org"] = ["550 5.1.1 No such user"]
    editions = [
        (e, pdf, ["late@example.org", "gone@example.org", "ana@example.org"])
        for e, pdf in mail.editions_of([out / "brief" / "default"])[1]
    ]
    server_ = mail.Server("127.0.0.1", port, backoff=0.01, retries=2)
    report = mail.send_editions(out, editions, sender=SENDER, server=server_)
    assert [(d.recipient, d.status) for d in report.deliveries] == [
        ("late@example.org", "deferred"),
        ("gone@example.org", "refused"),
        ("ana@example.org", "sent"),
    ]
    assert "451" in report.deliveries[0].detail and "550" in report.deliveries[1].detail
    assert report.exit_code == 7
    assert {(r.recipient, r.status) for r in Ledger(out).records} == {
        ("gone@example.org", "refused"),
        ("ana@example.org", "sent"),
    }


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"briefs" and auth_data.password == b"s3cret-pw"
    return AuthResult(success=ok, handled=False)


# On loopback without TLS, as the test server is; aiosmtpd warns of it.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize(
    "server",
    [{"authenticator": _authenticator, "auth_required": True, "auth_require_tls": False}],
    indirect=True,
)
def test_the_user_logs_in_with_the_password_from_the_environment_only(
    out, server, monkeypatch, capsys
):
    inbox, port = server
    assert send(out, port, "--to", "ana@example.org", "--smtp-user", "briefs") == 2
    assert "BRIEF_SMTP_PASSWORD" in capsys.readouterr().err
    monkeypatch.setenv(mail.PASSWORD_ENV, "wrong")
    assert send(out, port, "--to", "ana@example.org", "--smtp-user", "briefs") == 69
    monkeypatch.setenv(mail.PASSWORD_ENV, "s3cret-pw")
    assert send(out, port, "--to", "ana@example.org", "--smtp-user", "briefs", "-v") == 0
    shown = capsys.readouterr()
    assert "s3cret-pw" not in shown.out + shown.err
    assert len(inbox.messages) == 1


def test_starttls_is_used_when_offered_with_the_certificate_checked(out, tmp_path, monkeypatch):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
    )
    controller.start()
    try:
        # Not trusted: the certificate is refused, nothing is sent.
        assert send(out, port, "--to", "ana@example.org") == 69
        ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
        assert send(out, port, "--to", "ana@example.org") == 0
    finally:
        controller.stop()
    [(_, _, over_tls)] = inbox.messages
    assert over_tls


def test_starttls_is_required_off_this_machine():
    assert mail.is_loopback("127.0.0.1") and mail.is_loopback("::1")
    assert mail.is_loopback("localhost")
    assert not mail.is_loopback("mail.example.org") and not mail.is_loopback("192.0.2.1")


def test_dry_run_writes_eml_files_and_sends_nothing(out, capsys):
    assert (
        main(
            [
                "send",
                str(out / "brief" / "default"),
                "--from",
                SENDER,
                "--to",
                "ana@example.org",
                "--dry-run",
            ]
        )
        == 0
    )
    [eml] = (out / DELIVERIES_DIR / "outbox").glob("*.eml")
    parsed = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert parsed["To"] == "ana@example.org"
    assert not (out / DELIVERIES_DIR / LEDGER_NAME).exists()


def test_only_changed_sends_only_editions_with_something_new(out, server, capsys):
    inbox, port = server
    runs = [str(out / "brief" / "default"), str(out / "brief" / "as-of-2024-04-01-aaaa")]
    code = main(
        [
            "send",
            *runs,
            "--smtp",
            f"127.0.0.1:{port}",
            "--from",
            SENDER,
            "--to",
            "ana@example.org",
            "--only-changed",
        ]
    )
    assert code == 0
    assert "as-of-2024-04-01-aaaa to ana@example.org: nothing new" in capsys.readouterr().out
    assert [m["Subject"] for m in inbox.parsed()] == ["Junta & default, edition of 2 March 2024"]


def test_recipients_come_from_the_project_file_by_series_or_notebook(out, server, tmp_path):
    inbox, port = server
    (tmp_path / "brief.toml").write_text(
        'from = "briefs@example.org"\n[recipients]\n"brief: defaults" = ["ana@example.org"]\n'
        'brief = ["desk@example.org"]\n'
    )
    assert main(["send", str(out / "brief" / "default"), "--smtp", f"127.0.0.1:{port}"]) == 0
    assert sorted(to for tos, _, _ in inbox.messages for to in tos) == [
        "ana@example.org",
        "desk@example.org",
    ]


def test_bad_input_is_refused_before_anything_is_sent(out, capsys):
    run = str(out / "brief" / "default")
    assert main(["send", run, "--to", "ana@example.org", "--smtp", "127.0.0.1:1"]) == 2
    assert "no sender" in capsys.readouterr().err
    assert main(["send", run, "--from", SENDER, "--to", "ana@example.org"]) == 2
    assert "no mail server" in capsys.readouterr().err
    assert main(["send", run, "--from", SENDER, "--to", "ana", "--dry-run"]) == 2
    bad_sender = "x@example.org\nBcc: all@example.org"
    assert main(["send", run, "--from", bad_sender, "--to", "ana@example.org", "--dry-run"]) == 2
    assert main(["send", run, "--from", SENDER, "--dry-run"]) == 2
    assert "no recipients for brief/default (brief: defaults)" in capsys.readouterr().err
    (out / "brief" / "default" / "brief.pdf").write_bytes(b"%PDF- tampered")
    assert main(["send", run, "--from", SENDER, "--to", "ana@example.org", "--dry-run"]) == 2
    assert "do not match its manifest" in capsys.readouterr().err
    assert not (out / DELIVERIES_DIR).exists()
    json.loads((out / "brief" / "default" / "manifest.json").read_text())  # untouched


@pytest.mark.kernels
def test_batch_send_mails_each_edition_it_published_to_its_deliver_addresses(
    tmp_path, server, monkeypatch, capsys
):
    inbox, port = server
    monkeypatch.chdir(tmp_path)
    plan = tmp_path / "plan.yaml"
    plan.write_text("version: 1\njobs:\n  - notebook: brief\n    deliver: [desk@example.org]\n")
    out = tmp_path / "reports"
    argv = ["batch", str(plan), "--out", str(out), "--workers", "1", "--send"]
    argv += ["--smtp", f"127.0.0.1:{port}", "--from", SENDER]
    assert main(argv) == 0, capsys.readouterr().err
    [message] = inbox.parsed()
    assert message["To"] == "desk@example.org"
    assert message["Subject"] == "Myanmar\u2019s junta and Russia, edition of 2 March 2024"
    text = message.get_body(("plain",)).get_content()
    assert "According to a news report of 2 March 2024" in text
    assert "First edition." in text
    [pdf] = list(message.iter_attachments())
    assert pdf.get_content() == (out / "brief" / "default" / "brief.pdf").read_bytes()
    capsys.readouterr()
    # Nothing new to publish: nothing sent, and the command says so.
    assert main(argv) == 0
    assert "no edition was published; nothing to send" in capsys.readouterr().out
    assert len(inbox.messages) == 1


def test_the_ledger_and_the_outbox_are_written_through_no_link(out, tmp_path, capsys):
    elsewhere = tmp_path / "precious"
    elsewhere.mkdir()
    (out / DELIVERIES_DIR).symlink_to(elsewhere)
    argv = ["send", str(out / "brief" / "default"), "--from", SENDER, "--to", "ana@example.org"]
    assert main([*argv, "--dry-run"]) == 6
    assert "is a symbolic link" in capsys.readouterr().err
    assert list(elsewhere.iterdir()) == []


def test_a_server_going_away_mid_send_exits_69_keeping_what_was_sent(out, server, capsys):
    inbox, port = server
    inbox.replies["ben@example.org"] = ["421 4.3.2 Service shutting down"]
    code = send(out, port, "--to", "ana@example.org", "--to", "ben@example.org")
    assert code == MailServerError.exit_code
    assert "went away while sending to ben@example.org" in capsys.readouterr().err
    assert [r.recipient for r in Ledger(out).records] == ["ana@example.org"]
    assert send(out, port, "--to", "ana@example.org", "--to", "ben@example.org") == 0
    assert [tos for tos, _, _ in inbox.messages] == [["ana@example.org"], ["ben@example.org"]]
