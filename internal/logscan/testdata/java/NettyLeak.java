// NettyLeak produces two real Netty reports (Netty from Debian's
// libnetty-java, /usr/share/java):
//  - a ResourceLeakDetector "LEAK: ByteBuf.release() was not called" record
//    (run with -Dio.netty.leakDetection.level=paranoid), and
//  - an io.netty.util.internal.OutOfDirectMemoryError (run with
//    -Dio.netty.maxDirectMemory=8388608).
// Netty logs through java.util.logging here; gen.sh sets a logback-like
// SimpleFormatter format so the lines look like an application log.
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.ArrayList;
import java.util.List;

public class NettyLeak {
    static void decode(ByteBufAllocator alloc, int i) {
        ByteBuf buf = alloc.directBuffer(256);
        buf.writeInt(i);
        buf.readInt();
        // Forgot buf.release(): the leak detector reports it once collected.
    }

    static void leak() throws InterruptedException {
        ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
        for (int round = 0; round < 20; round++) {
            for (int i = 0; i < 100; i++) {
                decode(alloc, i);
            }
            System.gc();
            Thread.sleep(50);
        }
    }

    static void exhaust() {
        ByteBufAllocator alloc = new UnpooledByteBufAllocator(true);
        List<ByteBuf> held = new ArrayList<>();
        try {
            while (true) {
                held.add(alloc.directBuffer(1 << 20));
            }
        } catch (OutOfMemoryError e) {
            java.util.logging.Logger.getLogger("c.e.Ingest").log(java.util.logging.Level.SEVERE,
                    "ingest failed after " + held.size() + " buffers", e);
        } finally {
            for (ByteBuf b : held) {
                b.release();
            }
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("oom")) {
            exhaust();
        } else {
            leak();
        }
    }
}
