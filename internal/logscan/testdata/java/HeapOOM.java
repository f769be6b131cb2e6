// HeapOOM exhausts a small heap (-Xmx16m) deep inside a call chain, wraps
// the OutOfMemoryError in a RuntimeException (so the log shows a
// "Caused by:" chain with "... N more"), logs it logger-style, then lets a
// second, unwrapped OutOfMemoryError escape main ("Exception in thread").
// Argument "json" prints the first trace as a JSON line instead.
import java.util.ArrayList;
import java.util.List;

public class HeapOOM {
    static final List<long[]> hold = new ArrayList<>();

    static void fill() {
        while (true) {
            hold.add(new long[128 * 1024]);
        }
    }

    static void loadReport(String id) {
        fill();
    }

    static void handle(String id) {
        try {
            loadReport(id);
        } catch (OutOfMemoryError e) {
            hold.clear();
            throw new RuntimeException("report " + id + " failed", e);
        }
    }

    public static void main(String[] args) throws InterruptedException {
        boolean json = args.length > 0 && args[0].equals("json");
        // A named worker thread, like a servlet container's, so the trace
        // ends in java.base/java.lang.Thread.run and the logger line carries
        // the thread name.
        Thread worker = new Thread(() -> {
            Log.line("INFO", "c.e.ReportService", "loading report 42", null);
            try {
                handle("42");
            } catch (RuntimeException e) {
                if (json) {
                    Log.json("ERROR", "c.e.Handler", "request failed", e);
                } else {
                    Log.line("ERROR", "c.e.Handler", "request failed", e);
                }
            }
        }, "http-nio-8080-exec-3");
        worker.start();
        worker.join();
        Log.line("INFO", "c.e.ReportService", "retrying without cache", null);
        fill();
    }
}
