// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
package com.example.orders;

import com.example.orders.locks.LockRegistry;
import com.example.orders.locks.LockResourceImpl;

/** Places an order under a per-order lock so retries of the same order serialise. */
final class OrderService {
    private final LockRegistry locks;

    OrderService(LockRegistry locks) {
        this.locks = locks;
    }

    String place(Order o) {
        LockResourceImpl lock = locks.lock("order:" + o.id, Thread.currentThread().getName(), 30_000);
        try {
            StringBuilder json = new StringBuilder(256);
            json.append("{\"id\":\"").append(o.id).append("\",\"customer\":\"").append(o.customer).append("\",\"items\":[");
            for (String sku : o.skus) {
                json.append("{\"sku\":\"").append(sku).append("\",\"qty\":1},");
            }
            json.append("],\"total\":").append(o.cents).append('}');
            return json.toString();
        } finally {
            locks.unlock(lock, Thread.currentThread().getName());
        }
    }
}
