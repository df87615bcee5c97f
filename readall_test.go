package conflict

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// TestReadAll checks readAll against io.ReadAll over a LimitReader, the
// code it replaces, whatever the announced length says: right, too short,
// too long, unknown; and a reader that fails midway.
func TestReadAll(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 300) // 3,000 bytes
	for _, n := range []int{0, 1, 511, 512, 513, 3000} {
		for _, size := range []int64{-1, 0, int64(n) - 1, int64(n), int64(n) + 1, 100_000} {
			for _, limit := range []int64{0, 1, int64(n), int64(n) + 1, 1 << 20} {
				src := data[:n]
				want, _ := io.ReadAll(io.LimitReader(bytes.NewReader(src), limit))
				got, err := readAll(iotest.HalfReader(bytes.NewReader(src)), size, limit)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("n=%d size=%d limit=%d: got %d bytes, %v; want %d bytes", n, size, limit, len(got), err, len(want))
				}
			}
		}
	}
	boom := errors.New("boom")
	got, err := readAll(io.MultiReader(bytes.NewReader(data[:700]), iotest.ErrReader(boom)), -1, 1<<20)
	if !errors.Is(err, boom) || !bytes.Equal(got, data[:700]) {
		t.Fatalf("failing reader: got %d bytes, %v; want the 700 bytes read and the error", len(got), err)
	}
}
