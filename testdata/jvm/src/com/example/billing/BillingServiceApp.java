// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
// Scenarios classloader-leak / apm-classloader-leak: an APM agent that caches a classloader per
// instrumented type and never evicts.
package com.example.billing;

import com.example.apm.bootstrap.Tracer;
import com.example.support.Banner;
import com.example.support.Log;
import com.example.support.Sampler;

/**
 * A billing service whose invoice job renders invoices through per-tenant generated renderer types.
 * The (simulated) APM agent instruments every new type by loading its advice classes through a new
 * agent classloader and caches the loader forever, so classes and Metaspace grow until
 * -XX:MaxMetaspaceSize is hit. The job thread does not catch Errors: OutOfMemoryError: Metaspace
 * ends it, and the JVM exits with status 1.
 */
public final class BillingServiceApp {
    private static final Log LOG = Log.get(BillingServiceApp.class);

    private BillingServiceApp() {
    }

    public static void main(String[] args) throws Exception {
        Banner.starting(LOG, "BillingServiceApplication", "2.14.3");
        Sampler.start();
        Tracer tracer = Tracer.install();
        int rate = Integer.getInteger("billing.rate", 60);
        InvoiceJob job = new InvoiceJob(tracer);
        Banner.started(LOG, "BillingServiceApplication");
        Thread.currentThread().setName("scheduling-1");
        long n = 0;
        long lastReport = System.currentTimeMillis();
        while (true) {
            long t0 = System.currentTimeMillis();
            for (int i = 0; i < rate / 10; i++) {
                job.render(n++);
            }
            long now = System.currentTimeMillis();
            if (now - lastReport >= 5000) {
                LOG.info("Invoice run: " + n + " invoices rendered");
                lastReport = now;
            }
            long sleep = 100 - (now - t0);
            if (sleep > 0) {
                Thread.sleep(sleep);
            }
        }
    }
}
