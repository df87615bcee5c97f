package bench

import (
	"testing"
	"time"
)

// BenchmarkReadModifyWrite is one writer's uncontended read-modify-write
// (GET, bump a field, PUT with If-Match) of a 32-counter conflicttest
// document, the server in another process: what one update costs the
// client, in CPU, when nothing conflicts. Profile it with -cpuprofile to
// see the client alone.
func BenchmarkReadModifyWrite(b *testing.B) {
	srv := startChild(b)
	for _, c := range []contender{
		{"Update", sharedClient(newUpdateClient, viaUpdate)},
		{"loop", sharedClient(plainClient, plainLoop)},
		{"conflict.Do", sharedClient(newConflictClient(), viaConflict)},
		{"RetryOnConflict", contenders[2].prepare},
	} {
		b.Run(c.name, func(b *testing.B) {
			srv.PutDocument("rmw", counterDoc(32))
			writer, done := c.prepare(srv.URL()+"/documents/rmw", 1)
			defer done()
			update := writer(0)
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.ResetTimer()
			for range b.N {
				if _, err := update(fieldOf(7)); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu0)/time.Microsecond)/float64(b.N), "cpu-µs/op")
		})
	}
}
