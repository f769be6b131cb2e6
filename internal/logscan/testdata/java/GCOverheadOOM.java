// GCOverheadOOM keeps almost every allocation reachable so that the
// parallel collector spends nearly all its time collecting and gives up
// with "GC overhead limit exceeded".
import java.util.LinkedList;

public class GCOverheadOOM {
    public static void main(String[] args) {
        // A linked list grows in small steps, so no single large allocation
        // fails first; the collector ends up giving up instead.
        LinkedList<String> cache = new LinkedList<>();
        Log.line("INFO", "c.e.Cache", "filling cache", null);
        try {
            for (int i = 0; ; i++) {
                cache.add("value-" + i);
            }
        } catch (OutOfMemoryError e) {
            int n = cache.size();
            cache = null;
            Log.line("ERROR", "c.e.Cache", "cache fill failed at " + n + " entries", e);
        }
    }
}
