// SuppressedOOM exhausts the heap (-Xmx16m) inside close() of a
// try-with-resources whose body already failed, so the OutOfMemoryError is
// printed as a "Suppressed:" block of another exception.
import java.util.ArrayList;
import java.util.List;

public class SuppressedOOM {
    static final List<long[]> hold = new ArrayList<>();

    static final class Spool implements AutoCloseable {
        @Override
        public void close() {
            try {
                while (true) {
                    hold.add(new long[128 * 1024]);
                }
            } finally {
                hold.clear();
            }
        }
    }

    static void export() {
        try (Spool s = new Spool()) {
            throw new IllegalStateException("export aborted");
        }
    }

    public static void main(String[] args) {
        try {
            export();
        } catch (IllegalStateException e) {
            Log.line("ERROR", "c.e.Exporter", "export failed", e);
        }
    }
}
