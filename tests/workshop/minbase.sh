#!/usr/bin/env bash
# A pristine Debian root (debootstrap's minbase: no procps, no curl, no Java), made once and kept
# under build/minbase, in which the workbook is tried as a fresh machine would try it.
#
#   tests/workshop/minbase.sh image             build/minbase/bookworm.tar, made once (debootstrap)
#   tests/workshop/minbase.sh make DIR          DIR: the minbase, this machine's apt sources, its
#                                               proxy and its own CAs, and the repository's
#                                               git-tracked files in /root/jocker
#   tests/workshop/minbase.sh run DIR CMD       runs the shell command CMD as root in /root/jocker
#                                               of DIR, DIR as the root of a mount namespace of
#                                               its own
#   tests/workshop/minbase.sh clean DIR         unmounts anything left under DIR, removes DIR
#
# The mounts a run needs (DIR on itself, /proc, /sys with the cgroup hierarchies, /dev with
# /dev/pts) are made in a private mount namespace (unshare), where DIR then becomes the root
# (pivot_root), so they go when the run ends, whatever happens; clean lazily unmounts, deepest first,
# whatever is still mounted under DIR itself, and nothing else.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SUITE=bookworm
CACHE="$ROOT/build/minbase/$SUITE.tar"

die() { printf 'minbase.sh: %s\n' "$*" >&2; exit 125; }
say() { printf '==> %s\n' "$*" >&2; }

# The Debian mirror this machine's apt uses (the first http URI of its sources), else Debian's own.
mirror() {
  local uri
  uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
    | sed -n -e 's/^URIs: *\(http[^ ]*\/debian\)\/*$/\1/p' -e 's/^deb  *\(\[[^]]*\] *\)\{0,1\}\(http[^ ]*\/debian\)\/* .*/\2/p' \
    | head -1)
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

cmd_image() {
  if [ -s "$CACHE" ]; then printf '%s\n' "$CACHE"; return 0; fi
  command -v debootstrap >/dev/null 2>&1 || die "no debootstrap (apt-get install debootstrap)"
  mkdir -p "$(dirname "$CACHE")"
  local tmp; tmp=$(mktemp -d "$(dirname "$CACHE")/.debootstrap-XXXXXX")
  say "making a Debian $SUITE minbase with debootstrap from $(mirror) (once; kept in ${CACHE#"$ROOT"/})"
  if ! debootstrap --variant=minbase "$SUITE" "$tmp/root" "$(mirror)" > "$tmp/log" 2>&1; then
    tail -5 "$tmp/log" >&2
    rm -rf --one-file-system "$tmp"
    die "debootstrap failed"
  fi
  tar --numeric-owner -C "$tmp/root" -cf "$tmp/root.tar" .
  mv "$tmp/root.tar" "$CACHE"
  rm -rf --one-file-system "$tmp"
  printf '%s\n' "$CACHE"
}

cmd_make() {
  local dir=$1
  [ ! -e "$dir" ] || [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
  cmd_image >/dev/null
  mkdir -p "$dir"
  tar --numeric-owner -C "$dir" -xf "$CACHE"
  # apt inside reaches the mirror as this machine's apt does: its sources, its Acquire options
  # (proxy, validity of a snapshot's Release files), and its DNS.
  rm -f "$dir"/etc/apt/sources.list "$dir"/etc/apt/sources.list.d/*
  cp /etc/apt/sources.list "$dir/etc/apt/" 2>/dev/null || true
  local f
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && cp "$f" "$dir/etc/apt/sources.list.d/"
  done
  for f in /etc/apt/apt.conf /etc/apt/apt.conf.d/*; do
    [ -f "$f" ] && grep -qi '^[[:space:]]*Acquire' "$f" && cp "$f" "$dir${f}"
  done
  cp -L /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
  # This machine's own certificate authorities (a TLS-intercepting proxy's, say): trusted inside
  # too once ca-certificates is installed there (setup's JDK brings it), Java's keystore included.
  if [ -d /usr/local/share/ca-certificates ]; then
    mkdir -p "$dir/usr/local/share/ca-certificates"
    cp -r /usr/local/share/ca-certificates/. "$dir/usr/local/share/ca-certificates/"
  fi
  # The repository as a learner's clone has it: the files git tracks, in /root/jocker.
  mkdir -p "$dir/root/jocker"
  git -C "$ROOT" ls-files -z | (cd "$ROOT" && xargs -0 tar --no-recursion -cf - --) | tar -C "$dir/root/jocker" -xf -
}

cmd_run() {
  local dir=$1; shift
  [ -x "$dir/bin/bash" ] || die "$dir is not a minbase root (make it with: minbase.sh make $dir)"
  command -v unshare >/dev/null 2>&1 || die "no unshare (util-linux)"
  # In a mount namespace of its own, private: nothing mounted here reaches this machine's.
  unshare --mount --propagation private -- /bin/bash -c '
    set -e
    d=$1; shift
    mount --bind "$d" "$d"
    mount -t proc proc "$d/proc"
    mount --rbind /sys "$d/sys"
    mount --rbind /dev "$d/dev"
    # pivot_root, not chroot alone: DIR becomes the root of this namespace, as / is on a real
    # machine, so that a container'"'"'s pivot_root (step 03 on) is not left below this root, where
    # ".." climbs out of it.
    mkdir -p "$d/.minbase-old-root"
    cd "$d"
    pivot_root . .minbase-old-root
    umount -l /.minbase-old-root
    rmdir /.minbase-old-root
    exec /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8 \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      /bin/bash -c "cd /root/jocker && $1"' minbase "$dir" "$*"
}

cmd_clean() {
  local dir m
  dir=$(realpath -m "$1")
  [ "$dir" != / ] || die "will not clean /"
  # Whatever is still mounted under DIR in this namespace, deepest first (the mount table's order
  # reversed), lazily; octal escapes in mountinfo (\040 for a space) are decoded first.
  while read -r m; do
    m=$(printf '%b' "$m")
    case "$m" in "$dir"|"$dir"/*) umount -l "$m" 2>/dev/null || true ;; esac
  done < <(awk '{print $5}' /proc/self/mountinfo | tac)
  if [ -e "$dir" ]; then rm -rf --one-file-system "$dir"; fi
}

case "${1:-}" in
  image) cmd_image ;;
  make) [ $# -eq 2 ] || die "usage: minbase.sh make DIR"; cmd_make "$2" ;;
  run) [ $# -ge 3 ] || die "usage: minbase.sh run DIR COMMAND"; shift; cmd_run "$@" ;;
  clean) [ $# -eq 2 ] || die "usage: minbase.sh clean DIR"; cmd_clean "$2" ;;
  *) die "usage: minbase.sh image | make DIR | run DIR COMMAND | clean DIR" ;;
esac
