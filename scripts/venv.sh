# Sourced by run.sh and test.sh: make .venv hold exactly the pinned requirements.
# Reinstalls only when the requirements file changed since the last install.
set -euo pipefail
ensure_venv() {
    local requirements="$1"
    local python="${PYTHON:-python3}"
    if [[ ! -x .venv/bin/python ]]; then
        echo "Creating the virtual environment in .venv ..."
        "$python" -m venv .venv
    fi
    local stamp=".venv/.installed-$(basename "$requirements")"
    local wanted
    wanted="$(cat requirements.txt "$requirements" | sha256sum | cut -d' ' -f1)"
    if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$wanted" ]]; then
        echo "Installing $requirements into .venv ..."
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
        echo "$wanted" > "$stamp"
    fi
}
