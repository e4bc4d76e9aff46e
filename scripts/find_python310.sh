#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter: TFX 1.16 installs on Python 3.9-3.10 only.
# Looks on PATH first, then in pyenv; fails with instructions when neither has one.
set -euo pipefail

is_python310() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1
}

for candidate in python3.10 python3 python; do
  if command -v "$candidate" >/dev/null 2>&1 && is_python310 "$candidate"; then
    command -v "$candidate"
    exit 0
  fi
done

if command -v pyenv >/dev/null 2>&1; then
  for version in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.10(\.[0-9]+)?$' | sort -t. -k3 -n -r); do
    candidate="$(pyenv prefix "$version")/bin/python3.10"
    if is_python310 "$candidate"; then
      echo "$candidate"
      exit 0
    fi
  done
fi

cat >&2 <<'MESSAGE'
error: Python 3.10 not found (TFX 1.16 supports Python 3.9-3.10 only).
Install it, then rerun make, for example:
  pyenv install 3.10.13          # with pyenv
  apt-get install python3.10-venv  # on Debian/Ubuntu releases that package it
or put a python3.10 on PATH.
MESSAGE
exit 1
