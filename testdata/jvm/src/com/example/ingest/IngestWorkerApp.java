// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
// Scenario native-memory-over-limit: the heap is fine; threads and direct buffers are not.
package com.example.ingest;

import com.example.support.Banner;
import com.example.support.Log;
import com.example.support.Sampler;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A thread-per-connection ingest server. The heap is small, pre-touched and never under pressure;
 * each accepted connection gets its own thread (-Xss2m), a 256 KiB direct read buffer, and a
 * recursive-descent parse of the tenant's deeply nested schema, which really touches most of the
 * thread's stack. Connections arrive steadily, so the process's native footprint grows until the
 * kernel's memory-cgroup OOM killer ends it: exit 137 and no OutOfMemoryError anywhere.
 */
public final class IngestWorkerApp {
    private static final Log LOG = Log.get(IngestWorkerApp.class);
    private static final AtomicInteger ACTIVE = new AtomicInteger();

    private IngestWorkerApp() {
    }

    public static void main(String[] args) throws Exception {
        Banner.starting(LOG, "IngestWorker", "0.19.2");
        Sampler.start();
        int perSecond = Integer.getInteger("ingest.connectionsPerSecond", 10);
        int depth = Integer.getInteger("ingest.schemaDepth", 40000);
        // Validate the built-in schemas once, as start-up does; this also gets the parser compiled.
        for (int i = 0; i < 2000; i++) {
            SchemaParser.parse("builtin-" + i, 200);
        }
        LOG.info("Listening for ingest connections on port 7400 (thread-per-connection, read buffer 256 KiB)");
        Banner.started(LOG, "IngestWorker");
        Thread.currentThread().setName("acceptor");
        for (int n = 1; ; n++) {
            String peer = "10.12." + (n % 7) + "." + (20 + n % 200) + ":" + (40000 + n);
            String tenant = "t-" + (1000 + n);
            Thread t = new Thread(() -> serve(peer, tenant, depth), "ingest-conn-" + n);
            t.start();
            int active = ACTIVE.incrementAndGet();
            LOG.info("Accepted connection from " + peer + " (tenant " + tenant + "), active connections: " + active);
            Thread.sleep(1000 / perSecond);
        }
    }

    private static void serve(String peer, String tenant, int depth) {
        ByteBuffer buf = ByteBuffer.allocateDirect(256 * 1024);
        for (int i = 0; i < buf.capacity(); i += 4096) {
            buf.put(i, (byte) 1); // the socket reads fill the whole buffer
        }
        try {
            SchemaParser.parse(tenant, depth);
        } catch (StackOverflowError e) {
            LOG.warn("Schema of tenant " + tenant + " is nested deeper than the parser stack allows; connection kept in raw mode");
        }
        // Connections are long-lived: the thread, its stack and its buffer stay.
        while (true) {
            LockSupport.parkNanos(1_000_000_000L);
            buf.put(0, (byte) 2);
        }
    }
}
