"""Fail if a committed notebook carries outputs or execution counts (what nbstripout removes)."""

import json
import sys
from pathlib import Path

bad = []
for path in sorted(Path(sys.argv[1] if len(sys.argv) > 1 else "notebooks").glob("*.ipynb")):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count")):
            bad.append(f"{path}: cell {i} has outputs or an execution count; run nbstripout {path}")
print("\n".join(bad) or "notebooks are stripped")
sys.exit(1 if bad else 0)
