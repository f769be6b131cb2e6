// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
package com.example.gateway;

import com.example.support.Log;

/**
 * Plays the servlet container's part: every Throwable a handler throws is logged with its stack
 * trace under Tomcat's dispatcher logger name and answered with a 500, and the worker thread lives on.
 */
final class Dispatcher {
    private static final Log SERVLET = Log.named("o.a.c.c.C.[.[.[/].[dispatcherServlet]");
    private static final Log ACCESS = Log.named("c.e.gateway.AccessLog");

    private final UploadController controller;

    Dispatcher(UploadController controller) {
        this.controller = controller;
    }

    void dispatch(Upload u) {
        long t0 = System.nanoTime();
        int status = 200;
        try {
            controller.upload(u);
        } catch (Throwable t) {
            status = 500;
            SERVLET.error("Servlet.service() for servlet [dispatcherServlet] in context with path [] threw exception "
                    + "[Handler dispatch failed; nested exception is " + t + "] with root cause", t);
        }
        ACCESS.info(String.format("POST /api/v1/uploads status=%d name=%s bytes=%d took=%dms", status, u.name,
                u.body.length, (System.nanoTime() - t0) / 1_000_000));
    }
}
