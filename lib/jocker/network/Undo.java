package jocker.network;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

import jocker.runtime.ContainerError;
import jocker.runtime.Log;

/**
 * How each network thing a container makes is undone, knowing nothing but what the undo log
 * holds: a link's name, a rule's iptables arguments, a lease's path and its owner. These are what
 * the undo log's kinds LINK, RULE and LEASE call (see /tmp/net-notes.md for the proposed
 * UndoLog change), so that the sweep of any step removes a killed step-08 container's network.
 * Each is idempotent: undoing what was never made, or is gone already, does nothing.
 */
public final class Undo {
    private Undo() {}

    /**
     * Deletes network interface {@code name} of the host, if it exists. For a veth pair, deleting
     * one end deletes both (man 4 veth); if the container's end is already gone with its
     * namespace, the host end went with it.
     */
    public static void deleteLink(String name) {
        if (!Files.exists(Path.of("/sys/class/net", name))) return;
        Programs.Result r = Programs.run(List.of(Programs.find("ip", "iproute2"), "link", "delete", name), "");
        if (!r.ok() && Files.exists(Path.of("/sys/class/net", name))) {
            throw new ContainerError("failed to delete network interface " + name + ": ip: " + r.firstLine());
        }
    }

    /** Deletes the iptables rule whose {@code iptables} arguments are {@code args} ({@code -t T -A CHAIN ...}). */
    public static void deleteRule(List<String> args) {
        if (!Iptables.deleteOne(Rule.fromArgs(args))) {
            throw new ContainerError("failed to delete iptables rule " + String.join(" ", args));
        }
    }

    /**
     * Deletes the lease file {@code lease} if {@code containerId} holds it (or it is empty: its
     * maker died between creating and writing it). Under the lock, so that it never races with
     * an allocation. {@code lease} is {@code networks/NAME/leases/ADDRESS}.
     */
    public static void releaseLease(Path lease, String containerId) {
        Path networks = lease.toAbsolutePath().normalize().getParent().getParent().getParent();
        try (NetworkLock held = NetworkLock.take(networks)) {
            String owner;
            try {
                owner = Files.readString(lease, StandardCharsets.UTF_8).strip();
            } catch (NoSuchFileException gone) {
                return;
            }
            if (owner.isEmpty() || owner.equals(containerId)) Files.deleteIfExists(lease);
        } catch (IOException e) {
            throw new ContainerError("failed to release the lease " + lease + ": " + Log.reason(e), e);
        }
    }
}
