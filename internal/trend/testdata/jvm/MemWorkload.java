// MemWorkload is the JVM workload behind the jstat fixtures in ../ (see
// ../README.md). It allocates short-lived garbage at a steady rate and, in
// "leak" mode, keeps a fraction of it forever in a map; in "bounded" mode it
// keeps the same amount in a fixed-size ring so the live set stops growing.
import java.util.HashMap;
import java.util.Map;

public class MemWorkload {
    // sink defeats escape analysis so garbage is really allocated on the heap.
    static volatile byte[] sink;

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        long retainPerSec = Long.parseLong(args[1]); // bytes/s kept reachable
        long churnPerSec = Long.parseLong(args[2]);  // bytes/s of garbage
        int seconds = Integer.parseInt(args[3]);
        int ringSlots = 8 * 1024; // bounded mode: 8Ki x chunk stays live
        int chunk = 1024;

        Map<Long, byte[]> leak = new HashMap<>();
        byte[][] ring = new byte[ringSlots][];
        long key = 0;
        long tickMillis = 10;
        long end = System.currentTimeMillis() + seconds * 1000L;
        while (System.currentTimeMillis() < end) {
            long t0 = System.currentTimeMillis();
            for (long b = 0; b < retainPerSec / (1000 / tickMillis); b += chunk) {
                byte[] kept = new byte[chunk];
                if (mode.equals("leak")) {
                    leak.put(key, kept);
                } else {
                    ring[(int) (key % ringSlots)] = kept;
                }
                key++;
            }
            for (long b = 0; b < churnPerSec / (1000 / tickMillis); b += chunk) {
                sink = new byte[chunk];
            }
            long spent = System.currentTimeMillis() - t0;
            if (spent < tickMillis) {
                Thread.sleep(tickMillis - spent);
            }
        }
        System.out.println("done, kept entries: " + (mode.equals("leak") ? leak.size() : ringSlots));
    }
}
