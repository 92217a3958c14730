#!/usr/bin/env bash
# The one entry point of the workbook. Run ./build.sh --help for the commands.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD="$ROOT/build"
STATE_ROOT="${JOCKER_ROOT:-/var/lib/jocker}"
JBANG_VERSION=0.132.1
JBANG_HOME=/usr/local/lib/jbang
JBANG_LAUNCHER=/usr/local/bin/jbang
# The steps that exist, in order; the most advanced solution is the last one.
STEPS=(01_fork_exec 02_chroot 03_mount_ns 04_pid_ns 05_cgroups 06_pull_image 07_overlay 08_network)

usage() {
  cat <<'USAGE'
Usage: ./build.sh COMMAND [ARGS]

The workbook's one entry point. Every command except --help and doctor needs root (sudo).

Commands:
  setup              Install what is missing (JDK 17+, JBang, busybox, iproute2, iptables), warm the
                     JBang cache and build the embedded busybox image. Safe to run again. (qemu
                     and a kernel for the cgroup v2 VM come only with test and check 05 --vm.)
  demo               Set up if needed, then run a container from the embedded busybox image
                     with the most advanced solution, and show what isolation it has.
  test [--all] [--jobs N]
                     Set up if needed, run the unit tests, the checks of every solution (each
                     its own step's checks and the essential ones of the steps before; the last
                     solution all of them; --all: every solution all of them) and the integrity
                     checks, N check classes at a time, beside the book (docs --check), then the
                     chapters' transcripts; ends with "N passed, N failed"; JUnit XML goes to
                     build/test-results. --all also runs the broken variants (see mutants), the
                     chapters' check transcripts, the JBang launcher's cache test, and checks the
                     workshop VM: vagrant validate, and provision.sh twice in a Debian minbase.
  check NN [--dir DIR] [--jobs N] [--vm]
                     Check your step NN (steps/, or DIR) on the reference solutions of the steps
                     before it, then on your own, with a report of what failed and which TODO
                     and chapter section to read. Step 05 is checked on this machine's cgroups;
                     --vm also boots a cgroup v2 kernel under qemu where this machine is not
                     pure v2 (test always does; qemu and the kernel are installed for it).
  grade DIR... [--learners N] [--jobs N]
                     Grade learners: each DIR is a learner's copy of steps/ (or of the whole
                     workbook), every step file there judged as check NN judges it, each learner
                     with state roots, cgroups and networks of their own, N learners at a time
                     (default 2). Prints a table (passed/total per step, time per learner) and
                     writes build/grades/grades.csv and build/grades/NAME.xml (JUnit XML).
  mutants [NN|ID]... Run the deliberately broken variants of the solutions (tests/mutants/mutants.txt),
                     each through its step's checks, and say how many the checks caught and which
                     survived; all of them by default (slow: each run stops at its first failing
                     check, yet steps 01-06 took an hour here; test --all runs them).
  catch-up NN        Copy the solution of step NN over steps/, keeping a backup of your file
                     (steps/NN_name.java.bak-TIMESTAMP); also of every earlier step whose file
                     is missing or still has a TODO left (a Todo.missing( call), with backups.
  docs [--check]     Render README.adoc and chapters/ into the HTML book under build/book/; fails
                     on any Asciidoctor warning. --check opens it in headless Chromium (installed
                     for it) and keeps a screenshot per page in build/book-screenshots/.
  doctor             Say, one line each, what this machine has for the workbook (root, kernel,
                     namespaces, the cgroup layout, overlayfs, veth and bridge, iptables, JDK,
                     JBang, the busybox image) and which step needs what is missing. Reads only.
  bench [--runs N]   Time a container's start (the last solution's "run busybox true") against
                     runc and crun starting the same rootfs, alternating; prints medians, ratios.
  bench pull [--runs N]
                     Time pulling a ~100 MB multi-layer image from a local registry against
                     skopeo copy, and unpacking it against umoci unpack (and umoci + runc run),
                     alternating; prints medians, ratios and whether step 06's targets are met.
  bench overlay [--runs N]
                     Time the second run of that image under the overlay storage driver against
                     a run of a one-layer busybox image (and under vfs), alternating, and measure
                     the disk ten running containers of it take under each driver; prints
                     medians, ratios and whether step 07's targets are met.
  --help             Show this help.

Exit codes: 0 on success, 1 when checks fail, 125 when the command itself cannot run.
USAGE
}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 125; }

require_root() {
  [ "$(id -u)" -eq 0 ] || die "must be run as root: containers need namespaces, mounts and cgroups (try: sudo ./build.sh $*)"
}

step_file() {   # step_file NN DIR -> the file of step NN in DIR
  local nn=$1 dir=$2 s
  for s in "${STEPS[@]}"; do
    if [ "${s%%_*}" = "$nn" ]; then printf '%s/%s.java\n' "$dir" "$s"; return 0; fi
  done
  die "no step $nn: the steps are ${STEPS[*]}"
}

java_major() {
  command -v java >/dev/null 2>&1 || { echo 0; return; }
  java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p'
}

apt_install() {   # apt_install PACKAGE... : installs those that are missing
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "cannot install ${missing[*]}: no apt-get here (install them by hand)"
  say "installing ${missing[*]}"
  if [ -z "${APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || die "apt-get update failed"
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
}

# JBang from Maven Central (its own installer downloads from elsewhere): the jar and its
# dependencies, resolved by Maven, plus a launcher that follows JBang's protocol: the jar prints
# a java command line and exits 255, and the launcher then execs that line. JBang's own JVM lives
# for half a second on every run, so the launcher starts it with the flags of a short-lived JVM
# and a class-data archive (AppCDS) of JBang's classes, made here once per JBang and java.
# Run again, this refreshes the launcher and the archive; a JBang installed otherwise is left alone.
install_jbang() {
  local marker="installed by the workbook's build.sh"
  if command -v jbang >/dev/null 2>&1 && ! grep -qs "$marker" "$JBANG_LAUNCHER"; then return 0; fi
  if [ ! -f "$JBANG_HOME/jbang-cli-$JBANG_VERSION.jar" ]; then
    command -v mvn >/dev/null 2>&1 || apt_install maven
    say "installing JBang $JBANG_VERSION from Maven Central into $JBANG_HOME"
    local tmp; tmp=$(mktemp -d)
    cat > "$tmp/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
  <groupId>local</groupId><artifactId>jbang-install</artifactId><version>1</version>
  <dependencies><dependency><groupId>dev.jbang</groupId><artifactId>jbang-cli</artifactId>
    <version>$JBANG_VERSION</version></dependency></dependencies></project>
POM
    rm -rf "$JBANG_HOME.new"
    mvn -q -f "$tmp/pom.xml" dependency:copy-dependencies -DoutputDirectory="$JBANG_HOME.new" >&2 \
      || { rm -rf "$tmp" "$JBANG_HOME.new"; die "could not fetch dev.jbang:jbang-cli:$JBANG_VERSION from Maven Central"; }
    rm -rf "$tmp" "$JBANG_HOME"
    mv "$JBANG_HOME.new" "$JBANG_HOME"
  fi

  # The java the launcher will use (the same choice as in the launcher), by its real path: the
  # launcher passes the archive only to that java, and a JDK update makes a new archive.
  local java=java
  [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ] && java="$JAVA_HOME/bin/java"
  java=$(readlink -f "$(command -v "$java")") || die "no java found for JBang"
  local archive="$JBANG_HOME/jbang.jsa" key
  key="jbang $JBANG_VERSION; $java; $("$java" -version 2>&1 | tr '\n' ' ')"
  local fast=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData)

  sed -e "s|@JBANG_HOME@|$JBANG_HOME|g" -e "s|@ARCHIVE_JAVA@|$java|g" -e "s|@MARKER@|$marker|" \
    > "$JBANG_LAUNCHER.new" <<'LAUNCHER'
#!/usr/bin/env bash
# JBang launcher (@MARKER@ from Maven Central's dev.jbang:jbang-cli).
# The jar does the work and prints a java command line with exit code 255; we then exec it.
# JBang's JVM runs C1 only, with the serial GC and no perf data file, and, when it is the java
# that made it, with the class-data archive of JBang's classes (-Xshare:auto: a missing or stale
# archive is ignored, quietly). JBANG_JAVA_OPTIONS come last, so they can override all of these.
JAVA_CMD=java
[ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ] && JAVA_CMD="$JAVA_HOME/bin/java"

# The command cache. `jbang FILE.java ARGS...` spends ~0.6 s in JBang's JVM to print the same
# java command line again and again. When nothing JBang builds that line from has changed, we
# exec the line it printed last time, with this call's ARGS. The key is a hash of: this launcher,
# JBang's jars, the java it would find, the environment and the directories it reads its
# settings from, and the name and content of FILE and of every file it pulls in (//SOURCES and
# //FILES, recursively: for a glob, every file of that directory, so that a new file there
# changes the key). Any other form of call, and any directive we do not follow (a URL, `**`,
# a version range or SNAPSHOT in //DEPS), goes to JBang as always. A line is kept only if the
# key was the same before and after JBang ran, JBang exited 255, the line ends with ARGS, and it
# does not dump a class-data archive; before it is used, its java, classpath and archive must
# exist. JBANG_LAUNCHER_CACHE=0 turns the cache off.
cache_key() {   # prints the key of `jbang "$1"`, or nothing when the call is not cacheable
  local f m item rest kind
  local -a level next parse files=() listing=() items
  local -A known=()
  level=("$(readlink -f "$1")")
  while [ ${#level[@]} -gt 0 ]; do
    next=() parse=()
    for f in "${level[@]}"; do
      [ -n "${known[$f]:-}" ] && continue
      known[$f]=1; files+=("$f")
      case "$f" in *.java|*.jsh|*.kt|*.groovy) [ -f "$f" ] && parse+=("$f") ;; esac
    done
    [ ${#parse[@]} -eq 0 ] && break
    while IFS= read -r -d '' f && IFS= read -r rest; do
      kind=${rest%%[[:space:]]*}; rest=${rest#"$kind"}
      if [ "$kind" = //DEPS ]; then
        [[ "$rest" =~ SNAPSHOT|LATEST|RELEASE|[][(),+] ]] && return
        continue
      fi
      read -r -a items <<< "$rest"
      for item in "${items[@]}"; do
        case "$item" in *://*|*'**'*|*'{'*|*'['*|@*|*'$'*|*'`'*) return ;; esac
        [ "$kind" = //FILES ] && item=${item#*=}   # //FILES target=source
        [ "${item:0:1}" = / ] || item="${f%/*}/$item"
        case "$item" in
          *'*'*|*'?'*)   # a glob: every entry of its directory counts, hidden ones too
            listing+=("glob $item:")
            for m in "${item%/*}"/* "${item%/*}"/.[!.]*; do
              [ -e "$m" ] || [ -L "$m" ] || continue
              listing+=("$m"); next+=("$m")
            done ;;
          *) next+=("$item") ;;
        esac
      done
    done < <(grep -H --null -E '^//(SOURCES|FILES|DEPS)[[:space:]]' -- "${parse[@]}")
    level=("${next[@]}")
  done
  local d=$PWD jdir=${JBANG_DIR:-$HOME/.jbang} java
  local -a settings=()
  while :; do
    settings+=("$d/jbang.properties" "$d/.jbang/jbang.properties" "$d/jbang-catalog.json" "$d/.jbang/jbang-catalog.json")
    [ "$d" = / ] && break
    d=${d%/*}; [ -n "$d" ] || d=/
  done
  settings+=("$jdir/jbang.properties" "$jdir/jbang-catalog.json" "$HOME/.m2/settings.xml")
  java=$(readlink -f "$(command -v "$JAVA_CMD")")
  {
    printf '%s\n' "$PWD" "$PATH" "$JAVA_CMD" "$java" "${files[@]}" "${listing[@]}"
    env | grep -E '^(JBANG_|JAVA_HOME=|JAVA_TOOL_OPTIONS=|JDK_JAVA_OPTIONS=|MAVEN_|M2_)' | sort
    ls -lL --time-style=+%s "$java" "${java%/bin/java}/lib/modules" "$jdir/currentjdk" "$jdir/jdks" @JBANG_HOME@ 2>&1
    sha256sum -- "${BASH_SOURCE[0]}" "${files[@]}" "${settings[@]}" 2>&1
  } | sha256sum | { read -r f _; echo "$f"; }
}

cache=
if [ "${JBANG_LAUNCHER_CACHE:-1}" != 0 ] && [ $# -ge 1 ] && [[ "$1" == *.java ]] && [ -f "$1" ]; then
  cache=$(cache_key "$1")
  if [ -n "$cache" ]; then
    cache="${JBANG_CACHE_DIR:-${JBANG_DIR:-$HOME/.jbang}/cache}/launcher/$cache"
    if [ -f "$cache" ]; then
      mapfile -d '' -t line < "$cache"
      ok=${#line[@]}
      for ((i = 1; i < ${#line[@]}; i++)); do
        case "${line[i]}" in
          -XX:SharedArchiveFile=*) [ -f "${line[i]#*=}" ] || ok=0 ;;
          -classpath|-cp) IFS=: read -r -a cp <<< "${line[i+1]}"
            for e in "${cp[@]}"; do [ -e "$e" ] || ok=0; done ;;
        esac
      done
      [ "$ok" != 0 ] && [ -x "${line[0]}" ] && exec "${line[@]}" "${@:2}"
    fi
  fi
fi

opts=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData)
if [ -f @JBANG_HOME@/jbang.jsa ] && [ "$(readlink -f "$(command -v "$JAVA_CMD")")" = "@ARCHIVE_JAVA@" ]; then
  opts+=(-XX:SharedArchiveFile=@JBANG_HOME@/jbang.jsa -Xshare:auto -Xlog:cds=off -Xlog:cds+dynamic=off)
fi
# JBang prints an empty argument as nothing, which the shell would drop: pass a placeholder
# instead and turn it back into an empty word after the shell has split the printed line.
empty=
for a in "$@"; do [ -z "$a" ] && empty="jbang-empty-argument-$$-$RANDOM" && break; done
original=("$@")
if [ -n "$empty" ]; then
  args=()
  for a in "$@"; do args+=("${a:-$empty}"); done
  set -- "${args[@]}"
fi
output=$("$JAVA_CMD" "${opts[@]}" ${JBANG_JAVA_OPTIONS:-} -classpath "@JBANG_HOME@/*" dev.jbang.Main "$@")
err=$?
if [ $err -eq 255 ]; then
  eval "set -- $output"
  args=()
  for a in "$@"; do if [ -n "$empty" ] && [ "$a" = "$empty" ]; then args+=(""); else args+=("$a"); fi; done
  # Keep the line for the next call when it ends with this call's arguments and the key held.
  n=$((${#original[@]} - 1)) keep=${#args[@]}
  if [ -n "$cache" ] && [ "$keep" -gt "$n" ] && [[ "$output" != *-XX:ArchiveClassesAtExit=* ]] \
     && [ "$(cache_key "${original[0]}")" = "${cache##*/}" ]; then
    for ((i = 0; i < n; i++)); do
      [ "${args[keep - n + i]}" = "${original[i + 1]}" ] || keep=0
    done
    if [ "$keep" != 0 ] && mkdir -p "${cache%/*}" 2>/dev/null; then
      printf '%s\0' "${args[@]:0:keep - n}" > "$cache.$$" && mv -f "$cache.$$" "$cache"
      rm -f "$cache.$$"
    fi
  fi
  exec "${args[@]}"
elif [ -n "$output" ]; then
  printf '%s\n' "$output"
fi
exit $err
LAUNCHER
  chmod 755 "$JBANG_LAUNCHER.new"
  mv "$JBANG_LAUNCHER.new" "$JBANG_LAUNCHER"

  # The archive: the classes of one run of a small script that is already built, the path every
  # `jbang script.java` takes after its first build. Its own cache dir, so nothing is left behind.
  # Not fatal: without it the launcher works, only slower.
  if [ -s "$archive" ] && [ "$(cat "$archive.key" 2>/dev/null)" = "$key" ]; then return 0; fi
  say "making the class-data archive of JBang's JVM ($archive)"
  rm -f "$archive" "$archive.key"
  local dir; dir=$(mktemp -d)
  printf '%s\n' '//DEPS info.picocli:picocli:4.7.7' \
    'class hello { public static void main(String[] args) { } }' > "$dir/hello.java"
  local rc=0
  JBANG_CACHE_DIR="$dir/cache" "$java" "${fast[@]}" -classpath "$JBANG_HOME/*" dev.jbang.Main \
    build --quiet "$dir/hello.java" >&2 || rc=$?
  if [ $rc -eq 0 ]; then
    JBANG_CACHE_DIR="$dir/cache" "$java" "${fast[@]}" -XX:ArchiveClassesAtExit="$dir/jbang.jsa" \
      -Xlog:cds=off -Xlog:cds+dynamic=off -classpath "$JBANG_HOME/*" dev.jbang.Main "$dir/hello.java" \
      >/dev/null 2>&1 || rc=$?
  fi
  if [ $rc -eq 255 ] && [ -s "$dir/jbang.jsa" ]; then
    mv "$dir/jbang.jsa" "$archive"
    printf '%s\n' "$key" > "$archive.key"
  else
    say "warning: could not make the class-data archive of JBang's JVM (exit $rc); jbang works, only slower"
  fi
  rm -rf "$dir"
}

# The embedded image: a static busybox with every applet hard-linked, the usual top-level
# directories, /etc/passwd and /etc/group, packed reproducibly (sorted, owned by root, mtime 0).
build_busybox_image() {
  local out="$BUILD/images/busybox.tar"
  local busybox; busybox=$(command -v busybox || true)
  [ -n "$busybox" ] || die "busybox not found after installing busybox-static"
  if [ ! -s "$out" ] || [ "$busybox" -nt "$out" ] || [ "$0" -nt "$out" ]; then
    say "building the embedded busybox image $out"
    local r; r=$(mktemp -d)
    mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,home,var/tmp,run,mnt}
    cp "$busybox" "$r/bin/busybox"
    chmod 755 "$r/bin/busybox"
    local applet
    for applet in $("$r/bin/busybox" --list-full); do
      [ -e "$r/$applet" ] || ln "$r/bin/busybox" "$r/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$r/etc/passwd"
    printf 'root:x:0:\ndaemon:x:1:\ntty:x:5:\nnogroup:x:65534:\n' > "$r/etc/group"
    printf 'hosts: files dns\n' > "$r/etc/nsswitch.conf"
    chmod 1777 "$r/tmp" "$r/var/tmp"
    chmod 700 "$r/root"
    mkdir -p "$BUILD/images"
    tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 -C "$r" -cf "$out.tmp" .
    mv "$out.tmp" "$out"
    rm -rf "$r"
  fi
  mkdir -p "$STATE_ROOT/images"
  cmp -s "$out" "$STATE_ROOT/images/busybox.tar" || cp "$out" "$STATE_ROOT/images/busybox.tar"
}

# Step 05 is proven on a real cgroup v2 kernel too (tests/vm/): qemu, and Debian's kernel package
# fetched with apt-get download and unpacked under build/vm (nothing is installed on this machine).
prepare_cgroup_v2_vm() {
  # On a pure cgroup v2 machine (the workshop VM) the checks prove v2 on the host itself.
  if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then return 0; fi
  [ "$(uname -m)" = x86_64 ] || { say "not x86_64: the cgroup v2 VM checks will be skipped"; return 0; }
  apt_install qemu-system-x86
  if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || die "apt-get update failed"
  fi
  # Not fatal: everything but step 05's VM checks works without it, and those say what failed.
  "$ROOT/tests/vm/vm.sh" prepare \
    || say "warning: could not prepare the cgroup v2 test VM (tests/vm/vm.sh prepare); step 05's VM checks will fail"
}

# A static class-data archive (AppCDS) for a solution, where JBang's //CDS keeps its archive
# (the .jsa next to the script's jar; JBang then starts the script with -XX:SharedArchiveFile,
# and the runtime hands that flag on to its init process). JBang's own archive is a dynamic one,
# dumped when the first run exits: it holds only the runtime JVM's classes, and none of
# picocli's, whose class files are too old (Java 5) for a dynamic archive. A static archive
# holds both JVMs' classes, picocli's too, and the JDK's generated lambda forms: a run starts
# ~0.2 s sooner. The classes are those a training run loads: $2... are its arguments; every
# JVM of it writes the classes it loads (-XX:DumpLoadedClassList; the init JVM gets the flag from
# JAVA_TOOL_OPTIONS, the runtime's own flag overrides it), and the union is dumped. A stale
# archive (the jar rebuilt) is ignored by -Xshare:auto, quietly; a failed dump leaves JBang's.
class_archive() {
  local script=$1; shift
  local info jar jsa main java tmp cp rc=0
  info=$(jbang info tools "$script" 2>/dev/null) || return 1
  info_field() { printf '%s\n' "$info" | sed -n "s/^  \"$1\": \"\\(.*\\)\",\\{0,1\\}\$/\\1/p"; }
  jar=$(info_field applicationJar); main=$(info_field mainClass)
  jsa=${jar%.jar}.jsa   # where //CDS keeps it (JBang names it in its info only once it exists)
  java=$(info_field availableJdkPath)/bin/java
  [ -n "$jar" ] && [ -n "$jsa" ] && [ -n "$main" ] && [ -x "$java" ] || return 1
  cp=$jar$(printf '%s\n' "$info" | awk '/^  "resolvedDependencies": \[/ {on=1; next} on && /^  \]/ {exit}
    on {gsub(/^ *"|",? *$/, ""); printf ":%s", $0}')
  tmp=$(mktemp -d)
  local -a fast=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData)
  local n=0 args
  for args in "$@"; do
    n=$((n + 1))
    eval "set -- $args"
    JAVA_TOOL_OPTIONS="-XX:DumpLoadedClassList=$tmp/init$n.classes" \
      "$java" "${fast[@]}" -XX:DumpLoadedClassList="$tmp/runtime$n.classes" -cp "$cp" "$main" "$@" \
      </dev/null >/dev/null 2>&1 || true   # a training run may fail: its classes still count
  done
  # A lambda of ours that implements or calls picocli (@lambda-proxy lines) would make the dump
  # link picocli's old classes, which an archive then cannot hold: those lambdas are left out.
  cat "$tmp"/*.classes 2>/dev/null | awk '!seen[$0]++ && !/^@lambda-proxy .*picocli\//' > "$tmp/all.classes"
  if [ -s "$tmp/all.classes" ] && "$java" "${fast[@]}" -Xshare:dump -XX:SharedClassListFile="$tmp/all.classes" \
       -XX:SharedArchiveFile="$tmp/archive.jsa" -cp "$cp" >"$tmp/dump.log" 2>&1; then
    mv -f "$tmp/archive.jsa" "$jsa"
  else
    rc=1
  fi
  rm -rf "$tmp"
  return $rc
}

# Runs a solution once and gives it a static class-data archive (class_archive above) that every
# later run, and its init process, starts from; $2 and $3: the state root and cgroup parent.
warm_solution() {
  local f=$1 root=$2 parent=$3 rc
  case "$(basename "$f")" in
    01_*) set -- true ;;
    0[89]_*) set -- --network none busybox true ;;   # no jocker0 bridge made by setup
    *) set -- busybox true ;;
  esac
  JOCKER_ROOT="$root" JOCKER_CGROUP_PARENT="$parent" jbang "$f" run "$@" </dev/null >/dev/null 2>&1 \
    || { rc=$?; say "warning: $(basename "$f") run $* exited $rc while warming up"; }
  # The training runs: the run above, and from step 06 on a pull that cannot connect (port 9
  # of loopback: no registry there), which loads the HTTP client's classes.
  local -a training=("run $*")
  case "$(basename "$f")" in 0[6-9]_*) training+=("pull 127.0.0.1:9/jocker-setup:none" "images") ;; esac
  JOCKER_ROOT="$root" JOCKER_CGROUP_PARENT="$parent" class_archive "$f" "${training[@]}" \
    || say "warning: no class-data archive for $(basename "$f"): its runs start from JBang's"
}

# A scratch state root for warm_solution, with the busybox image; then its removal, and of the
# cgroup parent the runs made (step 05 on), in every hierarchy: ours, and empty.
warm_root() {
  local root; root=$(mktemp -d)
  mkdir -p "$root/images"
  ln -s "$BUILD/images/busybox.tar" "$root/images/busybox.tar"
  printf '%s\n' "$root"
}
warm_cleanup() {
  local f
  rm -rf --one-file-system "$1"
  for f in /sys/fs/cgroup/"$2" /sys/fs/cgroup/*/"$2"; do
    [ -d "$f" ] && rmdir "$f" 2>/dev/null || true
  done
}

# Compiles every script once, so that the first run is not the one that waits; then warms every
# solution (warm_solution).
warm_jbang() {
  say "warming the JBang cache (dependencies from Maven Central, compiled scripts, class-data archives)"
  local f
  for f in "$ROOT"/solutions/*.java "$ROOT"/tests/harness/Checks.java; do
    [ -f "$f" ] || continue
    jbang build --quiet "$f" >&2 || die "could not build $f"
  done
  local root parent="jocker-setup-$$"
  root=$(warm_root)
  for f in "$ROOT"/solutions/*.java; do warm_solution "$f" "$root" "$parent"; done
  warm_cleanup "$root" "$parent"
}

cmd_setup() {
  require_root setup
  if [ "$(java_major)" -lt 17 ]; then apt_install default-jdk-headless; fi
  [ "$(java_major)" -ge 17 ] || die "Java 17 or newer is needed; found $(java_major)"
  apt_install busybox-static iproute2 tar util-linux mount
  case "${STEPS[-1]%%_*}" in 0[89]) install_network_tools ;; esac
  install_jbang
  build_busybox_image
  warm_jbang
  touch "$BUILD/.setup-done"
  say "setup done (something missing later? ./build.sh doctor says what this machine has)"
}

# JBang keeps every build of a script in a directory of its own, NAME.HASH under its cache's
# jars/, and the class-data archive beside the jar: 25-30 MB a build, never removed. A learner who
# edits a step a hundred times, or a grading of a class (a build per learner and step), leaves
# gigabytes behind. Of the workbook's own scripts (the files that start with JBang's shebang), this
# keeps the four newest builds of each name, every build made or changed in the last day and any
# build a running process has open (its jar or archive in /proc/PID/maps), and removes the rest,
# so that a day's work is never touched and what is older goes the next day. A build removed is
# made again by JBang when its script is run: only time is lost, never a result.
prune_jbang_cache() {
  local jars="${JBANG_CACHE_DIR:-${JBANG_DIR:-$HOME/.jbang}/cache}/jars" keep=4
  [ -d "$jars" ] || return 0
  local names=() f name dir kb=0 removed=0 open
  for f in "$ROOT"/solutions/*.java "$ROOT"/steps/*.java "$ROOT"/docs/*.java "$ROOT"/tests/*/*.java; do
    [ -f "$f" ] && head -n 1 "$f" | grep -q '^///usr/bin/env jbang' && names+=("$(basename "$f")")
  done
  [ ${#names[@]} -gt 0 ] || return 0
  # What running processes have mapped from the cache (the JVM maps its jars and its archive).
  open=$(cat /proc/[0-9]*/maps 2>/dev/null | grep -o "$jars/[^/ ]*" | sort -u || true)
  # A check harness at work (of another checkout: ours holds build/.checks.lock) keeps the java
  # command of every script it has run, and starts it again later: leave its builds alone.
  grep -q "/Checks\.java\.[0-9a-f]*$" <<<"$open" && return 0
  for name in $(printf '%s\n' "${names[@]}" | sort -u); do
    # The builds of this name, newest first; the first $keep stay.
    while IFS= read -r dir; do
      [ -n "$dir" ] || continue
      [ -n "$(find "$dir" -maxdepth 1 -mmin -1440 -print -quit 2>/dev/null)" ] && continue
      grep -qxF "$dir" <<<"$open" && continue
      kb=$((kb + $(du -sk "$dir" 2>/dev/null | cut -f1)))
      rm -rf "$dir" && removed=$((removed + 1))
    done < <(find "$jars" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended \
               -regex ".*/${name//./\\.}\.[0-9a-f]{64}" -printf '%T@ %p\n' 2>/dev/null \
             | sort -rn | tail -n +$((keep + 1)) | cut -d' ' -f2-)
  done
  [ "$removed" -eq 0 ] || say "removed $removed old builds of the workbook's scripts from JBang's cache ($((kb / 1024)) MB)"
}

setup_if_needed() {
  if [ ! -f "$BUILD/.setup-done" ] || ! command -v jbang >/dev/null 2>&1 \
     || [ ! -s "$STATE_ROOT/images/busybox.tar" ]; then
    cmd_setup
  fi
  prune_jbang_cache
}

cmd_demo() {
  require_root demo
  setup_if_needed
  local last="${STEPS[-1]}" opts=()
  case "${last%%_*}" in 0[89]) install_network_tools ;; esac
  # The options the most advanced step understands: a hostname from step 03, limits from step 05.
  case "${last%%_*}" in
    0[34]) opts=(--hostname demo) ;;
    0[5-9]) opts=(--hostname demo --memory 64m --cpus 0.5 --pids-limit 64) ;;
  esac
  local marker="/tmp/jocker-demo-host-only-$$"
  touch "$marker"
  say "the host: hostname $(hostname), $(ls -d /proc/[0-9]* | wc -l) processes, $(wc -l < /proc/self/mountinfo) mounts, a file $marker"
  printf '$ jbang solutions/%s.java run %s busybox sh -c ...\n' "$last" "${opts[*]}" >&2
  local rc=0
  jbang "$ROOT/solutions/$last.java" run -e GREETING="hello from a container" "${opts[@]}" busybox sh -c '
echo "$GREETING"
echo "root directory:  $(ls / | tr "\n" " ")"
echo "hostname:        $(hostname)"
echo "my pid:          $$"
echo "processes seen:  $(ls -d /proc/[0-9]* 2>/dev/null | wc -l)"
echo "mounts seen:     $(wc -l < /proc/self/mountinfo 2>/dev/null || echo "no /proc")"
echo "my cgroup:       $( (grep -m1 memory /proc/self/cgroup || tail -1 /proc/self/cgroup) 2>/dev/null)"
if [ -e '"$marker"' ]; then echo "host file:       visible"; else echo "host file:       not visible"; fi' || rc=$?
  rm -f "$marker"
  return $rc
}

# Step 06's checks pull from a real registry (Debian's docker-registry, Distribution 2.8) that they
# start on a loopback port, with fixture images that independent tools build and push (umoci,
# skopeo) and htpasswd's bcrypt for basic auth: installed for the checks of step 06 and later only,
# so that a learner on an earlier step does not wait for them.
install_registry_tools() {
  apt_install docker-registry skopeo umoci apache2-utils
}

# Step 08 on, a container's network is made with the host's ip and iptables (iptables-restore
# too): for the runs of step 08 and later, their checks, and the demo of the last solution.
install_network_tools() {
  apt_install iproute2 iptables
}

cmd_test() {
  require_root test
  local usage="usage: ./build.sh test [--all] [--jobs N]" opts=() all=
  while [ $# -gt 0 ]; do
    case "$1" in
      --all) opts+=(--all); all=1; shift ;;
      --jobs) [ $# -ge 2 ] || die "$usage"; opts+=(--jobs "$2"); shift 2 ;;
      *) die "unexpected argument: $1 ($usage)" ;;
    esac
  done
  setup_if_needed
  prepare_cgroup_v2_vm
  install_registry_tools
  install_network_tools
  mkdir -p "$BUILD/test-results"
  # The book, beside the checks (it waits on JRuby and Chromium more than on the CPU): rendered
  # strictly and checked in Chromium. Its lines come after the checks'. Then the chapters'
  # transcripts are run again and compared (docs/Transcripts.java), alone: container runs that
  # share the CPU with the checks take minutes instead of seconds; those of check NN with --all.
  local book_rc=0 rc=0 book_log="$BUILD/test-results/book.log" out tally transcripts=()
  [ -n "$all" ] && transcripts=(--checks)
  apt_install chromium
  # What the chapters' transcripts type on the host besides the workbook: a registry's API with
  # curl (chapter 06), a published port with wget (08), a hostile tarball made by python3 (02).
  apt_install curl wget python3
  cmd_docs --check >"$book_log" 2>&1 &
  local book_pid=$!
  out=$(mktemp) tally=$(mktemp)
  jbang "$ROOT/tests/harness/Checks.java" test "${opts[@]}" --root "$ROOT" --reports "$BUILD/test-results" \
    | tee "$out" || rc=$?
  counts "$out" | tail -1 >> "$tally"
  wait "$book_pid" || book_rc=$?
  cat "$book_log"
  if [ "$book_rc" -eq 0 ]; then jbang "$ROOT/docs/Transcripts.java" "$ROOT" "${transcripts[@]}" || book_rc=$?; fi
  if [ "$book_rc" -ne 0 ]; then
    printf 'FAIL  the book: ./build.sh docs --check or docs/Transcripts.java failed (exit %s): see their lines above\n' "$book_rc"
    echo "0 1 0" >> "$tally"
    [ "$rc" -ne 0 ] || rc=1
  else
    echo "1 0 0" >> "$tally"
  fi
  local more=0
  if [ -n "$all" ]; then
    # --all, then: the deliberately broken variants of the solutions, which the checks must catch
    # (tests/mutants/); the JBang launcher's command cache (tests/launcher/); the workshop VM's
    # checks (vagrant validate; provision.sh twice in a debootstrap minbase, tests/workshop/).
    jbang "$ROOT/tests/mutants/Mutants.java" --root "$ROOT" | tee "$out" || more=$?
    # "N of M variants caught" counts as N passed and M-N failed
    sed -n 's/^\([0-9]*\) of \([0-9]*\) variants caught.*/\1 \2/p' "$out" | tail -1 \
      | awk '{print $1, $2 - $1, 0}' >> "$tally"
    bash "$ROOT/tests/launcher/cache-test.sh" | tee "$out" || more=$?
    counts "$out" | tail -1 >> "$tally"
    apt_install vagrant debootstrap
    jbang "$ROOT/tests/workshop/WorkshopChecks.java" --root "$ROOT" --reports "$BUILD/test-results" | tee "$out" || more=$?
    counts "$out" | tail -1 >> "$tally"
  fi
  # The closing line counts everything above: the checks, the book (one), and with --all the rest.
  awk '{p += $1; f += $2; s += $3} END {printf "%d passed, %d failed%s\n", p, f, s ? ", " s " skipped" : ""}' "$tally"
  rm -f "$out" "$tally"
  [ "$rc" -ne 0 ] && return "$rc"
  return "$more"
}

# counts FILE: "P F S" of each closing line ("[name: ]N passed, N failed[, N skipped]") in FILE
counts() {
  sed -n 's/^\([a-z ]*: \)\{0,1\}\([0-9]*\) passed, \([0-9]*\) failed\(, \([0-9]*\) skipped\)\{0,1\}$/\2 \3 \5/p' "$1" \
    | awk '{print $1, $2, ($3 == "" ? 0 : $3)}'
}

cmd_mutants() {
  require_root mutants
  setup_if_needed
  prepare_cgroup_v2_vm
  install_registry_tools
  install_network_tools
  jbang "$ROOT/tests/mutants/Mutants.java" --root "$ROOT" "$@"
}

cmd_check() {
  require_root check
  local usage="usage: ./build.sh check NN [--dir DIR] [--jobs N] [--vm]"
  [ $# -ge 1 ] || die "$usage"
  local nn=$1; shift
  local dir="$ROOT/steps" opts=() vm=
  while [ $# -gt 0 ]; do
    case "$1" in
      --dir) [ $# -ge 2 ] || die "$usage"; [ -d "$2" ] || die "no directory $2"; dir=$(cd "$2" && pwd); shift 2 ;;
      --jobs) [ $# -ge 2 ] || die "$usage"; opts+=(--jobs "$2"); shift 2 ;;
      --vm) vm=1; shift ;;
      *) die "unexpected argument: $1 ($usage)" ;;
    esac
  done
  step_file "$nn" "$dir" >/dev/null
  setup_if_needed
  if [ "$((10#$nn))" -ge 6 ]; then install_registry_tools; fi
  if [ "$((10#$nn))" -ge 8 ]; then install_network_tools; fi
  # A learner's check proves the cgroups of this machine; the v2 VM (qemu, a kernel package)
  # only on request, and always in test.
  if [ -n "$vm" ]; then prepare_cgroup_v2_vm; else export JOCKER_VM="${JOCKER_VM:-never}"; fi
  mkdir -p "$BUILD/check-results"
  jbang "$ROOT/tests/harness/Checks.java" check "$nn" --dir "$dir" "${opts[@]}" --root "$ROOT" --reports "$BUILD/check-results"
}

# Grading a class: tests/harness/Grade.java judges every step of every DIR as check NN does; the
# step 05 VM stays out (as in check without --vm), the registry and network tools come in as for
# check 06 and 08.
cmd_grade() {
  require_root grade
  local usage="usage: ./build.sh grade DIR... [--learners N] [--jobs N]" dirs=() opts=() d
  while [ $# -gt 0 ]; do
    case "$1" in
      --learners|--jobs) [ $# -ge 2 ] || die "$usage"; opts+=("$1" "$2"); shift 2 ;;
      -*) die "unexpected option: $1 ($usage)" ;;
      *) [ -d "$1" ] || die "no directory $1"; d=$(cd "$1" && pwd); dirs+=("$d"); shift ;;
    esac
  done
  [ ${#dirs[@]} -ge 1 ] || die "$usage"
  setup_if_needed
  install_registry_tools
  install_network_tools
  export JOCKER_VM="${JOCKER_VM:-never}"
  mkdir -p "$BUILD/grades"
  jbang "$ROOT/tests/harness/Checks.java" grade "${dirs[@]}" "${opts[@]}" --root "$ROOT" --reports "$BUILD/grades"
}

cmd_catch_up() {
  [ $# -eq 1 ] || die "usage: ./build.sh catch-up NN"
  local s nn
  step_file "$1" "$ROOT/solutions" >/dev/null || exit 125   # no such step: step_file said so
  # Step NN itself, and every earlier step whose file is missing or still has a TODO left (a
  # Todo.missing( call): a late joiner is then one command from step NN+1. Earlier steps with no
  # TODO left stay as they are: they are the learner's work, bugs included.
  for s in "${STEPS[@]}"; do
    nn=${s%%_*}
    if [ "$nn" = "$1" ]; then catch_up_one "$nn"; break; fi
    if [ ! -f "$ROOT/steps/$s.java" ] || grep -q 'Todo\.missing(' "$ROOT/steps/$s.java"; then
      catch_up_one "$nn"
    fi
  done
}

catch_up_one() {   # catch_up_one NN: the solution of step NN over steps/, with a backup of the learner's file
  local solution learner
  solution=$(step_file "$1" "$ROOT/solutions")
  learner=$(step_file "$1" "$ROOT/steps")
  if [ -f "$learner" ] && ! cmp -s "$solution" "$learner"; then
    local backup; backup="$learner.bak-$(date +%Y%m%d-%H%M%S)"
    cp -p "$learner" "$backup"
    say "kept your version as ${backup#"$ROOT"/}"
  fi
  cp "$solution" "$learner"
  say "steps/$(basename "$learner") is now the solution of step $1"
}

# The book, rendered strictly (docs/Book.java fails on any warning of Asciidoctor, a missing
# include or tag, and a chapter that includes from solutions/); --check then opens every page in
# headless Chromium (docs/BookCheck.java: pages, figures, highlighting; a screenshot per page in
# build/book-screenshots/). Chromium is installed for --check only, which test uses.
cmd_docs() {
  local check=
  case "${1:-}" in --check) check=1 ;; "") ;; *) die "usage: ./build.sh docs [--check]" ;; esac
  command -v jbang >/dev/null 2>&1 || cmd_setup
  jbang "$ROOT/docs/Book.java" "$ROOT" "$BUILD/book"
  say "the book is in build/book/index.html"
  if [ -n "$check" ]; then
    apt_install chromium
    jbang "$ROOT/docs/BookCheck.java" "$BUILD/book" "$BUILD/book-screenshots"
  fi
}

# Start latency against the reference runtimes (tests/bench/StartLatency.java has the details);
# `bench pull`: pulling and unpacking against skopeo and umoci (tests/bench/PullBench.java);
# `bench overlay`: step 07's storage drivers, start and disk (tests/bench/OverlayBench.java).
cmd_bench() {
  require_root bench
  setup_if_needed
  local bench=StartLatency
  case "${1:-}" in
    pull) shift; bench=PullBench; apt_install runc docker-registry skopeo umoci ;;
    overlay) shift; bench=OverlayBench; apt_install docker-registry skopeo umoci ;;
    *) apt_install runc; (apt_install crun) || say "no crun: the bench goes on with runc alone" ;;
  esac
  local script=() scripts=() a prev=""
  for a in "$@"; do [ "$prev" = --script ] && scripts+=("$a"); prev=$a; done
  if [ ${#scripts[@]} -eq 0 ]; then
    script=(--script "$ROOT/solutions/${STEPS[-1]}.java")
    scripts=("${script[1]}")
  fi
  # Timed as setup leaves them: with their static class-data archive, made again if the code
  # changed since (a rebuilt jar would otherwise start from JBang's first-run archive).
  local f jar jsa root parent="jocker-bench-warm-$$"
  for f in "${scripts[@]}"; do
    case "$(basename "$f")" in [0-9][0-9]_*.java) ;; *) continue ;; esac
    jbang build --quiet "$f" >&2 || die "could not build $f"
    jar=$(jbang info jar "$f" 2>/dev/null); jsa=${jar%.jar}.jsa
    # A static archive starts with CDS's magic 0xf00baba2 (JBang's dynamic one: 0xf00baba8).
    if [ -n "$jar" ] && { ! [ "$jsa" -nt "$jar" ] || [ "$(od -An -tx4 -N4 "$jsa" | tr -d ' ')" != f00baba2 ]; }; then
      say "making the class-data archive of ${f##*/} (the code changed since setup)"
      root=$(warm_root)
      warm_solution "$f" "$root" "$parent"
      warm_cleanup "$root" "$parent"
    fi
  done
  jbang "$ROOT/tests/bench/$bench.java" --repo "$ROOT" "${script[@]}" "$@"
}

# What this machine has for the workbook, one line each, and which step needs what is missing.
# It only reads: /proc, /sys and the programs' versions; it makes nothing.
cmd_doctor() {
  local missing=0 v
  line() { printf '  %-4s %-22s %s\n' "$1" "$2" "$3"; [ "$1" = ok ] || missing=$((missing + 1)); }
  kconfig() {   # kconfig SYMBOL: y, m or nothing, from the running kernel's config where it is kept
    { zcat /proc/config.gz 2>/dev/null || cat "/boot/config-$(uname -r)" 2>/dev/null; } | sed -n "s/^$1=//p"
  }
  module() {   # module NAME CONFIG_SYMBOL: loaded, built in, or available to load
    if [ -d "/sys/module/$1" ]; then echo loaded
    elif [ "$(kconfig "$2")" = y ] || grep -qs "/$1.ko" "/lib/modules/$(uname -r)/modules.builtin"; then echo "built into the kernel"
    elif [ "$(kconfig "$2")" = m ] || grep -qs "/$1.ko" "/lib/modules/$(uname -r)/modules.dep"; then echo "a module, loaded on first use"
    fi
  }
  echo "What this machine has for the workbook:"
  if [ "$(id -u)" -eq 0 ]; then line ok root "running as root"; else line no root "not root: every step needs sudo"; fi
  line ok kernel "Linux $(uname -r) on $(uname -m)"
  local ns=() n
  for n in mnt uts ipc pid net cgroup; do [ -e /proc/self/ns/$n ] || ns+=("$n"); done
  if [ ${#ns[@]} -eq 0 ]; then line ok namespaces "mnt uts ipc pid net cgroup"
  else line no namespaces "missing: ${ns[*]} (steps 03, 04 and 08 need them)"; fi
  if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
    line ok cgroups "v2, controllers: $(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null)"
  elif [ -d /sys/fs/cgroup/memory ] || [ -d /sys/fs/cgroup/cpu ]; then
    v=$(for d in /sys/fs/cgroup/*/; do [ -e "$d/cgroup.procs" ] && basename "$d"; done | grep -v '^unified$' | tr '\n' ' ')
    if [ -e /sys/fs/cgroup/unified/cgroup.procs ]; then line ok cgroups "hybrid: v1 ${v% }; cgroup2 at /sys/fs/cgroup/unified"
    else line ok cgroups "v1: ${v% }"; fi
  else
    line no cgroups "no cgroup filesystem at /sys/fs/cgroup (step 05 needs one)"
  fi
  if grep -qw overlay /proc/filesystems; then line ok overlayfs "in the kernel"
  elif v=$(module overlay CONFIG_OVERLAY_FS) && [ -n "$v" ]; then line ok overlayfs "$v"
  else line no overlayfs "not found: step 07 falls back to the vfs driver"; fi
  for n in veth:CONFIG_VETH bridge:CONFIG_BRIDGE; do
    if v=$(module "${n%%:*}" "${n#*:}") && [ -n "$v" ]; then line ok "${n%%:*}" "$v"
    else line no "${n%%:*}" "not found: step 08's bridge network needs it (--network none or host still work)"; fi
  done
  if command -v iptables >/dev/null 2>&1; then
    v=$(iptables -V 2>/dev/null)
    case "$v" in *nf_tables*) line ok iptables "$v: the nf_tables backend" ;; *legacy*) line ok iptables "$v: the legacy backend" ;; *) line ok iptables "$v" ;; esac
  else line no iptables "not installed: step 08 needs it (./build.sh setup installs it)"; fi
  if command -v ip >/dev/null 2>&1; then line ok iproute2 "$(ip -V 2>&1 | head -1)"
  else line no iproute2 "not installed: step 08 needs it (./build.sh setup installs it)"; fi
  v=$(java_major)
  if [ "$v" -ge 17 ]; then line ok java "Java $v"; else line no java "Java 17 or newer is needed (found: ${v/#0/none}; ./build.sh setup installs it)"; fi
  if command -v jbang >/dev/null 2>&1; then line ok jbang "$(jbang version 2>/dev/null | head -1)"
  else line no jbang "not installed: ./build.sh setup installs it"; fi
  if [ -f "$STATE_ROOT/images/busybox.tar" ]; then line ok image "$STATE_ROOT/images/busybox.tar"
  else line no image "no embedded busybox image yet: ./build.sh setup builds it"; fi
  if [ "$missing" -eq 0 ]; then echo "Everything the steps need is here."; return 0; fi
  echo "$missing missing: see the lines above."
  return 1
}

main() {
  [ $# -ge 1 ] || { usage >&2; exit 125; }
  local cmd=$1; shift
  case "$cmd" in
    -h|--help|help) usage ;;
    setup) cmd_setup "$@" ;;
    demo) cmd_demo "$@" ;;
    test) cmd_test "$@" ;;
    check) cmd_check "$@" ;;
    grade) cmd_grade "$@" ;;
    mutants) cmd_mutants "$@" ;;
    catch-up) cmd_catch_up "$@" ;;
    docs) cmd_docs "$@" ;;
    bench) cmd_bench "$@" ;;
    doctor) cmd_doctor "$@" ;;
    *) printf 'build.sh: unknown command "%s"\n' "$cmd" >&2; usage >&2; exit 125 ;;
  esac
}

main "$@"
