// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
package com.example.edge;

import com.example.support.Log;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/** Serves /healthz and /api/v1/quotes/{symbol}. */
final class QuoteHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Log LOG = Log.get(QuoteHandler.class);
    private static final int BODY = 64 * 1024;

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        if (req.uri().startsWith("/healthz")) {
            // Deep health check: render a canary quote through the real path, then answer UP.
            ByteBuf canary = render(ctx, "CANARY");
            canary.release();
            ByteBuf body = ctx.alloc().directBuffer(16);
            body.writeCharSequence("{\"status\":\"UP\"}", StandardCharsets.US_ASCII);
            respond(ctx, req, HttpResponseStatus.OK, body);
            return;
        }
        ByteBuf upstream = render(ctx, req.uri().substring(req.uri().lastIndexOf('/') + 1));
        String enc = req.headers().get(HttpHeaderNames.ACCEPT_ENCODING, "");
        if (enc.contains("gzip")) {
            respond(ctx, req, HttpResponseStatus.OK, compress(ctx, upstream));
            // BUG: upstream is never released on this path.
            return;
        }
        respond(ctx, req, HttpResponseStatus.OK, upstream);
    }

    /** Renders the upstream's answer for symbol into a pooled direct buffer. */
    private static ByteBuf render(ChannelHandlerContext ctx, String symbol) {
        byte[] row = ("{\"symbol\":\"" + symbol + "\",\"bid\":101.25,\"ask\":101.27},").getBytes(StandardCharsets.US_ASCII);
        byte[] page = new byte[BODY - BODY % row.length];
        for (int off = 0; off < page.length; off += row.length) {
            System.arraycopy(row, 0, page, off, row.length);
        }
        ByteBuf buf = ctx.alloc().directBuffer(BODY);
        buf.writeBytes(page);
        return buf.touch("quote body rendered for " + symbol);
    }

    /** A stand-in for deflate: copies a quarter of the input into a new pooled buffer. */
    private static ByteBuf compress(ChannelHandlerContext ctx, ByteBuf in) {
        ByteBuf out = ctx.alloc().directBuffer(in.readableBytes() / 4);
        out.writeBytes(in, in.readerIndex(), in.readableBytes() / 4);
        return out;
    }

    private static void respond(ChannelHandlerContext ctx, FullHttpRequest req, HttpResponseStatus status, ByteBuf body) {
        FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
        resp.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
        HttpUtil.setContentLength(resp, body.readableBytes());
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        HttpUtil.setKeepAlive(resp, keepAlive);
        if (keepAlive) {
            ctx.writeAndFlush(resp);
        } else {
            ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.error("Unhandled exception on " + ctx.channel() + "; closing connection", cause);
        ctx.close();
    }
}
