package credential

import "testing"

func TestIs(t *testing.T) {
	for name, want := range map[string]bool{
		"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "X-Api-Key": true,
		"X-Auth-Token": true, "access_token": true, "X-CSRF-Token": true, "Session-Id": true,
		"Idempotency-Key": true, "Content-Type": false, "Accept": false, "If-Match": false, "sort": false,
	} {
		if got := Is(name); got != want {
			t.Errorf("Is(%q) = %v, want %v", name, got, want)
		}
	}
}
