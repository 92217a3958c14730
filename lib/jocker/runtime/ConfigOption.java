package jocker.runtime;

import jocker.oci.Config;

/**
 * A piece of {@code run}'s command line (a picocli {@code @Mixin}) that knows which part of the
 * container's config it fills in. A feature's options travel with it: step 03 brings
 * {@code --hostname}, step 05 {@code --memory}. Throw a {@link ContainerError} for a bad value.
 */
public interface ConfigOption {
    void configure(Config config);
}
