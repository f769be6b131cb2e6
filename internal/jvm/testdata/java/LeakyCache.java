// LeakyCache is the JVM workload behind the GC-log and class-histogram
// fixtures in ../ (see ../README.md). Every tick it allocates garbage
// (short-lived byte arrays) and keeps a number of small Session objects
// reachable forever in a HashMap, the classic "cache without eviction" leak.
// With a small -Xmx it ends in full GCs that reclaim almost nothing and then
// java.lang.OutOfMemoryError: Java heap space. The cache is a static field,
// as in a real service, so it stays reachable after the OutOfMemoryError.
//
// Usage: java LeakyCache <sessionsPerSecond> <garbageBytesPerSecond> <seconds>
import java.util.HashMap;
import java.util.Map;

public class LeakyCache {
    // Session is deliberately small so the histogram shows many instances.
    static final class Session {
        final long id;
        final String user;
        final long[] lastSeen = new long[4];

        Session(long id) {
            this.id = id;
            this.user = "user-" + id;
        }
    }

    static final Map<Long, Session> CACHE = new HashMap<>();

    // sink defeats escape analysis so garbage really reaches the heap.
    static volatile byte[] sink;

    public static void main(String[] args) throws Exception {
        long perSec = Long.parseLong(args[0]);
        long garbagePerSec = Long.parseLong(args[1]);
        int seconds = Integer.parseInt(args[2]);
        long tickMillis = 20;
        long ticksPerSec = 1000 / tickMillis;
        long next = 0;
        long end = System.currentTimeMillis() + seconds * 1000L;
        while (System.currentTimeMillis() < end) {
            long t0 = System.currentTimeMillis();
            for (long i = 0; i < perSec / ticksPerSec; i++) {
                CACHE.put(next, new Session(next));
                next++;
            }
            for (long b = 0; b < garbagePerSec / ticksPerSec; b += 4096) {
                sink = new byte[4096];
            }
            long spent = System.currentTimeMillis() - t0;
            if (spent < tickMillis) {
                Thread.sleep(tickMillis - spent);
            }
        }
        System.out.println("done, cached sessions: " + CACHE.size());
    }
}
