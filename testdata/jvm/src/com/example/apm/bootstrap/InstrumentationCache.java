// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
package com.example.apm.bootstrap;

import com.example.support.Log;
import java.io.File;
import java.net.URL;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Maps each instrumented type to the classloader holding its advice classes. The leak: entries
 * are never evicted, so every loader, its classes and their Metaspace stay reachable.
 */
final class InstrumentationCache {
    private static final Log LOG = Log.get(InstrumentationCache.class);
    private static final String[] ADVICE = {
        "com.example.apm.plugin.HttpClientAdvice", "com.example.apm.plugin.JdbcAdvice", "com.example.apm.plugin.SpanDecorator",
    };

    private final URL adviceJar;
    private final Map<String, AgentClassLoader> loaders = new ConcurrentHashMap<>();

    private InstrumentationCache(URL adviceJar) {
        this.adviceJar = adviceJar;
    }

    static InstrumentationCache create() throws Exception {
        String path = System.getProperty("apm.adviceJar");
        if (path == null) {
            // generate.sh builds the advice jar next to the compiled classes.
            String cp = System.getProperty("java.class.path").split(File.pathSeparator)[0];
            path = new File(cp, "apm-advice.jar").getPath();
        }
        File jar = new File(path);
        if (!jar.isFile()) {
            throw new IllegalStateException("advice jar not found: " + jar);
        }
        return new InstrumentationCache(jar.toURI().toURL());
    }

    String describe() {
        return adviceJar.toString();
    }

    void adviceFor(String type) {
        loaders.computeIfAbsent(type, this::instrument);
    }

    private AgentClassLoader instrument(String type) {
        AgentClassLoader loader = new AgentClassLoader(adviceJar, InstrumentationCache.class.getClassLoader(), type);
        try {
            for (String advice : ADVICE) {
                Class.forName(advice, true, loader);
            }
            return loader;
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("advice missing from " + adviceJar, e);
        } catch (Throwable t) {
            LOG.error("Failed to apply advice to " + type + "; the type stays uninstrumented", t);
            throw t;
        }
    }
}
