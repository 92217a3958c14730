import java.io.IOException;
import java.util.List;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Gives a check class its {@link Jocker}: made before the class's first check (a state root and a
 * cgroup parent of its own, what is under test from the launcher's configuration parameters),
 * handed to its constructor (or any method) as a parameter, its runs stopped after every check,
 * and cleaned up after the class. What the runtime left behind fails the class as {@link LeftBehind},
 * which the harness reports as a check of its own.
 * <pre>
 *   &#64;ExtendWith(JockerExtension.class)
 *   class Step01Checks {
 *       private final Jocker jocker;
 *       Step01Checks(Jocker jocker) { this.jocker = jocker; }
 * </pre>
 * The context lives in the class's extension store, not in a static field: the same class may run
 * against two scripts at once, in two launcher executions.
 */
public final class JockerExtension implements BeforeAllCallback, AfterEachCallback, AfterAllCallback, ParameterResolver {

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(JockerExtension.class);
    private static final String KEY = "jocker";

    /** What the runs of a class left behind; the message lists it, one line each. */
    static final class LeftBehind extends AssertionError {
        LeftBehind(String className, Jocker jocker, List<String> left) {
            super("left behind by the checks of " + className + " (state root " + jocker.root() + ", cgroup parent "
                    + jocker.cgroupParent() + "):\n" + String.join("\n", left));
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        jocker(context);
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Jocker jocker = context.getStore(NAMESPACE).get(KEY, Jocker.class);
        if (jocker != null) jocker.stopRuns();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        Jocker jocker = context.getStore(NAMESPACE).remove(KEY, Jocker.class);
        if (jocker == null) return;
        List<String> left = Cleanup.close(jocker);
        if (!left.isEmpty()) throw new LeftBehind(context.getDisplayName(), jocker, left);
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == Jocker.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        return jocker(context);
    }

    /**
     * The class's context, made on first use: before the class's first check, or when the
     * constructor of a class with one test instance for all its checks (PER_CLASS) asks, which
     * comes first; from any context below the class (a check, a condition).
     */
    static Jocker jocker(ExtensionContext context) {
        ExtensionContext c = context;
        while (c.getTestMethod().isPresent() && c.getParent().isPresent()) c = c.getParent().get();
        ExtensionContext classContext = c;
        return classContext.getStore(NAMESPACE).getOrComputeIfAbsent(KEY, k -> {
            try {
                return Jocker.open(classContext::getConfigurationParameter, Jocker.stepOfChecks(classContext.getRequiredTestClass()));
            } catch (IOException e) {
                throw new ParameterResolutionException("failed to make a state root: " + e, e);
            }
        }, Jocker.class);
    }
}
