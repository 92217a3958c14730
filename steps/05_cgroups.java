///usr/bin/env jbang "$0" "$@" ; exit $?
// Step 05 cgroups: limit what a container may use: memory, CPU time, processes.
//
// Goal:  every container gets its own cgroup under a "jocker" parent, with the limits of
//        --memory, --cpus and --pids-limit written into it; the init process is put in before it
//        execs the command, gets a cgroup namespace of its own, and the cgroup is removed after.
//        Works on cgroup v2 (your VM), v1, and the hybrid of both.
// Usage: jbang steps/05_cgroups.java run [--memory SIZE] [--cpus N] [--pids-limit N] IMAGE COMMAND [ARG...]
// See:   chapters/05-cgroups.adoc
//
//   $ jbang steps/05_cgroups.java run --memory 64m busybox sh -c 'x=$(head -c 200m /dev/zero | tr "\0" a)'
//   jocker: container 3f2a9c1b7d4e was killed: out of memory (limit 64m)
//   $ echo $?
//   137
//
//CDS
//SOURCES 04_pid_ns.java
//SOURCES ../lib/jocker/cgroups/*.java
//MAIN ControlGroups

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import jocker.cgroups.Cgroups;
import jocker.cli.Cli;
import jocker.kernel.Linux;
import jocker.kernel.Processes;
import jocker.oci.Config;
import jocker.runtime.ConfigOption;
import jocker.runtime.Container;
import jocker.runtime.ContainerError;
import jocker.runtime.Feature;
import jocker.runtime.Log;
import jocker.runtime.UndoLog;
import jocker.runtime.Todo;

import picocli.CommandLine.Option;

/** Step 05: the container's memory, CPU time and number of processes are limited by a cgroup. */
class ControlGroups extends PidNs {

    public static void main(String[] args) {
        System.exit(Cli.execute(new ControlGroups(), "05_cgroups", args));
    }

    @Override
    public List<ConfigOption> options() { return plus(super.options(), new Limits()); }

    @Override
    public List<Feature> features() { return plus(super.features(), new Cgroup()); }

    // tag::options[]
    /**
     * {@code --memory 64m --cpus 0.5 --pids-limit 20}: Docker's spellings and units, written into
     * the config's {@code linux.resources} the way an OCI config.json has them.
     */
    static class Limits implements ConfigOption {
        /** Docker refuses less than 6 MiB: below that not even a small process gets going. */
        static final long MIN_MEMORY = 6L << 20;

        @Option(names = {"-m", "--memory"}, paramLabel = "SIZE",
                description = "Memory limit, e.g. 64m or 1g (units b, k, m, g). A container that "
                        + "needs more is killed by the kernel's OOM killer: exit code 137.")
        String memory;

        @Option(names = "--cpus", paramLabel = "N",
                description = "CPU time limit in CPUs, e.g. 0.5 for half of one CPU.")
        String cpus;

        @Option(names = "--pids-limit", paramLabel = "N",
                description = "The most processes (and threads) the container may have at once; "
                        + "-1: no limit.")
        Long pidsLimit;

        @Override
        public void configure(Config config) {
            Config.Resources r = new Config.Resources();
            if (memory != null) {
                long bytes;
                try {
                    bytes = Cgroups.parseBytes(memory);
                } catch (IllegalArgumentException e) {
                    throw new ContainerError("invalid value \"" + memory
                            + "\" for --memory: use a size such as 64m or 1g");
                }
                if (bytes < MIN_MEMORY) {
                    throw new ContainerError("invalid value \"" + memory + "\" for --memory: the minimum is "
                            + Cgroups.formatBytes(MIN_MEMORY));
                }
                r.memory = new Config.Memory();
                r.memory.limit = bytes;
                r.memory.swap = bytes;   // OCI's swap is memory plus swap: equal means no swap at all
            }
            if (cpus != null) {
                int online = Runtime.getRuntime().availableProcessors();
                long quota;
                try {
                    quota = Cgroups.cpuQuota(cpus);
                } catch (IllegalArgumentException e) {
                    quota = 0;
                }
                // The kernel takes no quota below 1 ms per period; Docker's range is 0.01 to all CPUs.
                if (quota < 1000 || quota > online * Cgroups.CPU_PERIOD_US) {
                    throw new ContainerError("invalid value \"" + cpus + "\" for --cpus: the range is 0.01 to "
                            + online + " (the CPUs this machine has)");
                }
                r.cpu = new Config.Cpu();
                r.cpu.quota = quota;
                r.cpu.period = Cgroups.CPU_PERIOD_US;
            }
            if (pidsLimit != null && pidsLimit > 0) {
                r.pids = new Config.Pids();
                r.pids.limit = pidsLimit;
            } else if (pidsLimit != null && pidsLimit < -1) {
                throw new ContainerError("invalid value \"" + pidsLimit
                        + "\" for --pids-limit: use a positive number, or -1 for no limit");
            }
            if (r.memory != null || r.cpu != null || r.pids != null) config.linux.resources = r;
        }
    }
    // end::options[]

    /**
     * The container's cgroup: a directory {@code jocker/ID} in every cgroup tree that serves the
     * controllers we use. On cgroup v2 that is one directory, on v1 one per tree
     * ({@code /sys/fs/cgroup/memory/jocker/ID}, {@code /sys/fs/cgroup/pids/jocker/ID}, ...).
     * man 7 cgroups; the kernel's cgroup-v2.rst and cgroup-v1/*.rst.
     */
    static class Cgroup implements Feature {
        /** What we limit and count. {@code cpuacct} is v1's CPU-time counter; v2 counts in cpu.stat. */
        static final List<String> CONTROLLERS = List.of("memory", "cpu", "cpuacct", "pids");

        /** Which tree serves which controller, and our cgroup's path: found once, in prepare. */
        Cgroups.Layout layout;
        String path;

        // tag::prepare[]
        /** In the runtime: create the cgroup and write the limits into it. */
        @Override
        public void prepare(Container container) throws Exception {
            layout = Cgroups.detect();
            Config.Resources limits = container.config.linux.resources;
            requireControllers(layout, limits);
            path = Cgroups.parent() + "/" + container.id;
            container.config.linux.cgroupsPath = "/" + path;
            // Written down before anything is made, so that a later run's sweep of a killed
            // runtime's leftovers knows which cgroups are ours, and touches no other.
            for (Cgroups.Hierarchy tree : layout.serving(CONTROLLERS)) {
                container.undo().record(UndoLog.Kind.CGROUP, tree.dir(path));
            }
            // As in an OCI config; like runc, init unshares it itself, once it is in its cgroup.
            container.config.withNamespace("cgroup");
            Log.verbose("container %s: cgroup %s (%s)",
                    container.shortId(), path, layout.describe(CONTROLLERS));
            create(layout, path, limits);
        }
        // end::prepare[]

        // tag::create[]
        /** Makes the cgroup {@code path} in every tree we use and writes the {@code limits}. */
        void create(Cgroups.Layout layout, String path, Config.Resources limits) throws IOException {
            // TODO(05.1): create the container's cgroup, then write its limits into it.
            //   1. For every tree of layout.serving(CONTROLLERS): makeParent(tree, Cgroups.parent())
            //      makes the "jocker" parent (on v2 it also enables the controllers for its
            //      children), then Cgroups.mkdir(tree.dir(path)) makes the cgroup itself.
            //   2. If limits is not null, write each limit with set(what, file, value). Which file
            //      depends on the version of the tree that serves the controller
            //      (layout.of("memory").version(), layout.of("cpu"), layout.of("pids")):
            //        limits.memory.limit  v2: memory.max          v1: memory.limit_in_bytes
            //        no swap              v2: memory.swap.max = limits.memory.swap - limits.memory.limit
            //                             (0: OCI's swap is memory plus swap; setIfPresent)
            //                             v1: memory.memsw.limit_in_bytes = limits.memory.swap
            //                             (setIfPresent: some kernels have no swap accounting)
            //        limits.cpu           v2: cpu.max "QUOTA PERIOD"
            //                             v1: cpu.cfs_period_us = period, then cpu.cfs_quota_us = quota
            //        limits.pids.limit    pids.max, on both
            //   HINT: man 7 cgroups; docs.kernel.org/admin-guide/cgroup-v2.html, memory.max, cpu.max
            //   QUESTION: on v1, why must memory.limit_in_bytes come before memory.memsw.limit_in_bytes?
            throw Todo.missing("05.1", "create the cgroup and write the limits", "05-cgroups.adoc");
        }
        // end::create[]

        // tag::parent[]
        /**
         * Makes the parent ({@code jocker}) if it is missing. On v2 a cgroup's children get only
         * the controllers listed in its {@code cgroup.subtree_control}, so we enable ours in every
         * cgroup from the root down to the parent: that is delegation. (v1 has no such step: every
         * cgroup of the memory tree has the memory files.)
         */
        static void makeParent(Cgroups.Hierarchy tree, String parent) throws IOException {
            Path dir = tree.mount();
            for (String part : parent.split("/")) {
                if (tree.version() == Cgroups.Version.V2) enableControllers(tree, dir);
                dir = dir.resolve(part);
                if (!Files.isDirectory(dir)) {
                    try {
                        Cgroups.mkdir(dir);
                    } catch (java.nio.file.FileAlreadyExistsException raced) {
                        // another run made it at the same moment: fine
                    }
                }
            }
            if (tree.version() == Cgroups.Version.V2) enableControllers(tree, dir);
        }

        /** Writes +memory, +cpu, +pids into {@code dir/cgroup.subtree_control}, those not there yet. */
        static void enableControllers(Cgroups.Hierarchy tree, Path dir) throws IOException {
            String control = Cgroups.read(dir.resolve("cgroup.subtree_control"));
            List<String> enabled = List.of(control.split("\\s+"));
            for (String c : CONTROLLERS) {
                if (!tree.controllers().contains(c) || enabled.contains(c)) continue;
                try {
                    Cgroups.write(dir.resolve("cgroup.subtree_control"), "+" + c);
                } catch (IOException e) {
                    throw new ContainerError("failed to enable the " + c + " controller in "
                            + dir.resolve("cgroup.subtree_control") + ": " + Cgroups.reason(e), e);
                }
            }
        }
        // end::parent[]

        // tag::attach[]
        /** In the runtime, while init waits for GO: move it into the cgroup, in every tree. */
        @Override
        public void attach(Container container, int pid) throws Exception {
            // TODO(05.2): put the init process into the cgroup: in every tree of
            //   layout.serving(CONTROLLERS), write `pid` into tree.dir(path)/cgroup.procs
            //   with Cgroups.write(file, value).
            //   HINT: man 7 cgroups, cgroup.procs (v1 also has "tasks": it moves one thread only)
            //   QUESTION: init waits for GO while you do this. What could go wrong if it did not wait?
            throw Todo.missing("05.2", "put the init process into the cgroup", "05-cgroups.adoc");
        }
        // end::attach[]

        // tag::enter[]
        /** In init, already inside its cgroup: make that cgroup the root of what it can see. */
        @Override
        public void enter(Config config) {
            // TODO(05.3): give the container a cgroup namespace of its own, so that its
            //   /proc/self/cgroup shows "/" instead of the host's path to jocker/ID.
            //   HINT: man 7 cgroup_namespaces; Linux.unshare(flags), Linux.CLONE_NEWCGROUP
            //   QUESTION: why here, in enter, and not among the namespaces init is born with?
            throw Todo.missing("05.3", "unshare the cgroup namespace", "05-cgroups.adoc");
        }
        // end::enter[]

        // tag::oom[]
        /** In the runtime, after the container exited: was it killed for running out of memory? */
        @Override
        public void exited(Container container, int exitCode) throws Exception {
            Config.Resources limits = container.config.linux.resources;
            if (limits == null || limits.memory == null) return;
            Cgroups.Hierarchy tree = layout.of("memory");
            Path dir = tree.dir(path);
            long kills;
            if (tree.version() == Cgroups.Version.V2) {
                Map<String, Long> events = Cgroups.readKeyed(dir.resolve("memory.events"));      // <.>
                kills = events.getOrDefault("oom_kill", 0L);
            } else {
                Map<String, Long> oom = Cgroups.readKeyed(dir.resolve("memory.oom_control"));   // <.>
                boolean under = oom.getOrDefault("under_oom", 0L) > 0 || (exitCode == 137 && failcnt(dir) > 0);
                kills = oom.containsKey("oom_kill") ? oom.get("oom_kill") : under ? 1 : 0;
            }
            if (kills == 0) return;
            String limit = Cgroups.formatBytes(limits.memory.limit);
            if (exitCode == 128 + Linux.SIGKILL) {
                Log.error("container %s was killed: out of memory (limit %s)",
                        container.shortId(), limit);
            } else {
                Log.error("container %s: the kernel killed %d of its processes: out of memory (limit %s)",
                        container.shortId(), kills, limit);
            }
        }
        // end::oom[]

        private static long failcnt(Path dir) {
            try {
                return Long.parseLong(Cgroups.read(dir.resolve("memory.failcnt")));
            } catch (IOException | NumberFormatException e) {
                return 0;
            }
        }

        // tag::release[]
        /** In the runtime, after exit or a failed start: remove the cgroup from every tree. */
        @Override
        public void release(Container container) throws Exception {
            if (path == null) return;                  // prepare did not get far: nothing of ours
            List<Path> dirs = layout.serving(CONTROLLERS).stream()
                    .map(tree -> tree.dir(path)).filter(Files::isDirectory).toList();
            if (dirs.isEmpty()) return;
            // TODO(05.4): remove the cgroup: Cgroups.rmdir(dir) for each of `dirs`. The kernel
            //   refuses with EBUSY (Cgroups.busy(e) tells) while the cgroup still has processes:
            //   PID 1 has exited, but the rest of the container may still be dying. So retry for
            //   a moment (100 times, 20 ms apart, say), and after a while killAll(dir) that is left.
            //   HINT: man 2 rmdir; man 7 cgroups
            //   QUESTION: why rmdir, and not first deleting memory.max and the other files inside?
            throw Todo.missing("05.4", "remove the cgroup", "05-cgroups.adoc");
        }
        // end::release[]

        /** Last resort for a cgroup that will not empty: SIGKILL what is left in it (ours only). */
        private static void killAll(Path dir) {
            for (int pid : Cgroups.procs(dir)) Processes.signalIfAlive(pid, Linux.SIGKILL);
        }

        /** A limit asked for needs its controller; say so before anything is made. */
        static void requireControllers(Cgroups.Layout layout, Config.Resources limits) {
            if (limits == null) return;
            if (limits.memory != null) require(layout, "memory");
            if (limits.cpu != null) require(layout, "cpu");
            if (limits.pids != null) require(layout, "pids");
        }

        private static void require(Cgroups.Layout layout, String controller) {
            if (layout.of(controller) == null) {
                throw new ContainerError("failed to set the " + controller + " limit: no cgroup tree "
                        + "on this machine has the " + controller + " controller (see /proc/cgroups)");
            }
        }

        /** Writes one limit; a value the kernel refuses becomes one line and exit code 125. */
        static void set(String what, Path file, Object value) {
            try {
                Cgroups.write(file, value.toString());
            } catch (IOException e) {
                throw new ContainerError("failed to set the " + what + ": write " + value
                        + " to " + file + ": " + Cgroups.reason(e), e);
            }
        }

        /** Like {@link #set}, for a file some kernels lack (swap accounting can be compiled out). */
        static void setIfPresent(String what, Path file, Object value) {
            if (Files.exists(file)) set(what, file, value);
        }
    }
}
