package credential

import (
	"strings"
	"testing"
)

func TestIs(t *testing.T) {
	for name, want := range map[string]bool{
		"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "X-Api-Key": true,
		"X-Auth-Token": true, "access_token": true, "X-CSRF-Token": true, "Session-Id": true,
		"Idempotency-Key": true, "sig": true, "SIG": true, "design": false, "Content-Type": false, "Accept": false, "If-Match": false, "sort": false,
	} {
		if got := Is(name); got != want {
			t.Errorf("Is(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestIsScope(t *testing.T) {
	for name, want := range map[string]bool{
		"X-Tenant-ID": true, "Stripe-Account": true, "X-Org-Id": true, "OpenAI-Organization": true,
		"X-Project": true, "X-Workspace-Id": true, "X-Realm": true, "Origin": false, "Accept": false,
		"X-Request-Id": false, "traceparent": false, "Content-Type": false,
	} {
		if got := IsScope(name); got != want {
			t.Errorf("IsScope(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestIsIdempotencyKey(t *testing.T) {
	for name, want := range map[string]bool{
		"Idempotency-Key": true, "X-Idempotency-Key": true, "idempotency-key": true,
		"IDEMPOTENCY-KEY": true, "X-Api-Key": false, "Authorization": false,
	} {
		if got := IsIdempotencyKey(name); got != want {
			t.Errorf("IsIdempotencyKey(%q) = %v, want %v", name, got, want)
		}
	}
}

// FuzzIs checks Is, which allocates nothing for ASCII names, against the
// plain definition: a word of the list in the lower-cased name.
func FuzzIs(f *testing.F) {
	for _, s := range []string{"Authorization", "x-api-KEY", "sort", "to\u212aen", "tok\xffen", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		want := false
		n := strings.ToLower(name)
		for _, w := range words {
			want = want || strings.Contains(n, w)
		}
		if got := isCredential(name); got != want {
			t.Errorf("isCredential(%q) = %v, want %v", name, got, want)
		}
		if got := Is(name); got != (want || strings.EqualFold(name, "sig")) {
			t.Errorf("Is(%q) = %v, want %v", name, got, want)
		}
	})
}

func BenchmarkIs(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		Is("Content-Type")
		Is("Authorization")
	}
}
