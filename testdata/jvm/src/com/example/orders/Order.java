// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
package com.example.orders;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** One order record as consumed from the topic. */
final class Order {
    final String id;
    final String customer;
    final List<String> skus;
    final long cents;

    private Order(String id, String customer, List<String> skus, long cents) {
        this.id = id;
        this.customer = customer;
        this.skus = skus;
        this.cents = cents;
    }

    static Order next(long offset) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        List<String> skus = new ArrayList<>();
        for (int i = 0, n = 1 + r.nextInt(4); i < n; i++) {
            skus.add("SKU-" + (100000 + r.nextInt(900000)));
        }
        return new Order("ORD-2026-" + offset, "C" + r.nextInt(2_000_000), skus, 500 + r.nextInt(50_000));
    }
}
