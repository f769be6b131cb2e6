// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
package com.example.support;

import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Routes java.util.logging (which Netty falls back to without SLF4J) into {@link Log}, as a
 * jul-to-slf4j bridge does in a real service, so library messages share the app's log format.
 */
public final class JulBridge extends Handler {
    private JulBridge() {
    }

    /** Replaces the root logger's console handler with the bridge. */
    public static void install() {
        LogManager.getLogManager().reset();
        Logger root = Logger.getLogger("");
        root.setLevel(Level.INFO);
        root.addHandler(new JulBridge());
    }

    @Override
    public void publish(LogRecord r) {
        if (r == null || !isLoggable(r)) {
            return;
        }
        String level = r.getLevel().intValue() >= Level.SEVERE.intValue() ? "ERROR"
                : r.getLevel().intValue() >= Level.WARNING.intValue() ? "WARN" : "INFO";
        String msg = r.getMessage();
        if (r.getParameters() != null && msg != null) {
            msg = java.text.MessageFormat.format(msg, r.getParameters());
        }
        Log.named(Log.abbreviate(r.getLoggerName() == null ? "jul" : r.getLoggerName())).log(level, msg, r.getThrown());
    }

    @Override
    public void flush() {
        System.out.flush();
    }

    @Override
    public void close() {
        flush();
    }
}
