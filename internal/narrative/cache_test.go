package narrative

import "testing"

func TestCacheLRU(t *testing.T) {
	c := newCache(2)
	c.put("a", cached{model: "a"})
	c.put("b", cached{model: "b"})
	if _, ok := c.get("a"); !ok { // a is now the most recent
		t.Fatal("a missing")
	}
	c.put("c", cached{model: "c"}) // evicts b
	if _, ok := c.get("b"); ok {
		t.Error("b should have been evicted")
	}
	for _, k := range []string{"a", "c"} {
		if v, ok := c.get(k); !ok || v.model != k {
			t.Errorf("%s: %+v %v", k, v, ok)
		}
	}
	c.put("c", cached{model: "c2"})
	if v, _ := c.get("c"); v.model != "c2" || c.len() != 2 {
		t.Errorf("update: %+v, len %d", v, c.len())
	}
	var off *cache = newCache(0)
	off.put("a", cached{})
	if _, ok := off.get("a"); ok || off.len() != 0 {
		t.Error("a disabled cache must hold nothing")
	}
}
