// Log is a tiny stand-in for a logging framework used by the fixture
// programs. It uses a fake clock (a fixed start plus 7 ms per call) so the
// captured fixtures are reproducible, or the real clock with
// -Dlog.realclock=true (to sit beside JVM unified-logging lines, which
// always carry the real time). The stack traces themselves are printed by
// the JVM (Throwable.printStackTrace) and are real.
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

final class Log {
    private static final Instant START = Instant.parse("2026-03-14T02:11:05.123Z");
    private static final DateTimeFormatter SPRING =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter ISO =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX").withZone(ZoneOffset.UTC);
    private static long calls;

    private Log() {}

    private static Instant now() {
        if (Boolean.getBoolean("log.realclock")) {
            return Instant.now();
        }
        return START.plusMillis(7 * calls++);
    }

    /** Prints a Spring/logback-style line, then the throwable's trace if any. */
    static void line(String level, String logger, String msg, Throwable t) {
        System.out.println(SPRING.format(now()) + " " + level + " [" + Thread.currentThread().getName() + "] "
                + logger + " - " + msg);
        if (t != null) {
            t.printStackTrace(System.out);
        }
        System.out.flush();
    }

    /** Prints one logstash-encoder-style JSON line with the trace in stack_trace. */
    static void json(String level, String logger, String msg, Throwable t) {
        StringBuilder b = new StringBuilder("{\"@timestamp\":\"").append(ISO.format(now())).append('"');
        b.append(",\"level\":\"").append(level).append('"');
        b.append(",\"thread_name\":\"").append(esc(Thread.currentThread().getName())).append('"');
        b.append(",\"logger_name\":\"").append(esc(logger)).append('"');
        b.append(",\"message\":\"").append(esc(msg)).append('"');
        if (t != null) {
            StringWriter sw = new StringWriter();
            t.printStackTrace(new PrintWriter(sw));
            b.append(",\"stack_trace\":\"").append(esc(sw.toString())).append('"');
        }
        System.out.println(b.append('}'));
        System.out.flush();
    }

    static String esc(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                default:
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c)); else b.append(c);
            }
        }
        return b.toString();
    }
}
