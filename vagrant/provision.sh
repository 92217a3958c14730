#!/usr/bin/env bash
# Provisions the workshop VM (Vagrant runs it as root), or any Debian or Ubuntu machine:
#   1. ./build.sh setup, the same setup a learner's own machine and CI get, so the VM cannot
#      drift from what is tested;
#   2. what only a connected machine can do: pull busybox and alpine from Docker Hub with the last
#      solution's pull, so that they are there when the network is not. Without a network this is
#      skipped with one line: every step runs from the embedded busybox image.
# Run again, it changes nothing: setup is safe to repeat, and an image already pulled is kept.
# It works wherever the repository is (/vagrant in the VM): it finds it from its own path.
# tests/workshop/WorkshopChecks.java runs it twice in a pristine Debian root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '==> %s\n' "$*" >&2; }

./build.sh setup

IMAGES=(busybox alpine)
last=$(ls solutions/[0-9][0-9]_*.java | tail -1)
if ! jbang "$last" images -q >/dev/null 2>&1; then
  say "provision: $last has no pull yet: skipped pulling ${IMAGES[*]}"
  exit 0
fi
for image in "${IMAGES[@]}"; do
  if [ -n "$(jbang "$last" images -q "$image:latest" 2>/dev/null)" ]; then
    say "provision: $image:latest is already pulled"
    continue
  fi
  err=$(jbang "$last" pull -q "$image" 2>&1 >/dev/null) && { say "provision: pulled $image:latest"; continue; }
  case "$err" in
    *"cannot reach registry"*)
      say "provision: no network to Docker Hub ($(printf '%s' "$err" | sed -n 's/.*: \(cannot reach registry .*\)/\1/p' | head -1)): skipped pulling ${IMAGES[*]}; the steps run from the embedded busybox image"
      exit 0 ;;
    *)
      say "provision: warning: could not pull $image: $(printf '%s' "$err" | tail -1)" ;;
  esac
done
