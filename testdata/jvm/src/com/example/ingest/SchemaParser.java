// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
package com.example.ingest;

/**
 * Recursive-descent validation of a tenant's nested record schema: one stack frame per nesting
 * level, each with a handful of locals, which is what makes deep schemas touch deep stacks.
 */
final class SchemaParser {
    private SchemaParser() {
    }

    static long parse(String tenant, int depth) {
        return level(tenant.hashCode(), depth, 0L, 0L, 0L, 0L);
    }

    private static long level(long seed, int remaining, long a, long b, long c, long d) {
        if (remaining == 0) {
            return seed ^ a ^ b ^ c ^ d;
        }
        long e = seed * 31 + remaining;
        long f = e ^ (a << 1);
        long g = f + (b >>> 3);
        long h = g * 17 + c;
        return level(e, remaining - 1, f, g, h, d + 1) + (h & 1);
    }
}
