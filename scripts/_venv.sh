# Sourced by scripts/run and scripts/test: make .venv and install $1 into it,
# again only when the requirements file changed.
set -euo pipefail
req="$1"
py="${PYTHON:-python3}"
"$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "cozy needs Python 3.11 or newer (found $("$py" --version))" >&2; exit 1; }
[ -x .venv/bin/python ] || "$py" -m venv .venv
stamp=".venv/.installed-$(basename "$req")"
want=$(cat "$req" requirements.txt | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "installing Python packages from $req ..."
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
  .venv/bin/python -m pip install -q -r "$req" 2>&1 | grep -v "is ignored" || true
  .venv/bin/python -c 'import django, minio, celery' # fail loudly if the install did not work
  echo "$want" > "$stamp"
fi
