//DEPS info.picocli:picocli:4.7.6
package jocker.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import jocker.kernel.Linux;
import jocker.oci.Config;
import jocker.runtime.ConfigOption;
import jocker.runtime.ContainerError;
import jocker.runtime.ContainerRuntime;
import jocker.runtime.Log;
import jocker.runtime.WarmsUp;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * The command line every step shares: {@code run} (with the step's options) and the hidden
 * {@code init} that the runtime starts as the container's first process. One exception handler
 * turns every failure into one line on stderr and Docker's exit code; {@code --debug} adds the
 * stack trace.
 */
public final class Cli {
    private Cli() {}

    /** Parses {@code args}, runs the command and returns the exit code for {@code System.exit}. */
    public static int execute(ContainerRuntime runtime, String name, String[] args) {
        // Numbers are formatted as Docker formats them, whatever the user's locale: 1.09MB, not
        // 1,09MB. And Locale.US is the one locale for which String.format's %d need not look up
        // the locale's digits, a lookup that costs a short-lived JVM ~20 ms the first time (jffi
        // formats a string when it loads).
        Locale.setDefault(Locale.Category.FORMAT, Locale.US);
        if (args.length == 2 && args[0].equals("init")) {
            // The runtime's second stage has nothing to parse: skipping picocli's model of the
            // whole command line saves the init JVM about 0.15 s.
            Warmup.forInit(Path.of(args[1]));
            try {
                new Init(runtime, Path.of(args[1])).call();
                return ContainerError.RUNTIME;
            } catch (Exception e) {
                return handle(e);
            }
        }
        // picocli looks for Groovy's Closure class when it starts; the miss makes the class loader
        // open every jar on the class path, ~4% of a run's CPU. We use no Groovy.
        System.setProperty("picocli.disable.closures", "true");
        List<Object> commands = runtime.commands();
        String asked = args.length > 0 ? args[0] : "";
        // `run` is ours, never one of the step's commands: it need not read their annotations
        // (the first read of a class's annotations costs a fresh JVM a few milliseconds).
        Object chosen = asked.equals("run") ? null
                : commands.stream().filter(c -> names(c).contains(asked)).findFirst().orElse(null);
        // Before any of picocli's models is built: that is the time the warm-up runs beside.
        if (asked.equals("run")) Warmup.forRun();
        if (chosen instanceof WarmsUp w) Warmup.forCommand(w, args);

        CommandLine run = new CommandLine(new Run(runtime));
        run.addMixin("arguments", runtime.arguments());
        int i = 0;
        for (ConfigOption option : runtime.options()) run.addMixin("option" + i++, option);

        CommandLine top = new CommandLine(new Top());
        top.setCommandName(name);
        top.addSubcommand("run", run);
        // picocli models a command by reflection, 10-30 ms of a short-lived JVM each: `run` and
        // `pull` (what a learner times) skip the models of the commands they will not use. Help,
        // an option first or a word that names no command get them all, for the usage and the
        // "did you mean" of picocli's error.
        boolean one = asked.equals("run") || chosen != null;
        if (!one) top.addSubcommand("init", new CommandLine(new Init(runtime)));
        for (Object command : commands) {
            if (!one || command == chosen) top.addSubcommand(new CommandLine(command));
        }
        // After IMAGE or COMMAND every word belongs to the command: run busybox ls -l
        top.setStopAtPositional(true);
        run.setStopAtPositional(true);
        top.setExecutionExceptionHandler((e, cmd, parsed) -> handle(e));
        top.setParameterExceptionHandler((e, a) -> {
            Log.error("%s", e.getMessage());
            System.err.println("See '" + e.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
            return ContainerError.RUNTIME;
        });
        return top.execute(args);
    }

    /** A command's name and aliases, read from its {@code @Command} without picocli's model. */
    private static List<String> names(Object command) {
        Command c = command.getClass().getAnnotation(Command.class);
        if (c == null) return List.of();
        List<String> names = new ArrayList<>(List.of(c.aliases()));
        names.add(c.name());
        return names;
    }

    private static int handle(Exception e) {
        Log.debugTrace(e);
        if (e instanceof ContainerError c) {
            Log.error("%s", c.getMessage());
            return c.exitCode();
        }
        if (e instanceof Linux.LinuxException l) {
            Log.error("failed to run the container: %s", l.getMessage());
            return ContainerError.RUNTIME;
        }
        Log.error("failed to run the container: %s%s", Log.reason(e),
                Log.debug ? "" : " (run with --debug for the stack trace)");
        return ContainerError.RUNTIME;
    }

    /** Namespaces, mounts and cgroups need root; say so in one line instead of failing later. */
    public static void requireRoot() {
        if (Linux.geteuid() != 0) {
            throw new ContainerError("must be run as root: namespaces, mounts and cgroups need CAP_SYS_ADMIN (try sudo)");
        }
    }

    // addMethodSubcommands = false: no subcommand is a method, so picocli need not read every
    // method's annotations to find one (~2% of a run's CPU).
    @Command(mixinStandardHelpOptions = true, version = "jocker workbook", addMethodSubcommands = false,
            description = "A container runtime, built one step at a time.",
            exitCodeListHeading = "%nExit codes:%n",
            exitCodeList = {"0:the command exited with 0", "125:the runtime itself failed (bad option, image, setup)"})
    static final class Top implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Override public Integer call() {
            spec.commandLine().usage(System.err);
            return ContainerError.RUNTIME;
        }
    }

    @Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false, addMethodSubcommands = false,
            description = "Run COMMAND in a new container, in the foreground. The command gets this "
                    + "terminal's stdin, stdout and stderr; run exits with the command's exit code.",
            exitCodeListHeading = "%nExit codes:%n",
            exitCodeList = {
                "N:the command's own exit code",
                "125:the runtime failed (bad option, missing image, setup error)",
                "126:the command was found but cannot be executed",
                "127:the command was not found",
                "128+N:the command was killed by signal N (137 = SIGKILL)"})
    static final class Run implements Callable<Integer> {
        private final ContainerRuntime runtime;
        @Spec CommandSpec spec;

        @Option(names = "--verbose", description = "Print what the runtime does on stderr.")
        boolean verbose;

        @Option(names = "--trace", description = "Print every system call, strace-style, on stderr (also JOCKER_TRACE=1).")
        boolean trace;

        @Option(names = "--debug", description = "Print the stack trace behind an error (also JOCKER_DEBUG=1).")
        boolean debug;

        Run(ContainerRuntime runtime) { this.runtime = runtime; }

        @Override public Integer call() throws Exception {
            if (verbose) Log.verbose = true;
            if (debug) Log.debug = true;
            if (trace) Linux.enableTrace();
            requireRoot();
            Config config = new Config();
            for (Object mixin : spec.mixins().values().stream().map(CommandSpec::userObject).toList()) {
                if (mixin instanceof ConfigOption option) option.configure(config);
            }
            return runtime.run(config);
        }
    }

    @Command(name = "init", hidden = true,
            description = "The container's first process (started by run; not for humans).")
    static final class Init implements Callable<Integer> {
        private final ContainerRuntime runtime;

        @Parameters(index = "0", paramLabel = "CONFIG") Path config;

        Init(ContainerRuntime runtime) { this.runtime = runtime; }

        Init(ContainerRuntime runtime, Path config) {
            this.runtime = runtime;
            this.config = config;
        }

        @Override public Integer call() {
            requireRoot();
            runtime.init(config);
            return ContainerError.RUNTIME;   // not reached: init execs or exits
        }
    }
}
