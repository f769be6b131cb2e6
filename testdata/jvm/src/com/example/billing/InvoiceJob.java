// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
package com.example.billing;

import com.example.apm.bootstrap.Tracer;

/**
 * Renders invoices. Each tenant gets its own generated renderer type (as a proxying framework
 * would create), so the agent sees a new type to instrument for every tenant.
 */
final class InvoiceJob {
    private final Tracer tracer;

    InvoiceJob(Tracer tracer) {
        this.tracer = tracer;
    }

    String render(long n) {
        String type = "com.example.billing.TenantInvoiceRenderer$$EnhancerByCGLIB$$" + Long.toHexString(0x5f3a0000L + n);
        return tracer.trace(type, "render", () -> "INV-" + n + ":" + (n * 37 % 10_000) / 100.0);
    }
}
