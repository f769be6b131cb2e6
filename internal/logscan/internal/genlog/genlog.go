// Package genlog writes large synthetic container logs for benchmarking the
// logscan scanner: mostly Spring-style logger lines, logstash-style JSON
// lines and JVM unified GC lines, with ordinary exception traces, rare
// OutOfMemoryError traces (plain, nested and as JSON) and rare Netty LEAK
// records mixed in. Output is deterministic for a given Config.
//
// The trace shapes copy the real JDK 17 output captured in
// internal/logscan/testdata; the surrounding lines are invented but follow
// the formats of Spring Boot, logstash-logback-encoder and -Xlog:gc.
package genlog

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Config controls the generated log.
type Config struct {
	// Size is the number of bytes to write, at least; the log ends after
	// the first complete line past it.
	Size int64
	// Seed makes the output reproducible.
	Seed uint64
	// OOMEvery is the mean number of lines between OutOfMemoryError traces
	// (default 20000).
	OOMEvery int
	// LeakEvery is the mean number of lines between Netty LEAK records
	// (default 50000).
	LeakEvery int
	// Start is the time of the first line (default 2026-03-14T00:00:00Z).
	Start time.Time
}

// Stats describes what was written, so a benchmark can check the scanner
// found exactly what was planted.
type Stats struct {
	Bytes int64
	Lines int64
	// OOMs counts OutOfMemoryError / OutOfDirectMemoryError traces,
	// including JSON ones; Leaks counts Netty LEAK records.
	OOMs  int
	Leaks int
	// JSONOOMs counts the OOM traces written inside JSON lines.
	JSONOOMs int
	// GCLines counts lines containing "GC(".
	GCLines int64
}

type writer struct {
	w     *bufio.Writer
	rng   *rand.Rand
	now   time.Time
	stats Stats
	err   error
}

func (g *writer) line(s string) {
	if g.err != nil {
		return
	}
	_, g.err = g.w.WriteString(s)
	if g.err == nil {
		g.err = g.w.WriteByte('\n')
	}
	g.stats.Bytes += int64(len(s)) + 1
	g.stats.Lines++
}

var (
	threads = []string{"main", "http-nio-8080-exec-1", "http-nio-8080-exec-7", "http-nio-8080-exec-12",
		"scheduling-1", "kafka-consumer-3", "nioEventLoopGroup-3-2", "ForkJoinPool.commonPool-worker-5"}
	loggers = []string{"c.e.orders.OrderController", "c.e.orders.OrderService", "o.s.web.servlet.DispatcherServlet",
		"c.e.inventory.StockClient", "o.h.engine.jdbc.spi.SqlExceptionHelper", "c.z.hikari.pool.HikariPool",
		"o.a.kafka.clients.consumer.internals.ConsumerCoordinator", "c.e.billing.InvoiceJob"}
	messages = []string{
		"GET /api/orders/%d 200 %dms",
		"POST /api/orders 201 %dms id=%d",
		"Fetched %d items from inventory in %dms",
		"Cache hit ratio %d%% over %d lookups",
		"HikariPool-1 - Pool stats (total=%d, active=%d, idle=8, waiting=0)",
		"Committed offsets for partition orders-%d at offset %d",
		"Invoice batch %d processed, %d invoices",
		"Slow query took %dms: select o.id, o.status from orders o where o.customer_id=%d",
		"Retrying request to inventory-service (attempt %d of %d)",
		"User %d logged in from 10.0.%d.17",
	}
	levels = []string{"INFO", "INFO", "INFO", "INFO", "INFO", "DEBUG", "DEBUG", "WARN", "ERROR"}
	frames = []string{
		"c.e.orders.OrderService.load(OrderService.java:%d)",
		"c.e.orders.OrderController.get(OrderController.java:%d)",
		"java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)",
		"java.base/java.lang.reflect.Method.invoke(Method.java:568)",
		"org.springframework.web.method.support.InvocableHandlerMethod.doInvoke(InvocableHandlerMethod.java:%d)",
		"org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:%d)",
		"org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:%d)",
		"org.apache.tomcat.util.threads.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:%d)",
		"java.base/java.lang.Thread.run(Thread.java:840)",
	}
)

func (g *writer) pick(s []string) string { return s[g.rng.IntN(len(s))] }

func (g *writer) tick() {
	g.now = g.now.Add(time.Duration(g.rng.IntN(40)) * time.Millisecond)
}

func (g *writer) ts() string { return g.now.Format("2006-01-02 15:04:05.000") }

func (g *writer) msg() string {
	m := g.pick(messages)
	return fmt.Sprintf(m, g.rng.IntN(100000), g.rng.IntN(5000))
}

func (g *writer) springLine(level, thread, logger, msg string) {
	g.line(fmt.Sprintf("%s %5s 1 --- [%15s] %-40s : %s", g.ts(), level, thread, logger, msg))
}

func (g *writer) jsonLine(level, msg, stack string) {
	var b strings.Builder
	b.WriteString(`{"@timestamp":"`)
	b.WriteString(g.now.Format("2006-01-02T15:04:05.000Z07:00"))
	b.WriteString(`","@version":"1","message":`)
	b.WriteString(strconv.Quote(msg))
	b.WriteString(`,"logger_name":"`)
	b.WriteString(g.pick(loggers))
	b.WriteString(`","thread_name":"`)
	b.WriteString(g.pick(threads))
	b.WriteString(`","level":"`)
	b.WriteString(level)
	b.WriteString(`","level_value":20000`)
	if stack != "" {
		b.WriteString(`,"stack_trace":`)
		b.WriteString(strconv.Quote(stack))
	}
	b.WriteString("}")
	g.line(b.String())
}

func (g *writer) gcLine() {
	g.stats.GCLines++
	n := g.stats.GCLines
	before := 200 + g.rng.IntN(300)
	after := 40 + g.rng.IntN(100)
	kind := "Pause Young (Normal) (G1 Evacuation Pause)"
	if g.rng.IntN(50) == 0 {
		kind = "Pause Full (G1 Compaction Pause)"
	}
	g.line(fmt.Sprintf("[%s][info][gc] GC(%d) %s %dM->%dM(512M) %d.%03dms",
		g.now.Format("2006-01-02T15:04:05.000-0700"), n, kind, before, after, g.rng.IntN(30), g.rng.IntN(1000)))
}

// stack returns frames of an ordinary trace, "\tat " prefixed.
func (g *writer) stack(n int) []string {
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		f := frames[g.rng.IntN(len(frames))]
		if strings.Contains(f, "%d") {
			f = fmt.Sprintf(f, 10+g.rng.IntN(900))
		}
		out = append(out, "\tat "+f)
	}
	return out
}

func (g *writer) plainTrace(header string, lines []string) {
	g.line(header)
	for _, l := range lines {
		g.line(l)
	}
}

func (g *writer) ordinaryException() {
	g.springLine("ERROR", g.pick(threads), g.pick(loggers), "Request processing failed")
	g.plainTrace("java.lang.IllegalStateException: order "+strconv.Itoa(g.rng.IntN(99999))+" not found",
		g.stack(8+g.rng.IntN(20)))
}

var oomMessages = []string{
	"Java heap space", "Java heap space", "Java heap space", "GC overhead limit exceeded", "Metaspace",
	"Cannot reserve 1048576 bytes of direct buffer memory (allocated: 8388608, limit: 8388608)",
}

func (g *writer) oom() {
	g.stats.OOMs++
	m := "java.lang.OutOfMemoryError: " + g.pick(oomMessages)
	switch g.rng.IntN(4) {
	case 0: // uncaught, printed by the JVM
		g.plainTrace(`Exception in thread "`+g.pick(threads)+`" `+m, g.stack(3+g.rng.IntN(10)))
	case 1: // logged and wrapped, with a Caused by chain
		g.springLine("ERROR", g.pick(threads), g.pick(loggers), "Handler dispatch failed")
		g.plainTrace("java.lang.RuntimeException: report "+strconv.Itoa(g.rng.IntN(999))+" failed", g.stack(6))
		g.plainTrace("Caused by: "+m, append(g.stack(4+g.rng.IntN(8)), "\t... 6 more"))
	case 2: // logged directly
		g.springLine("ERROR", g.pick(threads), g.pick(loggers), "Unexpected error")
		g.plainTrace(m, g.stack(5+g.rng.IntN(20)))
	default: // JSON encoder
		g.stats.JSONOOMs++
		stack := "java.lang.RuntimeException: batch failed\n" + strings.Join(g.stack(5), "\n") +
			"\nCaused by: " + m + "\n" + strings.Join(g.stack(6), "\n") + "\n\t... 5 more\n"
		g.jsonLine("ERROR", "batch failed", stack)
	}
}

func (g *writer) leak() {
	g.stats.Leaks++
	g.springLine("ERROR", "nioEventLoopGroup-3-2", "io.netty.util.ResourceLeakDetector",
		"LEAK: ByteBuf.release() was not called before it's garbage-collected. See https://netty.io/wiki/reference-counted-objects.html for more information.")
	g.line("Recent access records: ")
	g.line("#1:")
	g.line("\tio.netty.buffer.AdvancedLeakAwareByteBuf.readInt(AdvancedLeakAwareByteBuf.java:436)")
	g.line("\tc.e.codec.FrameDecoder.decode(FrameDecoder.java:41)")
	g.line("Created at:")
	g.line("\tio.netty.buffer.PooledByteBufAllocator.newDirectBuffer(PooledByteBufAllocator.java:363)")
	g.line("\tio.netty.buffer.AbstractByteBufAllocator.directBuffer(AbstractByteBufAllocator.java:187)")
	g.line("\tc.e.codec.FrameDecoder.decode(FrameDecoder.java:38)")
}

// Write writes a log of at least cfg.Size bytes to w.
func Write(w io.Writer, cfg Config) (Stats, error) {
	if cfg.OOMEvery <= 0 {
		cfg.OOMEvery = 20000
	}
	if cfg.LeakEvery <= 0 {
		cfg.LeakEvery = 50000
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	}
	g := &writer{w: bufio.NewWriterSize(w, 256<<10), rng: rand.New(rand.NewPCG(cfg.Seed, 0x6c6f6773)), now: cfg.Start}
	// A JVM start banner, including the flag names that contain
	// "OutOfMemoryError" but are not errors.
	g.springLine("INFO", "main", "c.e.Application", "Picked up JAVA_TOOL_OPTIONS: -XX:MaxRAMPercentage=75 -XX:+HeapDumpOnOutOfMemoryError -XX:+ExitOnOutOfMemoryError")
	for g.stats.Bytes < cfg.Size && g.err == nil {
		g.tick()
		switch r := g.rng.IntN(1000); {
		case g.rng.IntN(cfg.OOMEvery) == 0:
			g.oom()
		case g.rng.IntN(cfg.LeakEvery) == 0:
			g.leak()
		case r < 600:
			g.springLine(g.pick(levels), g.pick(threads), g.pick(loggers), g.msg())
		case r < 850:
			g.jsonLine(g.pick(levels), g.msg(), "")
		case r < 995:
			g.gcLine()
		case r < 998:
			g.ordinaryException()
		default:
			// Near misses: words a naive scanner might trip on.
			g.springLine("WARN", g.pick(threads), "c.e.health.MemoryHealthIndicator",
				"Memory usage high: heap 91% used; consider raising -Xmx to avoid an OutOfMemory condition (LEAK detection level: simple)")
		}
	}
	if g.err == nil {
		g.err = g.w.Flush()
	}
	if g.err != nil {
		return g.stats, fmt.Errorf("genlog: write: %w", g.err)
	}
	return g.stats, nil
}
