// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
// Scenario netty-buffer-leak: a real Netty HTTP server that leaks pooled direct buffers.
package com.example.edge;

import com.example.support.Banner;
import com.example.support.JulBridge;
import com.example.support.Log;
import com.example.support.Sampler;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;

/**
 * An edge proxy on Netty 4.1 with the pooled direct allocator. Its quote handler compresses
 * responses for clients that accept gzip and forgets to release the uncompressed buffer, so
 * every such request strands 64 KiB of pooled direct memory. With paranoid leak detection Netty
 * reports the leaked buffers as they are garbage-collected; when the pool can no longer grow
 * under -XX:MaxDirectMemorySize, every allocation fails with OutOfDirectMemoryError, including
 * the health check's, until the liveness probe gives up on the container.
 */
public final class EdgeProxyApp {
    private static final Log LOG = Log.get(EdgeProxyApp.class);

    private EdgeProxyApp() {
    }

    public static void main(String[] args) throws Exception {
        JulBridge.install();
        Banner.starting(LOG, "EdgeProxy", "5.3.0");
        Sampler.start();
        int port = Integer.getInteger("edge.port", 8080);
        EventLoopGroup boss = new NioEventLoopGroup(1);
        EventLoopGroup workers = new NioEventLoopGroup(2);
        ServerBootstrap b = new ServerBootstrap()
                .group(boss, workers)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 20), new QuoteHandler());
                    }
                });
        Channel server = b.bind("127.0.0.1", port).sync().channel();
        LOG.info("Netty started on port " + port + " (allocator: " + io.netty.buffer.ByteBufAllocator.DEFAULT.getClass().getSimpleName()
                + ", leak detection: " + io.netty.util.ResourceLeakDetector.getLevel() + ")");
        Banner.started(LOG, "EdgeProxy");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            LOG.info("Received shutdown signal; closing server channel");
            server.close().awaitUninterruptibly();
            workers.shutdownGracefully();
            boss.shutdownGracefully();
            LOG.info("Shutdown complete");
        }, "shutdown-hook"));
        LoadClients.start(port, Integer.getInteger("edge.rate", 64));
        server.closeFuture().sync();
    }
}
