// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
package com.example.catalog;

import java.util.HashMap;
import java.util.Map;

/** The whole catalogue, loaded at start-up and read-only afterwards. */
final class ProductCache {
    private final Product[] products;

    private ProductCache(Product[] products) {
        this.products = products;
    }

    static ProductCache load(int n) {
        Product[] ps = new Product[n];
        for (int i = 0; i < n; i++) {
            Map<String, String> attrs = new HashMap<>();
            attrs.put("brand", "Brand " + (i % 900));
            attrs.put("color", new String[] {"black", "white", "red", "blue", "green"}[i % 5]);
            attrs.put("size", Integer.toString(36 + i % 12));
            attrs.put("material", "Material " + (i % 40));
            StringBuilder desc = new StringBuilder(600);
            for (int k = 0; desc.length() < 560; k++) {
                desc.append("Feature ").append(k).append(" of product ").append(i).append(". ");
            }
            ps[i] = new Product("P" + (1_000_000 + i), "Product " + i + " " + attrs.get("brand"), desc.toString(), attrs,
                    199 + (i * 37L) % 100_000);
        }
        return new ProductCache(ps);
    }

    int size() {
        return products.length;
    }

    Product get(int i) {
        return products[Math.floorMod(i, products.length)];
    }

    /** One catalogue entry. */
    static final class Product {
        final String sku;
        final String name;
        final String description;
        final Map<String, String> attributes;
        final long cents;

        Product(String sku, String name, String description, Map<String, String> attributes, long cents) {
            this.sku = sku;
            this.name = name;
            this.description = description;
            this.attributes = attributes;
            this.cents = cents;
        }
    }
}
