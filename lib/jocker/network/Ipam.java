package jocker.network;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

import jocker.kernel.DirectoryLock;
import jocker.kernel.NetworkObjects;
import jocker.runtime.ContainerError;
import jocker.runtime.Log;

/**
 * IP address management: which container has which address of a network's subnet. One file per
 * address in use, {@code networks/NAME/leases/10.213.0.2}, holding the id of the container that
 * has it. Files, not one JSON document, so that a lease is made and released by one system call
 * each (creat with O_EXCL, unlink) and the sweep after a SIGKILL can release it knowing nothing but
 * its path and its owner.
 *
 * <p>Choosing happens under the networks' lock ({@link Network#lock}); the lease file is moreover created with
 * O_EXCL, so even a chooser that ignored the lock could never take an address twice.
 */
public final class Ipam {
    private final Path leases;
    private final Path lockDir;
    private final Subnet subnet;

    Ipam(Path networkDir, Path lockDir, Subnet subnet) {
        this.leases = networkDir.resolve("leases");
        this.lockDir = lockDir;
        this.subnet = subnet;
    }

    public Subnet subnet() { return subnet; }

    /** The file that says who has {@code address}. */
    public Path leaseFile(int address) { return leases.resolve(Subnet.format(address)); }

    /** The addresses that have a lease now. */
    public Set<Integer> taken() {
        Set<Integer> taken = new TreeSet<>();
        if (!Files.isDirectory(leases)) return taken;
        try (var list = Files.list(leases)) {
            list.forEach(p -> {
                try {
                    taken.add(Subnet.parseAddress(p.getFileName().toString()));
                } catch (IllegalArgumentException notALease) {
                    // a temporary file, say
                }
            });
        } catch (IOException e) {
            throw new ContainerError("failed to read the leases in " + leases + ": " + Log.reason(e), e);
        }
        return taken;
    }

    /**
     * Gives {@code containerId} an address that nobody has: {@code chooser} picks it (TODO 08.1),
     * {@code beforeLease} is told the lease file before it is created (to record it in the undo
     * log), then the lease is made.
     */
    public int allocate(String containerId, NetworkHooks chooser, Consumer<Path> beforeLease) {
        try (DirectoryLock held = Network.lock(lockDir)) {
            Set<Integer> taken = taken();
            Integer address = chooser.chooseAddress(subnet, Set.copyOf(taken));
            if (address == null) {
                throw new ContainerError("failed to allocate an address in " + subnet + ": all "
                        + (subnet.size() - 3) + " are in use");
            }
            if (!subnet.contains(address) || address == subnet.network() || address == subnet.broadcast()
                    || address == subnet.gateway() || taken.contains(address)) {
                throw new ContainerError("failed to allocate an address in " + subnet + ": "
                        + Subnet.format(address) + " was chosen, but it is "
                        + (taken.contains(address) ? "taken" : "not an address a container may have"));
            }
            Path lease = leaseFile(address);
            beforeLease.accept(lease);
            try {
                Files.createDirectories(leases);
                Files.writeString(Files.createFile(lease), containerId, StandardCharsets.UTF_8);
            } catch (FileAlreadyExistsException e) {
                throw new ContainerError("failed to allocate " + Subnet.format(address) + ": another container has it", e);
            } catch (IOException e) {
                throw new ContainerError("failed to write the lease " + lease + ": " + Log.reason(e), e);
            }
            return address;
        }
    }

    /** Gives {@code address} back, if {@code containerId} still has it. */
    public void release(int address, String containerId) {
        try {
            NetworkObjects.releaseLease(leaseFile(address), containerId);
        } catch (IOException e) {
            throw new ContainerError("failed to release the lease " + leaseFile(address) + ": " + Log.reason(e), e);
        }
    }

    /** Who has {@code address}, or null. */
    public String owner(int address) {
        try {
            return Files.readString(leaseFile(address), StandardCharsets.UTF_8).strip();
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new ContainerError("failed to read the lease " + leaseFile(address) + ": " + Log.reason(e), e);
        }
    }
}
