///usr/bin/env jbang "$0" "$@" ; exit $?
// The book: renders README.adoc and chapters/*.adoc into HTML with AsciidoctorJ.
//
// Usage: jbang docs/Book.java [ROOT [OUT]]      (./build.sh docs does this)
//        ROOT is the workbook (default: the current directory), OUT the output directory
//        (default: ROOT/build/book). README.adoc becomes OUT/index.html, each chapter
//        OUT/NN-name.html, each page self-contained (stylesheet embedded, no network needed).
//
// The chapters pull their code from steps/, solutions/ and lib/ by tag; an include that does
// not resolve, or any other warning of Asciidoctor, fails the build (exit 1), so the book can
// never show a snippet that has drifted away from the code.
//
//JAVA 17+
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
