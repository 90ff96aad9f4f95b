package gateway

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestTTLCache(t *testing.T) {
	t.Run("a stored value is found until dropped", func(t *testing.T) {
		c := newTTLCache[int](4, time.Hour)
		c.put("a", 1)
		if v, ok := c.get("a"); !ok || v != 1 {
			t.Errorf("get(a) = %d, %v, want 1, true", v, ok)
		}
		c.drop("a")
		if v, ok := c.get("a"); ok {
			t.Errorf("get(a) after drop = %d, true, want a miss", v)
		}
	})
	t.Run("a stored zero value is a hit, not a miss", func(t *testing.T) {
		c := newTTLCache[*bucketSSEConfig](4, time.Hour)
		c.put("no-config", nil)
		if v, ok := c.get("no-config"); !ok || v != nil {
			t.Errorf("get = %v, %v, want nil, true", v, ok)
		}
		if _, ok := c.get("unknown"); ok {
			t.Errorf("get of a key never stored is a hit")
		}
	})
	t.Run("an expired entry is a miss and is removed", func(t *testing.T) {
		c := newTTLCache[int](4, -time.Second) // expired when stored
		c.put("a", 1)
		if _, ok := c.get("a"); ok {
			t.Errorf("get of an expired entry is a hit")
		}
		if n := len(c.entries); n != 0 {
			t.Errorf("%d entries after reading an expired one, want 0", n)
		}
	})
	t.Run("a put replaces the value and renews the expiry", func(t *testing.T) {
		c := newTTLCache[int](4, time.Hour)
		c.put("a", 1)
		c.entries["a"] = ttlEntry[int]{v: 1, expires: time.Now().Add(-time.Second)}
		c.put("a", 2)
		if v, ok := c.get("a"); !ok || v != 2 {
			t.Errorf("get(a) = %d, %v, want 2, true", v, ok)
		}
	})
	t.Run("the size stays bounded and the newest entry stays", func(t *testing.T) {
		c := newTTLCache[int](3, time.Hour)
		for i := range 10 {
			c.put(strconv.Itoa(i), i)
			if n := len(c.entries); n > 3 {
				t.Fatalf("%d entries after %d puts, want at most 3", n, i+1)
			}
			if v, ok := c.get(strconv.Itoa(i)); !ok || v != i {
				t.Fatalf("the entry just put is gone: get = %d, %v", v, ok)
			}
		}
	})
	t.Run("concurrent use", func(t *testing.T) {
		c := newTTLCache[int](8, time.Hour)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 200 {
					k := strconv.Itoa((g*7 + i) % 16)
					c.put(k, i)
					c.get(k)
					if i%5 == 0 {
						c.drop(k)
					}
				}
			})
		}
		wg.Wait()
		if n := len(c.entries); n > 8 {
			t.Errorf("%d entries, want at most 8", n)
		}
	})
}
