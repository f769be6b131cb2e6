import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

// Allocates a direct buffer per "message" and forgets to release it: the
// pattern of a pooled-buffer leak without Netty's pooling.
public class DirectLeak {
    static final List<ByteBuffer> inFlight = new ArrayList<>();
    public static void main(String[] args) {
        for (;;) inFlight.add(ByteBuffer.allocateDirect(64 * 1024));
    }
}
