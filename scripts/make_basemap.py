"""Derive the locator map's basemap from Natural Earth: ``src/helpers/geodata/basemap.json``.

Run once, by hand, when the basemap should change; the package reads the JSON it writes and
never downloads anything. The same input always gives byte-identical output.

Input
    Natural Earth's 1:50m "Admin 0 – Countries" layer (public domain), as packaged by
    Debian in ``r-cran-rnaturalearthdata`` (version pinned below): the R object
    ``countries50`` in ``usr/lib/R/site-library/rnaturalearthdata/data/Rdata.rdb``, an R
    lazy-load database. The script reads it with a small R-serialization reader of its own,
    so R is not needed.

Output
    Country polygons (name, ISO A3 code) clipped to the map's region (Sutherland–Hodgman),
    the land borders between them and the coastline, each line stored once. Borders and
    coasts are split into arcs where the neighbour changes and every arc is simplified once
    (Douglas–Peucker), so neighbouring countries keep sharing the same simplified border.
    An arc only one country has is coast, unless it runs along another country's edge (a
    few borders were digitised on both sides). Coordinates are rounded to 0.01° and stored
    as flat ``[lon, lat, lon, lat, ...]`` lists.
    The input's provenance (package, version, file, sha256) goes into the JSON and into
    ``src/helpers/geodata/README.md``, which this script also writes.

Dependencies
    Only the Python standard library (3.11+). Without ``--deb``, the package is fetched with
    ``apt-get download`` (Debian's own client; no root needed for a download), so that is
    the one script-only tool. The helpers package itself needs nothing new at run time.

Usage
    python scripts/make_basemap.py
    python scripts/make_basemap.py --deb r-cran-rnaturalearthdata_0.1.0-2_all.deb
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import json
import lzma
import math
import struct
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import zlib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "src" / "helpers" / "geodata"

DEB_PACKAGE = "r-cran-rnaturalearthdata"
DEB_VERSION = "0.1.0-2"
DATA_DIR = "usr/lib/R/site-library/rnaturalearthdata/data"
RDB = f"{DATA_DIR}/Rdata.rdb"
RDX = f"{DATA_DIR}/Rdata.rdx"
OBJECT = "countries50"

#: The map's region: west, south, east, north (degrees).
BOX = (60.0, 0.0, 125.0, 45.0)
#: Douglas–Peucker tolerance in degrees; 0.02° is about 2 km, well under a pixel at 150 dpi.
TOLERANCE = 0.02
#: Islands smaller than this (square degrees, about 120 km² here) are dropped.
MIN_RING_AREA = 0.01
DECIMALS = 2

COMMAND = "python scripts/make_basemap.py"
LICENCE = (
    "Natural Earth data is in the public domain (https://www.naturalearthdata.com/about/"
    "terms-of-use/): no permission is needed to use, modify or distribute it. Crediting it "
    "is customary: 'Made with Natural Earth. Free vector and raster map data @ "
    "naturalearthdata.com.' The Debian package that carries it is CC0 (rnaturalearthdata)."
)


# ---------------------------------------------------------------------------------------------
# Reading the Debian package and R's serialization format
# ---------------------------------------------------------------------------------------------


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_deb(folder: Path) -> Path:
    """``apt-get download`` the pinned version into ``folder``."""
    spec = f"{DEB_PACKAGE}={DEB_VERSION}"
    subprocess.run(["apt-get", "download", spec], cwd=folder, check=True)
    (deb,) = folder.glob(f"{DEB_PACKAGE}_*.deb")
    return deb


def ar_members(data: bytes) -> dict[str, bytes]:
    """The members of an ``ar`` archive (a .deb is one)."""
    if not data.startswith(b"!<arch>\n"):
        raise SystemExit("not a Debian package (no ar header)")
    members, pos = {}, 8
    while pos + 60 <= len(data):
        header = data[pos : pos + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        members[name] = data[pos + 60 : pos + 60 + size]
        pos += 60 + size + (size % 2)
    return members


def tar_member(archive: bytes, suffix: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            if member.name.lstrip("./") == suffix:
                extracted = tar.extractfile(member)
                assert extracted is not None
                return extracted.read()
    raise SystemExit(f"{suffix} is not in the package")


def deb_version(members: dict[str, bytes]) -> str:
    name = next(n for n in members if n.startswith("control.tar"))
    control = tar_member(members[name], "control").decode()
    return next(
        line.split(":", 1)[1].strip() for line in control.splitlines() if line[:8] == "Version:"
    )


class RObject:
    """One node of an unserialized R object: its type, value and attributes."""

    def __init__(self, kind: str, value=None, attrs: dict | None = None) -> None:
        self.kind, self.value, self.attrs = kind, value, attrs or {}


class RReader:
    """Enough of R's XDR serialization (versions 2 and 3) to read ``sp`` objects."""

    NA_INT = -(2**31)

    def __init__(self, data: bytes) -> None:
        self.data, self.pos, self.refs = data, 0, []

    def int(self) -> int:
        (value,) = struct.unpack_from(">i", self.data, self.pos)
        self.pos += 4
        return value

    def length(self) -> int:
        n = self.int()
        return n if n != -1 else (self.int() << 32) + self.int()

    def read(self) -> object:
        if self.data[:2] != b"X\n":
            raise SystemExit("not R's XDR serialization format")
        self.pos = 2
        version = self.int()
        self.int(), self.int()  # R version that wrote it, oldest R that reads it
        if version == 3:
            n = self.int()
            self.pos += n  # skip the native encoding's name
        return self.item()

    def strings(self) -> list:
        self.int()
        return [self.item() for _ in range(self.int())]

    def attributes(self, node: object) -> dict:
        return dict(node.value) if isinstance(node, RObject) else {}

    def item(self) -> object:
        flags = self.int()
        kind = flags & 0xFF
        has_attr, has_tag = bool(flags & (1 << 9)), bool(flags & (1 << 10))
        if kind == 254:  # NILVALUE_SXP
            return None
        if kind in (241, 242, 250, 251, 252, 253):  # special environments and markers
            return RObject("special", kind)
        if kind == 255:  # REFSXP
            index = flags >> 8 or self.int()
            ref = self.refs[index - 1]
            return ref.value if ref.kind == "symbol" else ref
        if kind in (247, 248, 249):  # PERSISTSXP, PACKAGESXP, NAMESPACESXP
            ref = RObject("persistent", self.strings())
            self.refs.append(ref)
            return ref
        if kind == 1:  # SYMSXP
            ref = RObject("symbol")
            self.refs.append(ref)
            ref.value = self.item()
            return ref.value
        if kind == 4:  # ENVSXP
            self.int()  # locked
            ref = RObject("environment")
            self.refs.append(ref)
            self.item(), self.item(), self.item(), self.item()  # enclos, frame, hashtab, attrib
            return ref
        if kind in (2, 3, 5, 6, 17, 239, 240):  # pairlists and language objects
            items, attrs = [], None
            while True:
                attr = self.item() if has_attr else None
                attrs = attrs or attr
                tag = self.item() if has_tag else None
                items.append((tag, self.item()))
                mark = self.pos
                next_flags = self.int()
                if next_flags & 0xFF == 2:
                    has_attr, has_tag = bool(next_flags & (1 << 9)), bool(next_flags & (1 << 10))
                    continue
                self.pos = mark
                self.item()  # the list's end
                return RObject("pairlist", items, self.attributes(attrs))
        if kind == 9:  # CHARSXP
            n = self.int()
            if n == -1:
                return None
            text = self.data[self.pos : self.pos + n].decode("utf-8", "replace")
            self.pos += n
            return text
        if kind in (10, 13):  # LGLSXP, INTSXP
            n = self.length()
            values = struct.unpack_from(f">{n}i", self.data, self.pos)
            self.pos += 4 * n
            node = RObject("int", [None if v == self.NA_INT else v for v in values])
        elif kind == 14:  # REALSXP
            n = self.length()
            node = RObject("real", list(struct.unpack_from(f">{n}d", self.data, self.pos)))
            self.pos += 8 * n
        elif kind == 16:  # STRSXP
            node = RObject("str", [self.item() for _ in range(self.length())])
        elif kind in (19, 20):  # VECSXP, EXPRSXP
            node = RObject("list", [self.item() for _ in range(self.length())])
        elif kind == 24:  # RAWSXP
            n = self.length()
            node = RObject("raw", self.data[self.pos : self.pos + n])
            self.pos += n
        elif kind == 25:  # S4SXP: all in the attributes (slots)
            node = RObject("s4")
        elif kind == 238:  # ALTREP_SXP
            return self.altrep()
        else:
            raise SystemExit(f"R type {kind} is not supported (at byte {self.pos})")
        if has_attr:
            node.attrs = self.attributes(self.item())
        return node

    def altrep(self) -> RObject:
        info, state, attr = self.item(), self.item(), self.item()
        cls = info.value[0][1]
        if cls in ("compact_intseq", "compact_realseq"):
            n, first, step = state.value
            values = [first + i * step for i in range(int(n))]
            node = RObject("int" if cls == "compact_intseq" else "real", values)
        elif cls.startswith("wrap_"):
            node = state.value[0]
        else:
            raise SystemExit(f"ALTREP class {cls} is not supported")
        node.attrs.update(self.attributes(attr))
        return node


def lazy_load(rdb: bytes, rdx: bytes, name: str) -> RObject:
    """One object of an R lazy-load database (``.rdb`` with its ``.rdx`` index)."""
    index = RReader(zlib.decompress(rdx, 15 + 32)).read()
    sections = dict(zip(index.attrs["names"].value, index.value, strict=True))
    variables = sections["variables"]
    where = dict(zip(variables.attrs["names"].value, variables.value, strict=True))
    offset, size = where[name].value
    chunk = rdb[offset : offset + size]
    method = chunk[4:5]
    if method == b"Z":  # xz, as R writes it: a raw LZMA2 stream
        filters = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]
        raw = lzma.decompress(chunk[5:], format=lzma.FORMAT_RAW, filters=filters)
    elif method == b"2":
        import bz2

        raw = bz2.decompress(chunk[5:])
    else:
        raw = zlib.decompress(chunk[4:])
    return RReader(raw).read()


def countries(obj: RObject) -> list[dict]:
    """The rows of a ``SpatialPolygonsDataFrame``: attributes and rings (lon, lat)."""
    frame = obj.attrs["data"]
    columns = dict(zip(frame.attrs["names"].value, (c.value for c in frame.value), strict=True))
    out = []
    for i, polygons in enumerate(obj.attrs["polygons"].value):
        rings = []
        for polygon in polygons.attrs["Polygons"].value:
            coords = polygon.attrs["coords"].value
            n = len(coords) // 2
            # Neighbours share vertices up to float noise in the last digits; rounding to
            # 1e-6° (0.1 m) makes the shared ones equal, so borders can be found.
            xs, ys = (
                (round(v, 6) + 0.0 for v in coords[:n]),
                (round(v, 6) + 0.0 for v in coords[n:]),
            )
            rings.append(list(zip(xs, ys, strict=True)))
        iso = columns["iso_a3"][i]
        out.append(
            {
                "name": columns["name"][i],
                "iso_a3": None if iso in (None, "-99") else iso,
                "adm0_a3": columns["adm0_a3"][i],
                "rings": rings,
            }
        )
    return out


# ---------------------------------------------------------------------------------------------
# Geometry: arcs, simplification, clipping
# ---------------------------------------------------------------------------------------------

Point = tuple[float, float]


def slug(name: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split())


def area(ring: list[Point]) -> float:
    return (
        abs(
            sum(
                x0 * y1 - x1 * y0
                for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True)
            )
        )
        / 2
    )


def open_ring(ring: list[Point]) -> list[Point]:
    """Drop repeated points and the closing point."""
    out = [p for i, p in enumerate(ring) if i == 0 or p != ring[i - 1]]
    while len(out) > 1 and out[0] == out[-1]:
        out.pop()
    return out


def douglas_peucker(points: list[Point], tolerance: float) -> list[Point]:
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (ax, ay), (bx, by) = points[first], points[last]
        dx, dy = bx - ax, by - ay
        norm = math.hypot(dx, dy)
        best, index = -1.0, -1
        for i in range(first + 1, last):
            px, py = points[i]
            if norm == 0:
                d = math.hypot(px - ax, py - ay)
            else:
                d = abs(dy * (px - ax) - dx * (py - ay)) / norm
            if d > best:
                best, index = d, i
        if index >= 0 and best > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def canonical(run: list[Point], closed: bool) -> tuple[tuple[Point, ...], bool]:
    """One orientation (and, for a closed ring, one start) for an arc, and whether ``run``
    was reversed to get it: the two countries on a border then simplify the same line."""
    if closed:
        start = run.index(min(run))
        forward = run[start:] + run[:start]
        backward = [forward[0], *reversed(forward[1:])]
        return (tuple(forward), False) if forward <= backward else (tuple(backward), True)
    backward = run[::-1]
    return (tuple(run), False) if run <= backward else (tuple(backward), True)


def arcs_of(ring: list[Point], owners: dict) -> list[tuple[list[Point], frozenset, bool]]:
    """Split a ring where the country on the other side changes: (points, owners, closed)."""
    n = len(ring)
    labels = [owners[frozenset((ring[i], ring[(i + 1) % n]))] for i in range(n)]
    starts = [i for i in range(n) if labels[i] != labels[i - 1]]
    if not starts:
        return [(ring + ring[:1], labels[0], True)]
    out = []
    for k, start in enumerate(starts):
        end = starts[(k + 1) % len(starts)]
        count = (end - start) % n or n
        out.append(([ring[(start + j) % n] for j in range(count + 1)], labels[start], False))
    return out


def clip_polygon(ring: list[Point], box: tuple[float, float, float, float]) -> list[Point]:
    """Sutherland–Hodgman clipping of a ring to an axis-aligned box."""
    west, south, east, north = box
    edges = (
        (lambda p: p[0] >= west, lambda a, b: _at_x(a, b, west)),
        (lambda p: p[0] <= east, lambda a, b: _at_x(a, b, east)),
        (lambda p: p[1] >= south, lambda a, b: _at_y(a, b, south)),
        (lambda p: p[1] <= north, lambda a, b: _at_y(a, b, north)),
    )
    out = ring
    for inside, cut in edges:
        if not out:
            break
        points, out = out, []
        previous = points[-1]
        for point in points:
            if inside(point):
                if not inside(previous):
                    out.append(cut(previous, point))
                out.append(point)
            elif inside(previous):
                out.append(cut(previous, point))
            previous = point
    return out


def _at_x(a: Point, b: Point, x: float) -> Point:
    t = (x - a[0]) / (b[0] - a[0])
    return (x, a[1] + t * (b[1] - a[1]))


def _at_y(a: Point, b: Point, y: float) -> Point:
    t = (y - a[1]) / (b[1] - a[1])
    return (a[0] + t * (b[0] - a[0]), y)


def clip_line(line: list[Point], box: tuple[float, float, float, float]) -> list[list[Point]]:
    """Liang–Barsky clipping of a polyline to a box, split where it leaves the box."""
    west, south, east, north = box
    pieces: list[list[Point]] = []
    current: list[Point] = []
    for (x0, y0), (x1, y1) in itertools.pairwise(line):
        dx, dy = x1 - x0, y1 - y0
        t0, t1, keep = 0.0, 1.0, True
        for p, q in ((-dx, x0 - west), (dx, east - x0), (-dy, y0 - south), (dy, north - y0)):
            if p == 0:
                if q < 0:
                    keep = False
                    break
                continue
            t = q / p
            if p < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
        if not keep or t0 > t1:
            if current:
                pieces.append(current)
                current = []
            continue
        a = (x0 + t0 * dx, y0 + t0 * dy)
        b = (x0 + t1 * dx, y0 + t1 * dy)
        if current and current[-1] != a:
            pieces.append(current)
            current = []
        if not current:
            current = [a]
        current.append(b)
        if t1 < 1.0:
            pieces.append(current)
            current = []
    if current:
        pieces.append(current)
    return pieces


def rounded(points: list[Point]) -> list[Point]:
    out: list[Point] = []
    for x, y in points:
        p = (round(x, DECIMALS) + 0.0, round(y, DECIMALS) + 0.0)
        if not out or p != out[-1]:
            out.append(p)
    return out


def flat(points: list[Point]) -> list[float]:
    return [v for p in points for v in p]


def overlaps(ring: list[Point], box: tuple[float, float, float, float]) -> bool:
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    return max(xs) >= box[0] and min(xs) <= box[2] and max(ys) >= box[1] and min(ys) <= box[3]


def basemap(rows: list[dict], box: tuple[float, float, float, float]) -> dict:
    """Polygons, borders and coast of the countries in ``box``, simplified and clipped."""
    rings_by_country: dict[str, list[list[Point]]] = {}
    for row in rows:
        rings = [open_ring(r) for r in row["rings"]]
        rings = [r for r in rings if len(r) >= 3 and overlaps(r, box)]
        if rings:
            rings_by_country[row["adm0_a3"]] = rings
    owners: dict[frozenset, set] = defaultdict(set)
    for code, rings in rings_by_country.items():
        for ring in rings:
            for a, b in zip(ring, ring[1:] + ring[:1], strict=True):
                owners[frozenset((a, b))].add(code)
    frozen = {edge: frozenset(codes) for edge, codes in owners.items()}

    simplified: dict[tuple[Point, ...], list[Point]] = {}
    lines: dict[tuple[Point, ...], frozenset] = {}
    out_countries = []
    for row in rows:
        code = row["adm0_a3"]
        polygons = []
        for ring in rings_by_country.get(code, []):
            if area(ring) < MIN_RING_AREA:
                continue
            rebuilt: list[Point] = []
            for run, label, closed in arcs_of(ring, frozen):
                key, reversed_ = canonical(run[:-1] if closed else run, closed)
                if key not in simplified:
                    points = [*key, key[0]] if closed else list(key)
                    simplified[key] = douglas_peucker(points, TOLERANCE)
                    lines[key] = label
                points = simplified[key][::-1] if reversed_ else simplified[key]
                rebuilt += points if not rebuilt else points[1:]
            clipped = rounded(clip_polygon(open_ring(rebuilt), box))
            clipped = open_ring(clipped)
            if len(clipped) >= 3 and area(clipped) > 0:
                polygons.append(flat(clipped))
        if polygons:
            out_countries.append(
                {
                    "id": slug(row["name"]),
                    "name": row["name"],
                    "iso_a3": row["iso_a3"],
                    "rings": polygons,
                }
            )
    borders, coast = [], []
    for key in sorted(simplified):
        is_border = len(lines[key]) > 1 or _hugs_a_neighbour(key, lines[key], rings_by_country)
        for piece in clip_line(simplified[key], box):
            piece = rounded(piece)
            if len(piece) >= 2:
                (borders if is_border else coast).append(flat(piece))
    out_countries.sort(key=lambda c: c["name"])
    return {"countries": out_countries, "borders": borders, "coast": coast}


def _hugs_a_neighbour(
    arc: tuple[Point, ...], owner: frozenset, rings_by_country: dict[str, list[list[Point]]]
) -> bool:
    """Whether an arc that only one country has runs along another country's edge.

    In a few places neighbours' vertices do not match (Natural Earth digitised both sides
    of a border separately there); such an arc is a land border, not coast.
    """
    near = 0.02
    px, py = arc[len(arc) // 2]
    for code, rings in rings_by_country.items():
        if code in owner:
            continue
        for ring in rings:
            for (ax, ay), (bx, by) in zip(ring, ring[1:] + ring[:1], strict=True):
                if min(ax, bx) - near > px or max(ax, bx) + near < px:
                    continue
                if min(ay, by) - near > py or max(ay, by) + near < py:
                    continue
                dx, dy = bx - ax, by - ay
                t = ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy or 1.0)
                t = min(max(t, 0.0), 1.0)
                if math.hypot(ax + t * dx - px, ay + t * dy - py) < near:
                    return True
    return False


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def readme(provenance: dict, size: int, n_countries: int) -> str:
    src = provenance

    def wrap(text: str) -> str:
        return textwrap.fill(text, 92, break_on_hyphens=False, break_long_words=False)

    return f"""# Geodata for the locator map

`basemap.json` is what `helpers.maps.locator_map` draws: {n_countries} country polygons (name,
ISO A3 code), the land borders between them and the coastline, for the region
{BOX[0]:g}–{BOX[2]:g}° E, {BOX[1]:g}–{BOX[3]:g}° N, clipped to that box. It is {size:,} bytes,
read once per process; nothing is downloaded at run time. Do not edit it by hand:
regenerate it with the script below.

## Where it comes from

- Data: {src["data"]} (the R object `{src["object"]}`)
- Packaged by: {src["distribution"]}, package `{src["package"]}` version `{src["version"]}`
  (rnaturalearthdata 0.1.0 from CRAN, 2017), sha256 of the .deb
  `{src["package_sha256"]}`
- Input file: `{src["file"]}` in that package, sha256
  `{src["sha256"]}`

## Licence

{wrap(LICENCE)}

The chart's source line says so: "basemap: Natural Earth (public domain)".

## How it was made

{wrap(src["processing"])}

Regenerate it (the same input gives byte-identical output) from the project root with:

```
{COMMAND}
```

The script needs only the Python standard library and, unless it is given `--deb PATH`,
Debian's `apt-get download` to fetch the pinned package. Rings and lines are stored as flat
`[lon, lat, lon, lat, ...]` lists.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deb", type=Path, help=f"a downloaded {DEB_PACKAGE} .deb")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder to write into")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        deb = args.deb or download_deb(Path(tmp))
        deb_bytes = deb.read_bytes()
    members = ar_members(deb_bytes)
    data_tar = members[next(n for n in members if n.startswith("data.tar"))]
    rdb, rdx = tar_member(data_tar, RDB), tar_member(data_tar, RDX)
    version = deb_version(members)
    rows = countries(lazy_load(rdb, rdx, OBJECT))
    geo = basemap(rows, BOX)
    provenance = {
        "data": "Natural Earth 1:50m Cultural Vectors, Admin 0 – Countries",
        "distribution": "Debian",
        "package": DEB_PACKAGE,
        "version": version,
        "package_sha256": sha256(deb_bytes),
        "file": RDB,
        "object": OBJECT,
        "sha256": sha256(rdb),
        "processing": (
            f"Countries whose rings reach the box were kept; islands under {MIN_RING_AREA:g} "
            "square degrees dropped; rings split into arcs where the neighbouring country "
            f"changes and each arc simplified once (Douglas–Peucker, {TOLERANCE:g}°); an arc "
            "only one country has counts as a border, not coast, where it runs along another "
            "country's edge (Natural Earth digitised a few borders on both sides); "
            "polygons clipped to the box (Sutherland–Hodgman) and lines clipped to it "
            f"(Liang–Barsky); coordinates rounded to {DECIMALS} decimals."
        ),
    }
    document = {
        "name": "Natural Earth 1:50m admin-0 countries, clipped to the locator map's region",
        "bbox": list(BOX),
        "source": provenance,
        "licence": LICENCE,
        "attribution": "Made with Natural Earth",
        "regenerate": COMMAND,
        "encoding": "rings and lines are flat [lon, lat, lon, lat, ...] lists (degrees)",
        **geo,
    }
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "basemap.json").write_text(text + "\n", encoding="utf-8")
    size = len((text + "\n").encode())
    (args.out / "README.md").write_text(
        readme(provenance, size, len(geo["countries"])), encoding="utf-8"
    )
    print(
        f"wrote {args.out / 'basemap.json'}: {size:,} bytes, {len(geo['countries'])} countries, "
        f"{len(geo['borders'])} border and {len(geo['coast'])} coast lines",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
