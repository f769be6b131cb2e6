// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
package com.example.orders.locks;

import java.util.ArrayList;
import java.util.List;

/** Threads waiting on a lock's conditions; usually empty but always allocated. */
public final class WaitersInfo {
    private final List<String> waiters = new ArrayList<>(2);
    private long version;

    /** Records a waiter. */
    public void add(String waiter) {
        waiters.add(waiter);
        version++;
    }
}
