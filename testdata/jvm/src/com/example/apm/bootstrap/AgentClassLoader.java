// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
package com.example.apm.bootstrap;

import java.net.URL;
import java.net.URLClassLoader;

/** Loads the agent's advice classes from its own jar, one loader per instrumented type. */
public final class AgentClassLoader extends URLClassLoader {
    static {
        registerAsParallelCapable();
    }

    private final String instrumentedType;

    AgentClassLoader(URL adviceJar, ClassLoader parent, String instrumentedType) {
        super("apm-advice[" + instrumentedType + "]", new URL[] {adviceJar}, parent);
        this.instrumentedType = instrumentedType;
    }

    /** Returns the type this loader serves. */
    public String instrumentedType() {
        return instrumentedType;
    }
}
