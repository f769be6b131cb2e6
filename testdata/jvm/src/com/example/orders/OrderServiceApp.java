// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
// Scenario lock-growth / order-lock-leak: per-order locks that are never removed.
package com.example.orders;

import com.example.orders.locks.LockRegistry;
import com.example.support.Banner;
import com.example.support.Log;
import com.example.support.Sampler;

/**
 * An order consumer: the main thread polls orders and places them, taking a distributed-style lock
 * per order id. The lock registry unlocks but never evicts, so every order leaves a lock resource
 * behind and the old generation's floor climbs until the heap is full. The consumer does not catch
 * Errors, so the OutOfMemoryError ends the thread and, with it, the JVM (exit status 1).
 */
public final class OrderServiceApp {
    private static final Log LOG = Log.get(OrderServiceApp.class);

    private OrderServiceApp() {
    }

    public static void main(String[] args) throws Exception {
        Banner.starting(LOG, "OrderServiceApplication", "3.8.1");
        Sampler.start();
        int rate = Integer.getInteger("orders.rate", 5000);
        LockRegistry registry = new LockRegistry();
        OrderService orders = new OrderService(registry);
        LOG.info("Kafka consumer subscribed to [orders.v2]; partitions assigned: [orders.v2-3, orders.v2-7]");
        Banner.started(LOG, "OrderServiceApplication");
        Thread.currentThread().setName("order-consumer-0");

        long offset = 18_400_000L;
        long lastReport = System.currentTimeMillis();
        int sinceReport = 0;
        int batch = Math.max(1, rate / 10);
        while (true) {
            long t0 = System.currentTimeMillis();
            for (int i = 0; i < batch; i++) {
                orders.place(Order.next(offset++));
            }
            sinceReport += batch;
            long took = System.currentTimeMillis() - t0;
            if (took > 1000) {
                LOG.warn("Poll loop took " + took + " ms for " + batch + " records; consumer lag is growing");
            }
            long now = System.currentTimeMillis();
            if (now - lastReport >= 5000) {
                LOG.info(String.format("Committed offset %d for orders.v2-3 (%d orders in %.1fs)", offset, sinceReport,
                        (now - lastReport) / 1000.0));
                lastReport = now;
                sinceReport = 0;
            }
            long sleep = 100 - took;
            if (sleep > 0) {
                Thread.sleep(sleep);
            }
        }
    }
}
