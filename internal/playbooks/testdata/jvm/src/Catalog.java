import java.util.HashMap;
import java.util.Map;

// Holds a product catalog that is simply bigger than the heap it is given:
// live data, not a leak. Full GCs reclaim almost nothing.
public class Catalog {
    public static void main(String[] args) throws Exception {
        int n = Integer.parseInt(args[0]);
        Map<Integer, byte[]> catalog = new HashMap<>();
        for (int i = 0; i < n; i++) catalog.put(i, new byte[1024]);
        System.out.println("loaded " + catalog.size());
        for (;;) { // serve requests: short-lived garbage over the live set
            byte[] req = new byte[64 * 1024];
            req[0] = (byte) catalog.get(req.length % n)[0];
        }
    }
}
