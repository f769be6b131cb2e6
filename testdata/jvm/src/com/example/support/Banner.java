// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
package com.example.support;

import java.lang.management.ManagementFactory;

/** Prints the start-up lines a Spring Boot service prints, with the real PID and JVM version. */
public final class Banner {
    private Banner() {
    }

    /** Logs "Starting X v.. using Java .. with PID ..", all read from the running JVM. */
    public static void starting(Log log, String app, String version) {
        log.info("Starting " + app + " v" + version + " using Java " + System.getProperty("java.version")
                + " with PID " + ProcessHandle.current().pid());
    }

    /** Logs "Started X in N seconds (JVM running for M)". */
    public static void started(Log log, String app) {
        double up = ManagementFactory.getRuntimeMXBean().getUptime() / 1000.0;
        log.info(String.format("Started %s in %.3f seconds (JVM running for %.3f)", app, up, up));
    }

    /** Reads a duration-in-seconds system property. */
    public static int seconds(String prop, int def) {
        return Integer.getInteger(prop, def);
    }
}
