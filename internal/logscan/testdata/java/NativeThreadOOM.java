// NativeThreadOOM starts parked threads with huge stacks until the OS
// refuses another one. gen.sh runs it under "ulimit -v" so only this
// process is constrained.
import java.util.concurrent.locks.LockSupport;

public class NativeThreadOOM {
    public static void main(String[] args) {
        Log.line("INFO", "c.e.WorkerPool", "starting workers", null);
        int n = 0;
        try {
            while (true) {
                Thread t = new Thread(null, () -> LockSupport.park(), "worker-" + n, 256L << 20);
                t.setDaemon(true);
                t.start();
                n++;
            }
        } catch (OutOfMemoryError e) {
            Log.line("ERROR", "c.e.WorkerPool", "started " + n + " workers", e);
        }
    }
}
