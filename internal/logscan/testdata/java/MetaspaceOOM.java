// MetaspaceOOM defines the same class over and over, each time in a fresh
// class loader, until class metadata runs out. Run with
// -XX:MaxMetaspaceSize=16m for "Metaspace", or with a small
// -XX:CompressedClassSpaceSize for "Compressed class space".
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

public class MetaspaceOOM {
    static final class Loader extends ClassLoader {
        Loader() { super(null); }
        Class<?> define(byte[] b) { return defineClass("MetaspaceOOM$Payload", b, 0, b.length); }
    }

    static final class Payload {
        long a, b, c, d;
        long sum() { return a + b + c + d; }
    }

    static final List<Object> keep = new ArrayList<>();

    static void defineForever(byte[] bytes) {
        while (true) {
            Loader l = new Loader();
            keep.add(l.define(bytes));
        }
    }

    public static void main(String[] args) throws Exception {
        byte[] bytes;
        try (InputStream in = MetaspaceOOM.class.getResourceAsStream("MetaspaceOOM$Payload.class")) {
            bytes = in.readAllBytes();
        }
        Log.line("INFO", "c.e.PluginRegistry", "loading plugins", null);
        try {
            defineForever(bytes);
        } catch (OutOfMemoryError e) {
            int n = keep.size();
            keep.clear();
            Log.line("ERROR", "c.e.PluginRegistry", "plugin load failed after " + n + " classes", e);
        }
    }
}
