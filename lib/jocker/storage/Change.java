package jocker.storage;

/**
 * One line of {@code diff}: what a container did to one path of its image, as {@code docker diff}
 * prints it ({@code A /tmp/new}, {@code C /etc}, {@code D /etc/motd}).
 */
public record Change(Kind kind, String path) implements Comparable<Change> {

    /** Added (the image had no such path), changed (it had one), deleted. */
    public enum Kind {
        ADDED('A'), CHANGED('C'), DELETED('D');

        public final char letter;

        Kind(char letter) { this.letter = letter; }
    }

    @Override
    public String toString() { return kind.letter + " " + path; }

    /** By path, so that a directory comes before what is in it, as docker prints them. */
    @Override
    public int compareTo(Change o) { return path.compareTo(o.path); }
}
