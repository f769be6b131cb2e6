// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
package com.example.apm.bootstrap;

/** A finished span; reporting is out of scope for the fixture. */
final class Span {
    private Span() {
    }

    static void finish(String type, String method, long nanos) {
        // Spans would be batched to the collector here.
    }
}
