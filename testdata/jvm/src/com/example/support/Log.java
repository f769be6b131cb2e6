// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot;
// a tiny logback-style logger so the fixture logs look like a Spring service's
// without pulling a logging framework onto the classpath.
package com.example.support;

import java.io.PrintStream;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * Writes "2026-03-14T02:10:00.123Z  INFO [thread] c.e.pkg.Class - message" lines to stdout,
 * followed by the real stack trace when a Throwable is logged, the way logback does.
 */
public final class Log {
    private static final DateTimeFormatter TS =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
    private static final Object LOCK = new Object();

    private final String name;

    private Log(String name) {
        this.name = name;
    }

    /** Returns a logger named like logback's %logger{36}: packages abbreviated except the last. */
    public static Log get(Class<?> c) {
        return named(abbreviate(c.getName()));
    }

    /** Returns a logger with a verbatim name (e.g. Tomcat's dispatcher logger). */
    public static Log named(String name) {
        return new Log(name);
    }

    /** Abbreviates all packages but the last to their first letter. */
    public static String abbreviate(String fqcn) {
        String[] parts = fqcn.split("\\.");
        if (parts.length <= 2) {
            return fqcn;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < parts.length; i++) {
            if (i > 0) {
                sb.append('.');
            }
            // Keep the last package and the class name whole, like %logger{36} does for short names.
            sb.append(i < parts.length - 2 ? parts[i].substring(0, 1) : parts[i]);
        }
        return sb.toString();
    }

    public void info(String msg) {
        write(" INFO", msg, null);
    }

    public void warn(String msg) {
        write(" WARN", msg, null);
    }

    public void warn(String msg, Throwable t) {
        write(" WARN", msg, t);
    }

    public void error(String msg, Throwable t) {
        write("ERROR", msg, t);
    }

    /** Logs at an explicit level; used by the java.util.logging bridge. */
    public void log(String level, String msg, Throwable t) {
        write(String.format("%5s", level), msg, t);
    }

    private void write(String level, String msg, Throwable t) {
        PrintStream out = System.out;
        synchronized (LOCK) {
            out.println(TS.format(Instant.now()) + " " + level + " [" + Thread.currentThread().getName() + "] "
                    + name + " - " + msg);
            if (t != null) {
                t.printStackTrace(out);
            }
            out.flush();
        }
    }
}
