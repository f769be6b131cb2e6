import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

// Takes a lock per session key and never removes it: one ReentrantLock (and
// its Sync and map node) per key ever seen stays reachable forever.
public class SessionLocks {
    static byte[] reserve;
    static final ConcurrentHashMap<String, ReentrantLock> locks = new ConcurrentHashMap<>();
    static void withSessionLock(String key, Runnable r) {
        ReentrantLock l = locks.computeIfAbsent(key, k -> new ReentrantLock());
        l.lock();
        try { r.run(); } finally { l.unlock(); }
    }
    public static void main(String[] args) throws Exception {
        long pause = Long.parseLong(args[0]);
        reserve = new byte[8 << 20]; // released so the error can be logged
        try {
            for (long i = 0; ; i++) {
                withSessionLock("session-" + i, () -> {});
                if (i % 20000 == 0) Thread.sleep(pause);
            }
        } catch (OutOfMemoryError e) {
            reserve = null;
            e.printStackTrace();
            throw e;
        }
    }
}
