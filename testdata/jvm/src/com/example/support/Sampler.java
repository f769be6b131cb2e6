// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
package com.example.support;

import java.io.FileOutputStream;
import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryUsage;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Daemon thread that appends one JSON line of real MXBean readings every 250 ms to the file
 * named by -Doombot.metrics. Each line is flushed at once so the samples survive a SIGKILL.
 * Without the property nothing is sampled, so the programs also run stand-alone.
 */
public final class Sampler implements Runnable {
    private final FileOutputStream out;
    private final MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    private final MemoryPoolMXBean oldGen;
    private final MemoryPoolMXBean metaspace;
    private final BufferPoolMXBean direct;
    private final List<GarbageCollectorMXBean> gcs = ManagementFactory.getGarbageCollectorMXBeans();
    private final Method nettyUsedDirect;

    private Sampler(FileOutputStream out) {
        this.out = out;
        MemoryPoolMXBean old = null;
        MemoryPoolMXBean meta = null;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            String n = p.getName();
            if (n.equals("G1 Old Gen") || n.equals("Tenured Gen") || n.equals("PS Old Gen")) {
                old = p;
            } else if (n.equals("Metaspace")) {
                meta = p;
            }
        }
        oldGen = old;
        metaspace = meta;
        BufferPoolMXBean d = null;
        for (BufferPoolMXBean b : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (b.getName().equals("direct")) {
                d = b;
            }
        }
        direct = d;
        Method m = null;
        try {
            // Netty counts its no-cleaner direct memory itself; the JDK's buffer pool never sees it.
            m = Class.forName("io.netty.util.internal.PlatformDependent").getMethod("usedDirectMemory");
        } catch (ReflectiveOperationException | LinkageError e) {
            m = null;
        }
        nettyUsedDirect = m;
    }

    /** Starts the sampler when -Doombot.metrics is set. */
    public static void start() throws IOException {
        String path = System.getProperty("oombot.metrics");
        if (path == null || path.isEmpty()) {
            return;
        }
        Thread t = new Thread(new Sampler(new FileOutputStream(path, true)), "metrics-sampler");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void run() {
        while (true) {
            try {
                out.write(sample().getBytes(StandardCharsets.UTF_8));
            } catch (Throwable t) {
                // A sample lost to an OutOfMemoryError is a gap in the series, not a reason to stop.
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private String sample() {
        MemoryUsage heap = memory.getHeapMemoryUsage();
        long gcTime = 0;
        long gcCount = 0;
        for (GarbageCollectorMXBean g : gcs) {
            gcTime += Math.max(0, g.getCollectionTime());
            gcCount += Math.max(0, g.getCollectionCount());
        }
        long netty = -1;
        if (nettyUsedDirect != null) {
            try {
                netty = ((Number) nettyUsedDirect.invoke(null)).longValue();
            } catch (ReflectiveOperationException e) {
                netty = -1;
            }
        }
        return "{\"t\":" + System.currentTimeMillis()
                + ",\"heapUsed\":" + heap.getUsed()
                + ",\"heapCommitted\":" + heap.getCommitted()
                + ",\"heapMax\":" + heap.getMax()
                + ",\"oldGenUsed\":" + (oldGen == null ? -1 : oldGen.getUsage().getUsed())
                + ",\"nonHeapUsed\":" + memory.getNonHeapMemoryUsage().getUsed()
                + ",\"metaspaceUsed\":" + (metaspace == null ? -1 : metaspace.getUsage().getUsed())
                + ",\"directUsed\":" + (direct == null ? -1 : direct.getMemoryUsed())
                + ",\"nettyDirectUsed\":" + netty
                + ",\"classesLoaded\":" + ManagementFactory.getClassLoadingMXBean().getLoadedClassCount()
                + ",\"threads\":" + ManagementFactory.getThreadMXBean().getThreadCount()
                + ",\"gcTimeMs\":" + gcTime
                + ",\"gcCount\":" + gcCount
                + "}\n";
    }
}
