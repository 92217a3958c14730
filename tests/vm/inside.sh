#!/bin/sh
# Runs as PID 1 of the test VM (see vm.sh and init), on a pure cgroup v2 kernel. It runs step 05
# with plain java (the command line JBang printed on the host, in /results/command) and writes,
# for each case NAME:
#   NAME.rc NAME.out NAME.err   run's exit code, stdout and stderr
#   NAME.left                   what is left under the cgroup parent afterwards (must be empty)
#   NAME.seconds                how long the run took
#   limits.FILE, limits.lingerer  the limits case (see below); limits.cpu.stat and
#                               limits.cpu.stat.before its cgroup's cpu.stat after and before the
#                               container's command
# plus env (kernel, cgroup controllers and mounts) and, last, done. Then it powers the VM off.
# Kept small on purpose: under emulation a JVM starts about 25 times slower than on the host.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
R=/results
BB=/bin/busybox

mkdir -p $R
mount -t 9p -o trans=virtio,version=9p2000.L results $R || { echo "inside: no results share"; $BB poweroff -f; }
# The state root on a tmpfs of its own. Not on /tmp: the host's /tmp must stay visible, since the
# checkout under test (and so the image and the scripts) may live there, as CI's clone does.
mkdir -p /var/lib/jocker-vm
mount -t tmpfs -o mode=755 tmpfs /var/lib/jocker-vm
# Pure cgroup v2, as on the learners' VMs: one tree at /sys/fs/cgroup with every controller.
mount -t cgroup2 cgroup2 /sys/fs/cgroup

{
  echo "kernel: $(uname -r)"
  echo "controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
  grep cgroup /proc/self/mountinfo
} > $R/env 2>&1

# JOCKER_NETWORK=none: from step 08 on, runs would make a bridge and NAT rules, which this VM's
# kernel has no modules loaded for; the VM is about cgroups (earlier steps ignore it).
export JOCKER_ROOT=/var/lib/jocker-vm JOCKER_CGROUP_PARENT=jocker-vm JOCKER_NETWORK=none
mkdir -p $JOCKER_ROOT/images
ln -s "$(cat $R/image)" $JOCKER_ROOT/images/busybox.tar
eval "set -- $(cat $R/command)"
# The runtime's own JVM starts the way it starts its init: C1 only, serial GC (see ContainerRuntime).
java=$1; shift
set -- "$java" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData "$@"

# case NAME RUN-ARGS...: one run of step 05, and what it left behind.
case_() {
  name=$1; shift
  echo "inside: $name" > /dev/console
  start=$(date +%s)
  "$@" > $R/$name.out 2> $R/$name.err
  echo $? > $R/$name.rc
  echo $(( $(date +%s) - start )) > $R/$name.seconds
  find /sys/fs/cgroup/$JOCKER_CGROUP_PARENT -mindepth 1 -maxdepth 1 -type d > $R/$name.left 2>&1
  cat /sys/fs/cgroup/$JOCKER_CGROUP_PARENT/cgroup.subtree_control > $R/$name.subtree 2>&1
}

# Out of memory: a shell that reads 200m into a variable under a 64m limit is OOM-killed. With
# --trace, oom.err also shows every cgroup file the runtime wrote on v2 (the chapter quotes it).
case_ oom "$@" run --trace --memory 64m busybox sh -c 'x=$(head -c 200m /dev/zero | tr "\0" a); echo survived'

# Pids: under --pids-limit 20 the shell gets 19 children, then fork fails; it also shows its
# /proc/self/cgroup, which the cgroup namespace turns into "0::/".
case_ pids "$@" run --pids-limit 20 busybox sh -c \
  'cat /proc/self/cgroup; for i in $(seq 1 60); do sleep 30 & echo started $i; done'

# Limits, throttling, and a process that outlives PID 1. While the container runs, a watcher reads
# the limits step 05 wrote (cpu.max is "QUOTA PERIOD"; memory.swap.max is swap alone, 0 under
# --memory only, as Docker's --memory-swap defaults to --memory) into limits.FILE, then moves a
# process of its own into the container's cgroup, as docker exec would: PID 1's end does not end it,
# so the cgroup is still busy when the runtime removes it, which must keep trying (and end what is
# left) until rmdir succeeds. limits.lingerer is that process's pid.
# The container spins a busy loop for 2 s under --cpus 0.5: each 100 ms period it uses its 50 ms
# of quota and waits out the rest, which the cgroup's cpu.stat counts (nr_throttled,
# throttled_usec). Counters, not a measured share of CPU time: they hold under emulation, however
# slow or busy the host. A sampler reads cpu.stat until the cgroup is gone (sample_cpu_stat).

# sample_cpu_stat DIR INIT: cpu.stat of cgroup DIR every 0.2 s until DIR is gone. The last read
# while INIT was still the init JVM goes to limits.cpu.stat.before (that JVM runs in the cgroup
# too, and is throttled too), the last read of all to limits.cpu.stat: the difference is the
# container's command, the busy loop.
sample_cpu_stat() {
  before= nl='
'
  while [ -d $1 ]; do
    # shell builtins only (read, not cat): each fork costs much under emulation, beside the JVM
    s= comm=
    { while read -r line; do s=$s$line$nl; done; } 2>/dev/null < ${1}cpu.stat
    { read -r comm; } 2>/dev/null < /proc/$2/comm
    if [ -n "$s" ]; then
      if [ "$comm" = java ]; then before=$s
      else
        [ -n "$before" ] && printf '%s' "$before" > $R/limits.cpu.stat.before && before=
        printf '%s' "$s" > $R/limits.cpu.stat
      fi
    fi
    sleep 0.2
  done
}

watch_limits() {
  i=0
  while [ $i -lt 1800 ]; do   # minutes: under emulation the run takes long to get there
    for d in /sys/fs/cgroup/$JOCKER_CGROUP_PARENT/*/; do
      init=$(head -n 1 ${d}cgroup.procs 2>/dev/null)
      [ -n "$init" ] || continue   # attached: the limits are written
      for f in cpu.max memory.max memory.swap.max; do cat $d$f > $R/limits.$f 2>&1; done
      sleep 120 &
      echo $! > ${d}cgroup.procs && echo $! > $R/limits.lingerer
      sample_cpu_stat $d $init &
      wait
      return
    done
    sleep 0.1; i=$((i + 1))
  done
}
watch_limits &
watcher=$!
case_ limits "$@" run --memory 64m --cpus 0.5 busybox sh -c 'while :; do :; done & sleep 2; kill $!; sleep 3'
kill $watcher 2>/dev/null
[ -s $R/limits.lingerer ] && kill -9 "$(cat $R/limits.lingerer)" 2>/dev/null

echo done > $R/done
sync
$BB poweroff -f
