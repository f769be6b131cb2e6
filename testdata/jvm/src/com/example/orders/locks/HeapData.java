// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
package com.example.orders.locks;

import java.nio.charset.StandardCharsets;

/** A serialised key: type id, partition hash and the UTF-8 payload, as a data grid stores it. */
public final class HeapData {
    private final byte[] payload;

    private HeapData(byte[] payload) {
        this.payload = payload;
    }

    static HeapData of(String key) {
        byte[] utf8 = key.getBytes(StandardCharsets.UTF_8);
        byte[] p = new byte[8 + utf8.length];
        int h = key.hashCode();
        p[0] = (byte) (h >>> 24);
        p[1] = (byte) (h >>> 16);
        p[2] = (byte) (h >>> 8);
        p[3] = (byte) h;
        p[7] = (byte) -11; // type id of a String
        System.arraycopy(utf8, 0, p, 8, utf8.length);
        return new HeapData(p);
    }

    /** Returns the payload size. */
    public int size() {
        return payload.length;
    }
}
