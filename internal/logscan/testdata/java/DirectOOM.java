// DirectOOM allocates 1 MiB direct buffers until -XX:MaxDirectMemorySize
// is reached (JDK 17 says "Cannot reserve N bytes of direct buffer memory").
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

public class DirectOOM {
    static final List<ByteBuffer> pool = new ArrayList<>();

    static void grow() {
        while (true) {
            pool.add(ByteBuffer.allocateDirect(1 << 20));
        }
    }

    public static void main(String[] args) {
        Log.line("INFO", "c.e.BufferPool", "warming buffer pool", null);
        try {
            grow();
        } catch (OutOfMemoryError e) {
            Log.line("ERROR", "c.e.BufferPool", "pool exhausted after " + pool.size() + " buffers", e);
        }
    }
}
