// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
package com.example.apm.bootstrap;

import com.example.support.Log;
import java.util.function.Supplier;

/** The agent's entry point: wraps a call in a span, instrumenting the type on first sight. */
public final class Tracer {
    private static final Log LOG = Log.get(Tracer.class);
    private final InstrumentationCache cache;

    private Tracer(InstrumentationCache cache) {
        this.cache = cache;
    }

    /** Installs the agent. */
    public static Tracer install() throws Exception {
        InstrumentationCache cache = InstrumentationCache.create();
        LOG.info("APM agent 1.31.0 started; instrumentation cache at " + cache.describe());
        return new Tracer(cache);
    }

    /** Runs body inside a span for type.method. */
    public <T> T trace(String type, String method, Supplier<T> body) {
        cache.adviceFor(type);
        long t0 = System.nanoTime();
        try {
            return body.get();
        } finally {
            Span.finish(type, method, System.nanoTime() - t0);
        }
    }
}
