import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.List;

// Reloads a plugin on every "redeploy" without closing the old loader, and
// keeps a reference to each plugin class: every reload pins one more
// classloader and its classes in metaspace.
public class PluginHost {
    static final List<Class<?>> loaded = new ArrayList<>();
    public static void main(String[] args) throws Exception {
        URL[] path = { new File(args[0]).toURI().toURL() };
        long pause = Long.parseLong(args[1]);
        for (int i = 0; ; i++) {
            URLClassLoader l = new URLClassLoader("plugin-" + i, path, null);
            loaded.add(l.loadClass("Plugin"));
            // generate a few proxy classes per reload too, like a scripting engine would
            java.lang.reflect.Proxy.newProxyInstance(l, new Class<?>[]{Runnable.class}, (p, m, a) -> null);
            if (i % 500 == 0) Thread.sleep(pause);
        }
    }
}
