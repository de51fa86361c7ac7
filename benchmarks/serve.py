"""``brief serve`` latency, cold and warm, with 1 and 4 concurrent clients, against
``brief render`` of the same brief. Not part of the test suite.

Run with the project's interpreter (needs the [serve] extra)::

    .venv/bin/python benchmarks/serve.py [--repeat 8] [--to html,pdf] [--workers 2] [--cold]

A client fetches the form (its CSRF cookie and token), posts it, follows the answer to the
brief's page and fetches the brief's HTML from it (the iframe's document): that is the first
time measured, *HTML*, from the POST. With a PDF to make, the page shows the brief while the
PDF is made; the client then follows the page's refresh until the page is the published
edition: the second time, *published*, from the same POST (with ``--to html`` the two are the
same). Each request asks for a different brief (``max_rows`` varies), so none is answered from
another's render. *Cold* is the first request after the server started (its zygote still
importing); *warm* the next ones. ``brief render`` of the same brief, with the same formats, is
run as a new process each time, as a user would type it.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from itertools import count
from pathlib import Path

_rows = count(20)


def _client() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )


def one_request(base: str) -> tuple[float, float]:
    """Seconds from posting the main brief's form to its HTML, and to its published edition."""
    opener = _client()
    form = opener.open(base + "notebook/brief", timeout=300).read().decode()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode(
        {
            "csrf_token": csrf,
            "partner": "Russia",
            "as_of": "2024-03-02",
            "max_rows": str(next(_rows)),
            "include_undated": "true",
            "paper": "A4",
            "themes": ["defence", "energy", "economy", "regional"],
        },
        doseq=True,
    ).encode()
    request = urllib.request.Request(
        base + "notebook/brief", data=data, headers={"Origin": base.rstrip("/")}
    )
    started = time.perf_counter()
    with opener.open(request, timeout=300) as answer:  # follows the 303 to the brief's page
        page = answer.read().decode()
        url = answer.url
    if "/brief/brief/" not in url:
        raise RuntimeError(f"no brief: {url}")
    frame = re.search(r'<iframe class="brief"[^>]* src="([^"]+)"', page)
    if frame is None:
        raise RuntimeError(f"no brief on {url}")
    with opener.open(urllib.parse.urljoin(base, frame.group(1)), timeout=300) as answer:
        if b"<h1" not in answer.read():
            raise RuntimeError(f"no brief at {frame.group(1)}")
    html = time.perf_counter() - started
    while 'id="pending"' in page:  # the page's refresh, which the server holds until published
        with opener.open(url.partition("?")[0] + "?published", timeout=300) as answer:
            page = answer.read().decode()
    if 'id="pdf"' not in page and 'href="/out/' not in page:
        raise RuntimeError(f"no edition at {url}")
    return html, time.perf_counter() - started


def _stats(times: list[float]) -> str:
    if not times:
        return "-"
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered):5.2f} s  p95 {p95:5.2f} s  (n={len(ordered)})"


def serve_run(args: argparse.Namespace, out: Path) -> dict[str, list[tuple[float, float]]]:
    brief = Path(sys.executable).parent / "brief"
    process = subprocess.Popen(
        [
            str(brief),
            "serve",
            "--port",
            "0",
            "--out",
            str(out),
            "--to",
            args.to,
            "--workers",
            str(args.workers),
            "--queue",
            "16",
            *(["--cold"] if getattr(args, "cold", False) else []),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        base = re.search(r"open (http://\S+/)", line).group(1)
        results = {"cold": [one_request(base)]}
        results["warm, 1 client"] = [one_request(base) for _ in range(args.repeat)]
        with ThreadPoolExecutor(4) as pool:
            results["warm, 4 clients"] = list(
                pool.map(lambda _: one_request(base), range(args.repeat * 2))
            )
        return results
    finally:
        process.terminate()
        process.wait(120)


def render_run(args: argparse.Namespace, out: Path) -> list[float]:
    brief = Path(sys.executable).parent / "brief"
    times = []
    for _ in range(max(3, args.repeat // 2)):
        started = time.perf_counter()
        subprocess.run(
            [
                str(brief),
                "render",
                "brief",
                "-q",
                "--out",
                str(out),
                "--to",
                args.to,
                "-p",
                "max_rows",
                str(next(_rows)),
            ],
            check=True,
        )
        times.append(time.perf_counter() - started)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=8)
    parser.add_argument(
        "--to", default="html,pdf", help="formats, as for brief serve: html,pdf (default) or html"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cold", action="store_true", help="brief serve --cold: no zygote")
    args = parser.parse_args(argv)
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        served = serve_run(args, Path(tmp) / "serve")
        rendered = render_run(args, Path(tmp) / "render")
    cold = " --cold" if args.cold else ""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"main brief, --to {args.to}, brief serve --workers {args.workers}{cold}")
    print(f"  load average: {load_before} before, {load} after ({os.cpu_count()} CPUs)")
    for label, times in served.items():
        print(f"  serve {label:<16} HTML       {_stats([html for html, _ in times])}")
        print(f"  serve {label:<16} published  {_stats([done for _, done in times])}")
    print(f"  brief render --to {args.to} (new process) {_stats(rendered)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
