// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
// Scenario heap-undersized: a legitimate, constant working set that leaves too little headroom.
package com.example.catalog;

import com.example.support.Banner;
import com.example.support.Log;
import com.example.support.Sampler;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A catalog service that keeps its whole product catalogue in an in-heap cache sized to most of
 * -Xmx. The cache is loaded once and never grows; requests only allocate short-lived data, but
 * so little heap is left that full collections run back to back and reclaim little. Traffic is steady, with
 * short peaks (a partner's batch client) that grow through the morning; a peak's concurrent
 * requests need more transient heap than the cache leaves, and the JVM gives up
 * (-XX:+ExitOnOutOfMemoryError). Nothing leaks: the heap is simply too small for this load.
 */
public final class CatalogServiceApp {
    private static final Log LOG = Log.get(CatalogServiceApp.class);

    private CatalogServiceApp() {
    }

    public static void main(String[] args) throws Exception {
        Banner.starting(LOG, "CatalogServiceApplication", "4.2.0");
        Sampler.start();
        int entries = Integer.getInteger("catalog.cache.entries", 195_000);
        ProductCache cache = ProductCache.load(entries);
        LOG.info(String.format("Product cache warmed: %d products", cache.size()));
        Banner.started(LOG, "CatalogServiceApplication");

        AtomicInteger n = new AtomicInteger();
        ExecutorService pool = new ThreadPoolExecutor(32, 32, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                r -> new Thread(r, "http-nio-8080-exec-" + n.incrementAndGet()));
        SearchController search = new SearchController(cache);
        int rate = Integer.getInteger("catalog.rate", 15);
        // Peaks: a partner's batch client fires N searches at once; each peak is bigger than the last.
        int[] peakAt = {15, 25, 35, 45, 55, 65, 75};
        int[] peakSize = {10, 18, 32, 40, 40, 40, 40};
        AtomicLong served = new AtomicLong();
        long start = System.currentTimeMillis();
        long lastReport = start;
        long lastServed = 0;
        long q = 0;
        int peak = 0;
        while (true) {
            long now = System.currentTimeMillis();
            int burst = 0;
            if (peak < peakAt.length && now - start >= peakAt[peak] * 1000L) {
                burst = peakSize[peak++];
            }
            for (int i = 0; i < Math.max(1, rate / 20) + burst; i++) {
                long query = q++;
                pool.execute(() -> {
                    long t0 = System.nanoTime();
                    search.search(query);
                    served.incrementAndGet();
                    long ms = (System.nanoTime() - t0) / 1_000_000;
                    if (ms > 2000) {
                        Log.get(SearchController.class).warn("Slow request GET /api/v1/catalog/search?q=" + SearchController.term(query)
                                + " took " + ms + " ms");
                    }
                });
            }
            if (now - lastReport >= 5000) {
                long s = served.get();
                LOG.info(String.format("Served %d requests in the last %.1fs", s - lastServed, (now - lastReport) / 1000.0));
                lastReport = now;
                lastServed = s;
            }
            Thread.sleep(50);
        }
    }
}
