#!/usr/bin/env bash
# Debian packages the project needs beyond PyPI, installed only when missing.
#   runtime: Pango (WeasyPrint's text layout) and the fonts the briefs use (make briefs)
#   test:    the runtime packages, and Chromium (HTML checks), poppler-utils (pdffonts) and
#            npm (axe-core for the accessibility tests; skipped when an npm is on PATH) for
#            the tests only (make test, make setup)
# Usage: scripts/system-deps.sh [runtime|test]
set -euo pipefail
want=(libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core fonts-noto-core)
case ${1:-runtime} in
  runtime) ;;
  test)
    want+=(chromium poppler-utils)
    command -v npm >/dev/null || want+=(npm)
    ;;
  *)
    echo "usage: scripts/system-deps.sh [runtime|test], not: $1" >&2
    exit 2
    ;;
esac
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "missing Debian packages: ${missing[*]} (install them with apt-get as root)" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
