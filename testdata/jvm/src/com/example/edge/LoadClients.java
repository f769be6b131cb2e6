// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
package com.example.edge;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URL;

/**
 * Stands in for the proxy's clients (they would be remote): two daemon threads sending quote
 * requests over keep-alive connections, half of them accepting gzip. Client-side failures are
 * counted, not logged (they are not the service's log), and answered with a 2 s back-off.
 */
final class LoadClients {
    private LoadClients() {
    }

    static void start(int port, int rate) {
        String[] symbols = {"ACME", "GLOBX", "INITK", "UMBRL", "CYBD", "WAYN", "STRK", "OSCP"};
        for (int c = 0; c < 2; c++) {
            final int client = c;
            Thread t = new Thread(() -> {
                long n = 0;
                long backoff = 0;
                long period = Math.max(1, 2000 / rate);
                while (true) {
                    try {
                        URL url = new URL("http://127.0.0.1:" + port + "/api/v1/quotes/" + symbols[(int) (n % symbols.length)]);
                        HttpURLConnection conn = (HttpURLConnection) url.openConnection();
                        conn.setConnectTimeout(1000);
                        conn.setReadTimeout(2000);
                        if ((n + client) % 2 == 0) {
                            conn.setRequestProperty("Accept-Encoding", "gzip");
                        }
                        try (InputStream in = conn.getInputStream()) {
                            in.readAllBytes();
                        }
                    } catch (IOException e) {
                        // Counted by the (absent) client metrics; clients back off before retrying.
                        backoff = 2000;
                    }
                    n++;
                    try {
                        Thread.sleep(period + backoff);
                        backoff = 0;
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "quote-client-" + c);
            t.setDaemon(true);
            t.start();
        }
    }
}
