// ArraySizeOOM asks for an array larger than the VM can ever allocate.
public class ArraySizeOOM {
    static long[] huge() {
        return new long[Integer.MAX_VALUE];
    }

    public static void main(String[] args) {
        Log.line("INFO", "c.e.Matrix", "allocating matrix", null);
        System.out.println(huge().length);
    }
}
