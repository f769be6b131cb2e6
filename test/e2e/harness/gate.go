package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// Gate is a TCP proxy in front of a server that can hold new connections:
// a test holds it, triggers the client, waits until the client's requests
// are in flight (held), changes the world (stops the server), and
// releases them. Released connections are forwarded to the upstream; when
// the upstream refuses, the client's connection is closed with nothing
// answered, which is what a client sees when a server dies under it.
type Gate struct {
	ln       net.Listener
	upstream string

	mu      sync.Mutex
	holding bool
	held    []net.Conn
	conns   map[net.Conn]bool
	changed chan struct{}
	wg      sync.WaitGroup
	closed  bool
}

// NewGate listens on a loopback port and forwards to upstream (host:port).
func NewGate(upstream string) (*Gate, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("gate: %w", err)
	}
	g := &Gate{ln: ln, upstream: upstream, conns: map[net.Conn]bool{}, changed: make(chan struct{})}
	g.wg.Add(1)
	go g.accept()
	return g, nil
}

// Addr is the gate's host:port.
func (g *Gate) Addr() string { return g.ln.Addr().String() }

func (g *Gate) accept() {
	defer g.wg.Done()
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		g.mu.Lock()
		if g.closed {
			g.mu.Unlock()
			c.Close()
			return
		}
		g.conns[c] = true
		if g.holding {
			g.held = append(g.held, c)
			g.bumpLocked()
			g.mu.Unlock()
			continue
		}
		g.mu.Unlock()
		g.forward(c)
	}
}

func (g *Gate) bumpLocked() {
	close(g.changed)
	g.changed = make(chan struct{})
}

func (g *Gate) forward(c net.Conn) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer g.drop(c)
		up, err := net.Dial("tcp", g.upstream)
		if err != nil {
			return
		}
		g.mu.Lock()
		if g.closed {
			g.mu.Unlock()
			up.Close()
			return
		}
		g.conns[up] = true
		g.mu.Unlock()
		defer g.drop(up)
		done := make(chan struct{}, 2)
		go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
		go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
		<-done
		// One side finished: close both so the other copy ends too.
		c.Close()
		up.Close()
		<-done
	}()
}

func (g *Gate) drop(c net.Conn) {
	c.Close()
	g.mu.Lock()
	delete(g.conns, c)
	g.mu.Unlock()
}

// Hold makes new connections wait until Release.
func (g *Gate) Hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.holding = true
}

// WaitHeld waits until at least n connections are held.
func (g *Gate) WaitHeld(ctx context.Context, n int) error {
	for {
		g.mu.Lock()
		got, ch := len(g.held), g.changed
		g.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("gate: %d connection(s) held, want %d: %w", got, n, ctx.Err())
		}
	}
}

// Release forwards the held connections and stops holding.
func (g *Gate) Release() {
	g.mu.Lock()
	held := g.held
	g.held, g.holding = nil, false
	g.mu.Unlock()
	for _, c := range held {
		g.forward(c)
	}
}

// Close stops listening, closes every connection and waits for the
// forwarding goroutines.
func (g *Gate) Close() error {
	g.mu.Lock()
	g.closed = true
	for c := range g.conns {
		c.Close()
	}
	g.mu.Unlock()
	err := g.ln.Close()
	g.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
