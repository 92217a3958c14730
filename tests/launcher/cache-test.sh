#!/usr/bin/env bash
# The JBang launcher's command cache (build.sh install_jbang): a cached java command line is
# used only when nothing JBang built it from has changed. Each case below changes one input and
# checks that the program's output follows (a stale cache would print the old output), or that
# an unchanged call is served from the cache without JBang's JVM.
#
# Usage: bash tests/launcher/cache-test.sh   (needs JBang installed by ./build.sh setup)
# It writes the launcher of this worktree's build.sh to a temp dir and uses a JBang cache dir of
# its own there; nothing outside that dir is touched. Prints "N passed, N failed"; exit 1 on failure.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
JBANG_HOME=/usr/local/lib/jbang
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
java=$(readlink -f "$(command -v java)")
sed -n "/<<'LAUNCHER'\$/,/^LAUNCHER\$/p" "$ROOT/build.sh" | sed '1d;$d' \
  | sed -e "s|@JBANG_HOME@|$JBANG_HOME|g" -e "s|@ARCHIVE_JAVA@|$java|g" -e "s|@MARKER@|test copy|" > "$tmp/jbang"
chmod 755 "$tmp/jbang"
export JBANG_CACHE_DIR="$tmp/cache"
unset JBANG_LAUNCHER_CACHE
passed=0 failed=0
cd "$tmp" || exit 1
mkdir -p app/lib app/res

# A JDK whose java logs its calls, so that we can tell whether JBang's JVM ran (a miss) or not.
jdk=${java%/bin/java}
mkdir -p "$tmp/jdk/bin"
for f in "$jdk"/*; do [ "${f##*/}" = bin ] || ln -s "$f" "$tmp/jdk/${f##*/}"; done
for f in "$jdk"/bin/*; do [ "${f##*/}" = java ] || ln -s "$f" "$tmp/jdk/bin/${f##*/}"; done
printf '#!/bin/sh
echo "$*" >> %s/java-calls
exec %s "$@"
' "$tmp" "$java" > "$tmp/jdk/bin/java"
chmod 755 "$tmp/jdk/bin/java"
export JAVA_HOME="$tmp/jdk"

expect() {   # expect NAME WANT hit|miss|any -- COMMAND...: prints WANT, with JBang's JVM (miss) or without (hit)
  local name=$1 want=$2 how=$3 got ran=hit; shift 4
  : > "$tmp/java-calls"
  got=$("$@" 2>"$tmp/err")
  grep -q 'dev.jbang.Main' "$tmp/java-calls" && ran=miss
  if [ "$got" = "$want" ] && { [ "$how" = any ] || [ "$how" = "$ran" ]; }; then
    passed=$((passed + 1)); echo "  PASS  $name"
  else
    failed=$((failed + 1)); echo "  FAIL  $name: got '$got' ($ran), want '$want' ($how)"; sed 's/^/        /' "$tmp/err"
  fi
}

cat > app/lib/A.java <<'EOF'
package lib;
public class A { public static String v() { return "one"; } }
EOF
echo data1 > app/res/data.txt
cat > app/M.java <<'EOF'
//SOURCES lib/*.java
//FILES res/data.txt
class M {
    public static void main(String[] a) throws Exception {
        String extra = "";
        try { Class.forName("lib.B"); extra = "+B"; } catch (ClassNotFoundException e) { }
        try { Class.forName("lib.Hidden"); extra += "+H"; } catch (ClassNotFoundException e) { }
        String data = new String(M.class.getResourceAsStream("/data.txt").readAllBytes()).trim();
        System.out.println(lib.A.v() + extra + " " + data + " " + java.util.Arrays.toString(a));
    }
}
EOF
expect "first call: JBang builds and prints" "one data1 [x]" miss -- ./jbang app/M.java x
expect "same call again: from the cache" "one data1 [x]" hit -- ./jbang app/M.java x
expect "other arguments, spaces and empty ones: from the cache" "one data1 [a b, , c]" hit -- ./jbang app/M.java 'a b' '' c
expect "relative path from another directory" "one data1 [y]" any -- bash -c 'cd app && ../jbang M.java y'
sed -i 's/one/two/' app/lib/A.java
expect "a sourced file changed" "two data1 [x]" miss -- ./jbang app/M.java x
expect "and then from the cache" "two data1 [x]" hit -- ./jbang app/M.java x
printf 'package lib;\npublic class B { }\n' > app/lib/B.java
expect "a new file in a globbed folder" "two+B data1 [x]" miss -- ./jbang app/M.java x
printf 'package lib;\nclass Hidden { }\n' > app/lib/.Hidden.java
rm app/lib/B.java
expect "a file removed from a globbed folder, a hidden one added" "two+H data1 [x]" miss -- ./jbang app/M.java x
echo data2 > app/res/data.txt
expect "a //FILES file changed" "two+H data2 [x]" miss -- ./jbang app/M.java x
sed -i 's|^//FILES res/data.txt|//FILES res/data.txt\n//JAVA_OPTIONS -Dx=1|' app/M.java
expect "the script's own directives changed" "two+H data2 [x]" miss -- ./jbang app/M.java x
expect "an environment variable JBang reads" "two+H data2 [x]" miss -- env JBANG_NO_VERSION_CHECK=true ./jbang app/M.java x
rm -rf "$JBANG_CACHE_DIR"/jars/M.java.*
expect "the built jar deleted: JBang builds again" "two+H data2 [x]" miss -- ./jbang app/M.java x
expect "JBANG_LAUNCHER_CACHE=0: JBang every time" "two+H data2 [x]" miss -- env JBANG_LAUNCHER_CACHE=0 ./jbang app/M.java x
# Directives the key does not follow: never cached.
sed -i 's|^//SOURCES lib/\*.java|//SOURCES lib/**.java|' app/M.java
expect "a ** glob is never cached (1)" "two+H data2 [x]" miss -- ./jbang app/M.java x
expect "a ** glob is never cached (2)" "two+H data2 [x]" miss -- ./jbang app/M.java x
sed -i 's|^//SOURCES lib/\*\*.java|//SOURCES lib/*.java\n//SOURCES https://example.org/C.java|' app/M.java
expect "a URL in //SOURCES is never cached" "" miss -- env JBANG_OFFLINE=true ./jbang app/M.java x
sed -i 's|^//SOURCES https://example.org/C.java|//DEPS info.picocli:picocli:4.7.+|' app/M.java
expect "a version range in //DEPS is never cached (1)" "two+H data2 [x]" miss -- ./jbang app/M.java x
expect "a version range in //DEPS is never cached (2)" "two+H data2 [x]" miss -- ./jbang app/M.java x

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
