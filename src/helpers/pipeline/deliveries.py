"""The delivery ledger: which edition was mailed to whom, with which Message-ID.

``<out>/_deliveries/ledger.jsonl`` holds one JSON line per message a server accepted
(``sent``) or refused for good (``refused``, a 5xx reply), appended and flushed to disk
right after the server's reply, before the next message goes. ``brief send`` reads it to
send each edition at most once to each reader (:mod:`helpers.pipeline.mail`).

A run killed between a server's acceptance and the line's writing leaves that one message
unrecorded: the next send sends it again, with the same Message-ID (it is derived from the
edition, the recipient and how many times the ledger says it was sent before), so a reader's
mail client, and anyone reading the server's log, sees the duplicate for what it is. At most
one message is in that state at any time.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.common import utc_now
from helpers.pipeline.publish import check_no_links

__all__ = ["DELIVERIES_DIR", "LEDGER_NAME", "Ledger", "Record"]

#: The folder of the ledger and the dry runs' outbox, in the output folder.
DELIVERIES_DIR = "_deliveries"
#: The ledger's file name in :data:`DELIVERIES_DIR`.
LEDGER_NAME = "ledger.jsonl"


@dataclass(frozen=True)
class Record:
    """One line of the ledger."""

    edition: str
    notebook: str
    run: str
    recipient: str
    message_id: str
    status: str  # "sent" or "refused"
    when: str
    reply: str = ""


class Ledger:
    """The ledger of an output folder: read once, appended line by line.

    Parameters
    ----------
    out_dir
        The output folder; the ledger is ``<out_dir>/_deliveries/ledger.jsonl``.
    """

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir).resolve()
        self.path = self.out_dir / DELIVERIES_DIR / LEDGER_NAME
        self.records: list[Record] = list(self._read())

    def _read(self):
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return
        for line in lines:
            try:
                data = json.loads(line)
                yield Record(**{k: data[k] for k in Record.__dataclass_fields__ if k in data})
            except (ValueError, TypeError):
                continue  # a line cut short by a killed run: that message is sent again

    def last(self, edition: str, recipient: str) -> Record | None:
        """The latest record of ``edition`` to ``recipient`` (addresses compared without case)."""
        wanted = recipient.lower()
        found = [r for r in self.records if r.edition == edition and r.recipient.lower() == wanted]
        return found[-1] if found else None

    def times_sent(self, edition: str, recipient: str) -> int:
        """How many times the ledger says ``edition`` was accepted for ``recipient``."""
        wanted = recipient.lower()
        return sum(
            r.edition == edition and r.recipient.lower() == wanted and r.status == "sent"
            for r in self.records
        )

    def append(self, **fields: Any) -> Record:
        """Record a message, on disk (flushed and fsynced) before this returns."""
        record = Record(when=utc_now(), **fields)
        # Appended inside --out only: a link on the way would write the ledger elsewhere.
        check_no_links(self.out_dir, self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record.__dict__, ensure_ascii=False) + "\n"
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        self.records.append(record)
        return record
