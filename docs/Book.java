///usr/bin/env jbang "$0" "$@" ; exit $?
// The book: renders README.adoc and chapters/*.adoc into HTML with AsciidoctorJ.
//
// Usage: jbang docs/Book.java [ROOT [OUT]]      (./build.sh docs does this)
//        ROOT is the workbook (default: the current directory), OUT the output directory
//        (default: ROOT/build/book). README.adoc becomes OUT/index.html, each chapter
//        OUT/NN-name.html, each page self-contained (stylesheet embedded, no network needed).
//
// The chapters pull their code from steps/ and lib/ by tag; only chapters/answers.adoc, the
// appendix of answers, includes from solutions/. The build fails (exit 1, one line per problem)
// on any warning or error of Asciidoctor (an include file or a tag that is missing, a callout
// without its code, ...), on an include that left "Unresolved directive" in the page, and on a
// chapter or the README that includes from solutions/: the book can never show a snippet that
// has drifted away from the code, nor a learner an answer before the answers page.
//
//JAVA 17+
//JAVAC_OPTIONS -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC -J-XX:-UsePerfData
//DEPS org.asciidoctor:asciidoctorj:3.0.0

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.asciidoctor.Asciidoctor;
import org.asciidoctor.Attributes;
import org.asciidoctor.Options;
import org.asciidoctor.SafeMode;
import org.asciidoctor.log.Severity;

class Book {
    /** An include directive whose target lies in solutions/ (commented-out lines do not count). */
    static final java.util.regex.Pattern SOLUTIONS_INCLUDE =
            java.util.regex.Pattern.compile("^\\s*include::(?:[^\\[]*/)?solutions/");

    public static void main(String[] args) throws Exception {
        Path root = Path.of(args.length > 0 ? args[0] : ".").toAbsolutePath().normalize();
        Path out = (args.length > 1 ? Path.of(args[1]) : root.resolve("build/book")).toAbsolutePath();
        if (!Files.isRegularFile(root.resolve("README.adoc"))) {
            System.err.println("book: no README.adoc in " + root + " (usage: jbang docs/Book.java [ROOT [OUT]])");
            System.exit(125);
        }
        Files.createDirectories(out);

        List<Path> pages = new ArrayList<>();
        pages.add(root.resolve("README.adoc"));
        try (Stream<Path> chapters = Files.list(root.resolve("chapters"))) {
            chapters.filter(p -> p.toString().endsWith(".adoc")).sorted().forEach(pages::add);
        }

        // Asciidoctor's messages come to the handler below; keep java.util.logging from
        // printing each one a second time.
        java.util.logging.LogManager.getLogManager().reset();
        List<String> problems = new ArrayList<>();
        for (Path page : pages) {
            if (page.getFileName().toString().equals("answers.adoc")) continue;
            List<String> lines = Files.readAllLines(page);
            for (int i = 0; i < lines.size(); i++) {
                if (SOLUTIONS_INCLUDE.matcher(lines.get(i)).find()) {
                    problems.add(page + ":" + (i + 1) + ": includes from solutions/ (given code comes from steps/"
                            + " or lib/, answers go to chapters/answers.adoc): " + lines.get(i).trim());
                }
            }
        }
        try (Asciidoctor asciidoctor = Asciidoctor.Factory.create()) {
            asciidoctor.registerLogHandler(record -> {
                if (record.getSeverity().ordinal() >= Severity.WARN.ordinal()) {
                    String where = record.getCursor() == null ? ""
                            : record.getCursor().getFile() + ":" + record.getCursor().getLineNumber() + ": ";
                    problems.add(where + record.getMessage());
                }
            });
            for (Path page : pages) {
                String name = page.getFileName().toString().equals("README.adoc")
                        ? "index.html" : page.getFileName().toString().replaceFirst("\\.adoc$", ".html");
                // In the HTML book every page sits in one directory: the README's links to
                // {chapters}NN-name.adoc and the chapters' links to {home} are set to match.
                Attributes attributes = Attributes.builder()
                        .sourceHighlighter("rouge")
                        .attribute("rouge-style", "github")
                        .attribute("chapters", "")
                        .attribute("home", "index.adoc")
                        .attribute("toc", "left")
                        .attribute("sectanchors", "")
                        .attribute("nofooter", "")
                        .attribute("webfonts!", "")      // no Google Fonts: the book reads offline
                        .build();
                // Includes resolve against the including page's directory (its base_dir), so
                // chapters/ reaches ../steps, ../solutions and ../lib. In SAFE mode base_dir is also
                // a jail that forbids "..": we render our own files, so UNSAFE, as the CLI does.
                Options options = Options.builder()
                        .safe(SafeMode.UNSAFE)
                        .toFile(out.resolve(name).toFile())
                        .standalone(true)
                        .attributes(attributes)
                        .build();
                asciidoctor.convertFile(page.toFile(), options);
                String html = Files.readString(out.resolve(name));
                if (html.contains("Unresolved directive")) {
                    problems.add(page + ": an include did not resolve (\"Unresolved directive\" in " + name + ")");
                }
                System.err.println("book: " + root.relativize(page) + " -> " + out.resolve(name));
            }
        }
        if (!problems.isEmpty()) {
            problems.forEach(p -> System.err.println("book: " + p));
            System.err.println("book: failed with " + problems.size() + " problem(s)");
            System.exit(1);
        }
    }
}
