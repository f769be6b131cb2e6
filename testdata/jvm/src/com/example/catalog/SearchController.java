// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
package com.example.catalog;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/** GET /api/v1/catalog/search: facets over a slice of the catalogue, rendered as JSON. */
final class SearchController {
    private final ProductCache cache;

    SearchController(ProductCache cache) {
        this.cache = cache;
    }

    static String term(long q) {
        return "shoe+" + (q % 97);
    }

    String search(long q) {
        // Facet counts over the candidate set: a per-request scratch array, live until the response is written.
        int[] facets = new int[256 * 1024];
        List<ProductCache.Product> hits = new ArrayList<>();
        int base = (int) (q * 7919);
        for (int i = 0; i < 2000; i++) {
            ProductCache.Product p = cache.get(base + i);
            facets[(p.sku.hashCode() & 0x3ffff)]++;
            if (i % 40 == 0) {
                hits.add(p);
            }
        }
        StringBuilder json = new StringBuilder(64 * 1024);
        json.append("{\"q\":\"").append(term(q)).append("\",\"hits\":[");
        for (ProductCache.Product p : hits) {
            json.append("{\"sku\":\"").append(p.sku).append("\",\"name\":\"").append(p.name).append("\",\"description\":\"")
                    .append(p.description).append("\",\"price\":").append(p.cents).append("},");
        }
        json.append("]}");
        // Waiting on the pricing service before the response is written.
        LockSupport.parkNanos(40_000_000L);
        return json.length() + ":" + facets[(int) (q & 0x3ffff)];
    }
}
