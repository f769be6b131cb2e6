// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
package com.example.orders.locks;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Lock resources by key, modelled on an in-memory data grid's lock store. The bug this fixture
 * reproduces: unlock releases the lock but never removes the resource, so one resource per order
 * id stays reachable forever.
 */
public final class LockRegistry {
    private final ConcurrentHashMap<String, LockResourceImpl> resources = new ConcurrentHashMap<>();

    /** Locks key for owner with a lease. */
    public LockResourceImpl lock(String key, String owner, long leaseMillis) {
        LockResourceImpl r = resources.computeIfAbsent(key, LockResourceImpl::new);
        r.lock(owner, leaseMillis);
        return r;
    }

    /** Unlocks r. Should also drop r once nobody holds or waits for it; it does not. */
    public void unlock(LockResourceImpl r, String owner) {
        r.unlock(owner);
    }
}
