public class Plugin { public int run() { return 42; } }
