package narrative

import (
	"container/list"
	"sync"
)

// cache is a bounded LRU of validated replies keyed by prompt hash. It keeps
// the reply as validated but still anonymised: the same prompt always has
// the same aliases, and each caller reverses them with its own mapping.
type cache struct {
	mu    sync.Mutex
	size  int
	ll    *list.List
	items map[string]*list.Element
}

type cacheEntry struct {
	key string
	val cached
}

// cached is what a hit restores.
type cached struct {
	statements, hypotheses []replyItem
	dropped                int
	model                  string
}

// newCache returns nil (no caching) for size <= 0.
func newCache(size int) *cache {
	if size <= 0 {
		return nil
	}
	return &cache{size: size, ll: list.New(), items: map[string]*list.Element{}}
}

func (c *cache) get(key string) (cached, bool) {
	if c == nil {
		return cached{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return cached{}, false
	}
	c.ll.MoveToFront(e)
	return e.Value.(*cacheEntry).val, true
}

func (c *cache) put(key string, v cached) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		e.Value.(*cacheEntry).val = v
		c.ll.MoveToFront(e)
		return
	}
	c.items[key] = c.ll.PushFront(&cacheEntry{key: key, val: v})
	for c.ll.Len() > c.size {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.items, old.Value.(*cacheEntry).key)
	}
}

func (c *cache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
