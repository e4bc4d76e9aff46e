#!/usr/bin/env bash
# Installs tcmalloc (Debian's libtcmalloc-minimal4), which `gc-tfx run` preloads for training (cli/allocator.py).
# Idempotent and never fatal: where it cannot be installed, everything still works with glibc's malloc, only
# slower, and this says so.
set -uo pipefail

for folder in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib; do
  if [ -e "$folder/libtcmalloc_minimal.so.4" ]; then
    exit 0
  fi
done
skip() {
  echo "install_tcmalloc.sh: $1; gc-tfx trains with glibc's malloc, about half as fast at 300 px." >&2
  exit 0
}
command -v apt-get >/dev/null || skip "no apt-get here: install tcmalloc (libtcmalloc_minimal.so.4) another way"
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || skip "not root and no sudo to run apt-get"
  as_root=(sudo)
fi
"${as_root[@]}" apt-get update -qq || skip "apt-get update failed"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  libtcmalloc-minimal4 >/dev/null || skip "apt-get install libtcmalloc-minimal4 failed"
