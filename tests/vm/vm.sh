#!/usr/bin/env bash
# A real cgroup v2 kernel for step 05's checks: Debian's kernel package booted under qemu, with this
# machine's / read-only over 9p and a tmpfs overlay on top, so the VM runs the very JDK, JBang cache
# and solutions/ of this machine without an image to build. (This machine's cgroups are hybrid: the
# VM is where the pure-v2 path of step 05 is proven.)
#
# Usage: tests/vm/vm.sh prepare              fetch the kernel (apt-get download, no install) and
#                                             build the initramfs, under build/vm/ (cached)
#        tests/vm/vm.sh check SCRIPT OUTDIR   boot the VM and run tests/vm/inside.sh against step
#                                             file SCRIPT; results land in OUTDIR (see inside.sh)
#        tests/vm/vm.sh can-run               exit 0 when qemu-system-x86_64 is here, else say why
#
# Needs: qemu-system-x86 (apt-get), busybox-static, apt-get and dpkg-deb. No KVM: plain emulation
# (-accel tcg), about 25 times slower than this machine, which is why inside.sh runs little.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
VM="$ROOT/build/vm"
# Loaded in this order: each needs the ones before it (modules.dep of the 6.1 kernel).
MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
         netfs fscache 9pnet 9pnet_virtio 9p overlay)
TIMEOUT=${JOCKER_VM_TIMEOUT:-600}

say() { printf 'vm: %s\n' "$*" >&2; }
die() { printf 'vm: %s\n' "$*" >&2; exit 125; }

can_run() {
  command -v qemu-system-x86_64 >/dev/null 2>&1 \
    || { echo "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"; return 1; }
  [ -x /bin/busybox ] && file_is_static /bin/busybox \
    || { echo "no static /bin/busybox for the initramfs (apt-get install busybox-static)"; return 1; }
  command -v dpkg-deb >/dev/null 2>&1 || { echo "no dpkg-deb to unpack the kernel package"; return 1; }
  return 0
}

file_is_static() { ! LC_ALL=C ldd "$1" >/dev/null 2>&1; }

# The newest linux-image-6.1.0-N-amd64 apt knows, fetched once with `apt-get download` and
# unpacked with dpkg-deb (nothing is installed): vmlinuz and the modules listed above.
fetch_kernel() {
  if [ -s "$VM/kernel/vmlinuz" ] && [ -s "$VM/kernel/modules/overlay.ko" ]; then return 0; fi
  mkdir -p "$VM/cache"
  local deb; deb=$(ls "$VM"/cache/linux-image-6.1.0-*-amd64_*.deb 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$deb" ]; then
    local pkg
    pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null | awk '{print $1}' | sort -V | tail -1)
    [ -n "$pkg" ] || die "apt knows no linux-image-6.1.0-*-amd64 package (is this Debian 12 with apt-get update done?)"
    say "fetching $pkg (apt-get download, into build/vm/cache)"
    (cd "$VM/cache" && apt-get download -q "$pkg" >&2 2>/dev/null) || (cd "$VM/cache" && apt-get download "$pkg" >&2) \
      || die "apt-get download $pkg failed"
    deb=$(ls "$VM"/cache/linux-image-6.1.0-*-amd64_*.deb | sort -V | tail -1)
  fi
  say "unpacking $(basename "$deb")"
  local x; x=$(mktemp -d "$VM/unpack.XXXXXX")
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$x" --wildcards './boot/vmlinuz-*' \
    $(printf "./lib/modules/*/%s.ko " "${MODULES[@]/#/kernel/*/}") 2>/dev/null \
    || dpkg-deb -x "$deb" "$x"
  rm -rf "$VM/kernel.new"; mkdir -p "$VM/kernel.new/modules"
  cp "$x"/boot/vmlinuz-* "$VM/kernel.new/vmlinuz"
  local m f
  for m in "${MODULES[@]}"; do
    f=$(find "$x/lib/modules" -name "$m.ko" | head -1)
    [ -n "$f" ] || { rm -rf "$x"; die "the kernel package has no module $m.ko"; }
    cp "$f" "$VM/kernel.new/modules/"
  done
  basename "$deb" > "$VM/kernel.new/package"
  rm -rf "$x" "$VM/kernel"; mv "$VM/kernel.new" "$VM/kernel"
}

# The initramfs: static busybox, the modules, and tests/vm/init as /init (newc cpio, gzip).
build_initramfs() {
  local out="$VM/initramfs.cpio.gz"
  if [ -s "$out" ] && [ "$out" -nt "$HERE/init" ] && [ "$out" -nt "$VM/kernel/vmlinuz" ]; then return 0; fi
  say "building the initramfs"
  local r; r=$(mktemp -d "$VM/initramfs.XXXXXX")
  mkdir -p "$r"/{bin,dev,proc,sys,mnt,modules}
  cp /bin/busybox "$r/bin/busybox"
  ln -s busybox "$r/bin/sh"
  cp "$HERE/init" "$r/init"; chmod 755 "$r/init"
  cp "$VM"/kernel/modules/*.ko "$r/modules/"
  printf '%s\n' "${MODULES[@]}" > "$r/modules/order"
  # busybox's cpio: Debian's cpio package is not always installed
  (cd "$r" && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -1) > "$out.tmp" \
    || { rm -rf "$r" "$out.tmp"; die "cannot pack the initramfs"; }
  mv "$out.tmp" "$out"; rm -rf "$r"
}

prepare() {
  local why; why=$(can_run) || die "$why"
  mkdir -p "$VM"
  fetch_kernel
  build_initramfs
}

# Boots the VM and runs inside.sh in it. The host's / is the VM's lower layer (read-only 9p),
# OUTDIR is shared writable (9p tag "results"): inside.sh reads the java command line from it and
# writes its results there. The console goes to OUTDIR/console.log.
check() {
  [ $# -eq 2 ] || die "usage: vm.sh check SCRIPT OUTDIR"
  local script; script=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
  local out=$2
  prepare
  mkdir -p "$out"; out=$(cd "$out" && pwd)
  find "$out" -maxdepth 1 -type f -delete   # the last run's results (files only)
  # JBang's protocol: the jar builds the script if needed, prints the java command line, exits 255.
  local cmd rc=0
  cmd=$(java -cp '/usr/local/lib/jbang/*' dev.jbang.Main "$script") || rc=$?
  [ "$rc" -eq 255 ] || die "could not resolve the java command of $script with JBang (exit $rc): $cmd"
  printf '%s\n' "$cmd" > "$out/command"
  printf '%s\n' "$ROOT/build/images/busybox.tar" > "$out/image"
  [ -s "$ROOT/build/images/busybox.tar" ] || die "no build/images/busybox.tar: run ./build.sh setup"
  say "booting $(cat "$VM/kernel/package") (results in $out)"
  local started=$SECONDS
  rc=0
  # The VM is the longest of the checks and runs beside the others: a little more CPU weight
  # (nice -5, as root) keeps it from finishing last, long after them.
  local nice=(); [ "$(id -u)" -eq 0 ] && nice=(nice -n -5)
  timeout --foreground -k 10 "$TIMEOUT" "${nice[@]}" qemu-system-x86_64 -accel tcg -m 2048 -smp 2 -nographic -no-reboot \
    -kernel "$VM/kernel/vmlinuz" -initrd "$VM/initramfs.cpio.gz" \
    -append "console=ttyS0 quiet loglevel=3 panic=-1 jocker.inside=$HERE/inside.sh" \
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
    -virtfs local,path="$out",mount_tag=results,security_model=none \
    -nic none -serial mon:stdio </dev/null > "$out/console.log" 2>&1 || rc=$?
  echo "$((SECONDS - started))" > "$out/vm-seconds"
  [ "$rc" -eq 0 ] || { say "qemu exited with $rc after $((SECONDS - started)) s (124: timed out); see $out/console.log"; exit 1; }
  [ -f "$out/done" ] || { say "the VM ended without finishing inside.sh; see $out/console.log"; exit 1; }
  say "VM done in $((SECONDS - started)) s"
}

case "${1:-}" in
  prepare) prepare ;;
  check) shift; check "$@" ;;
  can-run) can_run ;;
  *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 125 ;;
esac
