// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
// Scenarios image-decode-bomb and healthy: an API gateway that thumbnails uploaded images.
package com.example.gateway;

import com.example.support.Banner;
import com.example.support.Log;
import com.example.support.Sampler;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Serves simulated uploads at a steady rate on a Tomcat-like worker pool. With -Dgateway.bombs=true
 * it also receives two crafted PNGs: the first declares more pixels than -Xmx can hold (the JVM
 * throws OutOfMemoryError and the handler logs it); the second fits under -Xmx, so the JVM really
 * allocates and zeroes it, which pushes the process past a container limit set below -Xmx plus
 * JVM overhead.
 */
public final class GatewayApp {
    private static final Log LOG = Log.get(GatewayApp.class);

    private GatewayApp() {
    }

    public static void main(String[] args) throws Exception {
        Banner.starting(LOG, "GatewayApp", "1.42.0");
        Sampler.start();
        boolean bombs = Boolean.getBoolean("gateway.bombs");
        int firstBombAt = Banner.seconds("gateway.bombAt", 30);
        int secondBombAt = Banner.seconds("gateway.secondBombAt", 42);
        int maxSeconds = Banner.seconds("gateway.maxSeconds", 600);
        int rate = Banner.seconds("gateway.rate", 8);

        LOG.info("Image pipeline ready: readers " + String.join(",", javax.imageio.ImageIO.getReaderFormatNames()).toLowerCase());
        List<Upload> samples = Upload.samples(new Random(42));
        LOG.info("Tomcat started on port(s): 8080 (http) with context path ''");
        Banner.started(LOG, "GatewayApp");

        AtomicInteger n = new AtomicInteger();
        ExecutorService pool = new ThreadPoolExecutor(4, 4, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                r -> new Thread(r, "http-nio-8080-exec-" + n.incrementAndGet()));
        Dispatcher dispatcher = new Dispatcher(new UploadController(new ImageService()));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            LOG.info("Commencing graceful shutdown. Waiting for active requests to complete");
            pool.shutdown();
            LOG.info("Graceful shutdown complete");
        }, "SpringApplicationShutdownHook"));

        // The attacker's files are crafted off the request path so the upload rate stays steady.
        CompletableFuture<Upload> firstBomb = bombs
                ? CompletableFuture.supplyAsync(() -> Upload.bomb("avatar.png", 30000, 30000)) : null;
        CompletableFuture<Upload> secondBomb = bombs
                ? CompletableFuture.supplyAsync(() -> Upload.bomb("profile-banner.png", 24000, 24000)) : null;
        Random rnd = new Random(7);
        long start = System.currentTimeMillis();
        boolean firstSent = false;
        boolean secondSent = false;
        long period = 1000L / rate;
        while (System.currentTimeMillis() - start < maxSeconds * 1000L) {
            long elapsed = (System.currentTimeMillis() - start) / 1000;
            if (bombs && !firstSent && elapsed >= firstBombAt) {
                firstSent = true;
                Upload u = firstBomb.join();
                pool.execute(() -> dispatcher.dispatch(u));
            } else if (bombs && !secondSent && elapsed >= secondBombAt) {
                secondSent = true;
                Upload u = secondBomb.join();
                pool.execute(() -> dispatcher.dispatch(u));
            } else {
                Upload u = samples.get(rnd.nextInt(samples.size()));
                pool.execute(() -> dispatcher.dispatch(u));
            }
            Thread.sleep(period);
        }
        pool.shutdown();
    }
}
