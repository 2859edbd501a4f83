#!/usr/bin/env bash
# Create or update the project's venv from the lock file, and make sure a CJK font exists.
# Idempotent: re-running only installs what changed. Used by `make playbook` and `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3

# 1. A font with Chinese glyphs, so charts' Chinese labels render (5 MB from Debian).
if ! { command -v fc-list >/dev/null && [ -n "$(fc-list :lang=zh 2>/dev/null | head -1)" ]; }; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "setup: installing a CJK font (fonts-wqy-microhei) with apt"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        fonts-wqy-microhei fontconfig >/dev/null; } \
      || echo "setup: could not install fonts-wqy-microhei; Chinese chart labels will show boxes"
    rm -f ~/.cache/matplotlib/fontlist-*.json
  else
    echo "setup: no CJK font found; install one (e.g. 'sudo apt-get install fonts-wqy-microhei')" \
         "or Chinese chart labels will show boxes"
  fi
fi

# 2. The venv, from the exact versions in requirements.lock.
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
stamp="$VENV/.installed"
hash=$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$hash" ]; then
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -r requirements.lock
  "$VENV/bin/python" -m pip install -q --no-deps -e .
  echo "$hash" > "$stamp"
fi

# 3. The named kernel: any Jupyter on this machine runs the notebooks with this venv's packages
#    (prepared notebooks name it; `playbook lab` registers it too when it is missing).
"$VENV/bin/python" -m ipykernel install --user --name ecommerce-playbook \
  --display-name "Python (ecommerce-playbook)" >/dev/null \
  || echo "setup: could not register the ecommerce-playbook kernel (\`playbook lab\` retries)"

# 4. This venv's JupyterLab opens the playbook's .py sources (jupytext pairs) as notebooks on a
#    double click (an installation default: a user's own settings still win). Pairing itself is
#    per notebook (playbook/*.ipynb metadata); jupytext.toml pairs nothing else, so a prepared
#    notebook saved in a work folder writes no .py beside it.
mkdir -p "$VENV/share/jupyter/lab/settings"
cat > "$VENV/share/jupyter/lab/settings/overrides.json" <<'JSON'
{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"python": "Jupytext Notebook"}}}
JSON
