import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The integrity of a skeleton: it is its solution with the concept cut out, and nothing else drifts. */
final class Integrity {
    private Integrity() {}

    /**
     * Where a skeleton differs from its solution other than by a TODO: the lines of both are
     * aligned (longest common subsequence), changes closer than three lines are taken together,
     * and each change must add to the skeleton only comments and a {@code throw Todo.missing(...)}.
     * So the skeleton is the solution with the concept cut out, and nothing else drifts.
     */
    static List<String> differencesOutsideTodos(Path solution, Path skeleton) {
        List<String> a, b;
        try {
            a = Files.readAllLines(solution);
            b = Files.readAllLines(skeleton);
        } catch (IOException e) {
            return List.of("cannot read: " + e);
        }
        int[][] lcs = new int[a.size() + 1][b.size() + 1];
        for (int i = a.size() - 1; i >= 0; i--) {
            for (int j = b.size() - 1; j >= 0; j--) {
                lcs[i][j] = a.get(i).equals(b.get(j)) ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
            }
        }
        // Walk the alignment; collect the skeleton's added lines per change, merging near changes.
        List<String> problems = new ArrayList<>();
        List<String> added = new ArrayList<>();
        int i = 0, j = 0, equalRun = 0, changeAt = -1;
        while (i < a.size() || j < b.size()) {
            if (i < a.size() && j < b.size() && a.get(i).equals(b.get(j))) {
                i++;
                j++;
                if (changeAt >= 0 && ++equalRun > 2) {
                    checkChange(skeleton, changeAt, added, problems);
                    added.clear();
                    changeAt = -1;
                }
                continue;
            }
            if (changeAt < 0) changeAt = j + 1;
            equalRun = 0;
            if (j < b.size() && (i == a.size() || lcs[i][j + 1] >= lcs[i + 1][j])) {
                added.add(b.get(j++));
            } else {
                i++;
            }
        }
        if (changeAt >= 0) checkChange(skeleton, changeAt, added, problems);
        return problems;
    }

    private static void checkChange(Path skeleton, int line, List<String> added, List<String> problems) {
        boolean todo = added.stream().anyMatch(l -> l.contains("Todo.missing("));
        List<String> code = added.stream().filter(l -> !l.isBlank() && !l.trim().matches("(//|\\*|/\\*).*")
                && !l.contains("Todo.missing(")).toList();
        if (!todo || !code.isEmpty()) {
            problems.add(String.format("%s:%d: a change that is not a TODO block%s", skeleton.getFileName(), line,
                    code.isEmpty() ? " (no throw Todo.missing(...))" : ": " + code.get(0).trim()));
        }
    }
}
