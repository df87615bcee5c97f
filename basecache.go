package conflict

import (
	"container/list"
	"sync"
)

// baseCache remembers representations read through the client, by URL and
// version, so that a stale write can be merged against the representation
// it was based on. It holds at most n entries, least recently used first
// out.
type baseCache struct {
	mu  sync.Mutex
	n   int
	lru *list.List // of *baseEntry, most recent at the front
	m   map[baseKey]*list.Element
}

type baseKey struct{ url, version string }

type baseEntry struct {
	key  baseKey
	data []byte
}

func newBaseCache(n int) *baseCache {
	return &baseCache{n: n, lru: list.New(), m: make(map[baseKey]*list.Element)}
}

func (c *baseCache) put(url, version string, data []byte) {
	if version == "" {
		return
	}
	k := baseKey{url, version}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		e.Value.(*baseEntry).data = data
		c.lru.MoveToFront(e)
		return
	}
	c.m[k] = c.lru.PushFront(&baseEntry{k, data})
	for c.lru.Len() > c.n {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.m, old.Value.(*baseEntry).key)
	}
}

func (c *baseCache) get(url, version string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[baseKey{url, version}]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(e)
	return e.Value.(*baseEntry).data, true
}
