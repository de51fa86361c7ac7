"""The Atom feeds of an output folder (issue 21), read back with a real feed parser.

The output folders here are made of real files, as ``brief render`` publishes them (a brief's
HTML with its bottom line and since line, a PDF, a manifest whose sha256s match), without a
kernel; the slow test at the end reads the feeds of a real render.
"""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import pytest

from helpers.pipeline import feeds
from helpers.pipeline.manifest import file_entry
from helpers.pipeline.publish import publish_run

BRIEF_HTML = """<!DOCTYPE html><html lang="en"><head><title>{title}</title></head><body><main>
<h1>{title}</h1><p class="since-head"><strong>Since the edition of 1 March 2024</strong>:
2 new, 0 changed, 0 no longer shown.</p><p class="bluf">The report says {n} things.<sup>1</sup>
Confidence is low.</p></main></body></html>"""


def publish(
    out: Path,
    run: str,
    *,
    created: str,
    notebook: str = "brief",
    overrides: dict | None = None,
    as_of: str = "2024-03-02",
    changes: dict | None = None,
) -> Path:
    """A run published as brief publishes one (a run link to a version folder, built in
    ``.tmp/`` and switched in): a plain folder is not a run (test_hostile_inputs.py)."""
    folder = out / ".tmp" / f"{notebook}-{run}"
    folder.mkdir(parents=True)
    (folder / f"{notebook}.html").write_text(
        BRIEF_HTML.format(title=f"Junta & {run}", n=run), encoding="utf-8"
    )
    (folder / f"{notebook}.pdf").write_bytes(b"%PDF-1.7 " + run.encode())
    edition = {"since": {"date": "2024-03-01"}, "changes": changes} if changes else None
    manifest = {
        "status": "ok",
        "notebook": notebook,
        "run": run,
        "parameters": {"as_of": as_of, "partner": "Russia", **(overrides or {})},
        "overrides": overrides or {},
        "created_at": created,
        "outputs": {
            name: file_entry(folder / name) for name in (f"{notebook}.html", f"{notebook}.pdf")
        },
        "edition": edition,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return publish_run(folder, out, notebook, run)


def test_the_folder_feed_lists_each_edition_newest_first_with_links_and_summary(tmp_path):
    publish(tmp_path, "default", created="2026-12-01T10:00:00.000Z")
    publish(
        tmp_path, "as-of-2024-04-01-aaaa", created="2026-12-02T10:00:00.000Z", as_of="2024-04-01"
    )
    feeds.write_feeds(tmp_path)
    parsed = feedparser.parse((tmp_path / "feed.xml").read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    titles = [e.title for e in parsed.entries]
    assert titles == [
        "Junta & as-of-2024-04-01-aaaa, edition of 1 April 2024",
        "Junta & default, edition of 2 March 2024",
    ]
    entry = parsed.entries[1]
    links = {link.type: link.href for link in entry.links}
    assert links == {
        "text/html": "brief/default/brief.html",
        "application/pdf": "brief/default/brief.pdf",
    }
    assert entry.summary == (
        "The report says default things. Confidence is low. Since the edition of 1 March "
        "2024: 2 new, 0 changed, 0 no longer shown."
    )
    assert entry.updated == "2026-12-01T10:00:00.000Z"


def test_ids_are_stable_across_rewrites_and_new_for_a_new_edition(tmp_path):
    folder = publish(tmp_path, "default", created="2026-12-01T10:00:00.000Z")
    feeds.write_feeds(tmp_path)
    first = feedparser.parse((tmp_path / "feed.xml").read_bytes())
    feeds.write_feeds(tmp_path)
    again = feedparser.parse((tmp_path / "feed.xml").read_bytes())
    assert first.feed.id == again.feed.id
    assert [e.id for e in first.entries] == [e.id for e in again.entries]
    # The run published again (new data): a new edition, a new id.
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["created_at"] = "2026-12-03T10:00:00.000Z"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    feeds.write_feeds(tmp_path)
    newer = feedparser.parse((tmp_path / "feed.xml").read_bytes())
    assert newer.entries[0].id != first.entries[0].id


def test_with_a_base_url_links_are_absolute(tmp_path):
    publish(tmp_path, "default", created="2026-12-01T10:00:00.000Z")
    feeds.write_feeds(tmp_path, base_url="https://briefs.example.org/myanmar")
    parsed = feedparser.parse((tmp_path / "feed.xml").read_bytes())
    hrefs = {link.href for link in parsed.entries[0].links}
    assert hrefs == {
        "https://briefs.example.org/myanmar/brief/default/brief.html",
        "https://briefs.example.org/myanmar/brief/default/brief.pdf",
    }


def test_one_feed_per_series_linking_back_up_to_the_runs(tmp_path):
    publish(tmp_path, "default", created="2026-12-01T10:00:00.000Z")
    publish(
        tmp_path,
        "partner-china-bbbb",
        created="2026-12-02T10:00:00.000Z",
        overrides={"partner": "China"},
    )
    written = feeds.write_feeds(tmp_path)
    series = sorted(p for p in written if p.parent.name == feeds.FEEDS_DIR)
    assert len(series) == 2
    titles = {feedparser.parse(p.read_bytes()).feed.title for p in series}
    assert titles == {"Myanmar briefs: brief: defaults", "Myanmar briefs: brief: partner = China"}
    china = next(p for p in series if "China" in feedparser.parse(p.read_bytes()).feed.title)
    [entry] = feedparser.parse(china.read_bytes()).entries
    assert {link.href for link in entry.links} == {
        "../brief/partner-china-bbbb/brief.html",
        "../brief/partner-china-bbbb/brief.pdf",
    }
    assert (china.parent / "../brief/partner-china-bbbb/brief.html").resolve().is_file()


def test_the_feed_holds_the_newest_fifty_editions(tmp_path):
    for i in range(feeds.FEED_LIMIT + 3):
        publish(tmp_path, f"run-{i:03d}", created=f"2026-12-01T10:{i // 60:02d}:{i % 60:02d}.000Z")
    feeds.write_feeds(tmp_path)
    parsed = feedparser.parse((tmp_path / "feed.xml").read_bytes())
    assert len(parsed.entries) == feeds.FEED_LIMIT
    assert parsed.entries[0].title.startswith("Junta & run-052")


def test_a_run_whose_files_do_not_match_its_manifest_is_not_in_the_feed(tmp_path):
    folder = publish(tmp_path, "default", created="2026-12-01T10:00:00.000Z")
    (folder / "brief.pdf").write_bytes(b"%PDF- something else")
    feeds.write_feeds(tmp_path)
    assert feedparser.parse((tmp_path / "feed.xml").read_bytes()).entries == []


@pytest.mark.kernels
def test_brief_render_writes_the_feeds_of_real_briefs(tmp_path):
    from helpers.cli import main

    out = tmp_path / "reports"
    assert main(["render", "brief", "--to", "html", "-q", "--out", str(out)]) == 0
    parsed = feedparser.parse((out / "feed.xml").read_bytes())
    [entry] = parsed.entries
    assert entry.summary.startswith("According to a news report of 2 March 2024")
    assert entry.summary.endswith("later editions will say here what changed since it.")
    assert [link.href for link in entry.links] == ["brief/default/brief.html"]
    assert len(list((out / feeds.FEEDS_DIR).glob("brief-*.xml"))) == 1
    assert '<a href="feed.xml">Atom feed</a>' in (out / "index.html").read_text()


def test_a_link_where_the_feeds_go_is_refused_and_nothing_is_written_through_it(tmp_path):
    from helpers.errors import RenderError

    out = tmp_path / "reports"
    publish(out, "default", created="2026-12-01T10:00:00.000Z")
    elsewhere = tmp_path / "precious"
    elsewhere.mkdir()
    (elsewhere / "keep.xml").write_text("mine")
    (out / feeds.FEEDS_DIR).symlink_to(elsewhere)
    with pytest.raises(RenderError, match="is a symbolic link"):
        feeds.write_feeds(out)
    assert [p.name for p in elsewhere.iterdir()] == ["keep.xml"]
    assert isinstance(feeds.update_feeds(out), RenderError)
