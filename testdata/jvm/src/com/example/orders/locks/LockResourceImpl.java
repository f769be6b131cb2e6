// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
package com.example.orders.locks;

import java.util.concurrent.locks.ReentrantLock;

/** One lockable key: its serialised form, the lock, the owner and its waiters. */
public final class LockResourceImpl {
    private final HeapData key;
    private final ReentrantLock lock = new ReentrantLock();
    private final WaitersInfo waiters = new WaitersInfo();
    private String owner;
    private long acquiredAt;
    private long expiresAt;
    private int lockCount;

    LockResourceImpl(String key) {
        this.key = HeapData.of(key);
    }

    void lock(String owner, long leaseMillis) {
        lock.lock();
        this.owner = owner;
        this.acquiredAt = System.currentTimeMillis();
        this.expiresAt = acquiredAt + leaseMillis;
        this.lockCount++;
    }

    void unlock(String owner) {
        if (owner.equals(this.owner)) {
            this.owner = null;
            this.expiresAt = 0;
        }
        lock.unlock();
    }

    /** Returns the serialised key (for diagnostics). */
    public HeapData key() {
        return key;
    }

    /** Returns the waiter bookkeeping. */
    public WaitersInfo waiters() {
        return waiters;
    }
}
