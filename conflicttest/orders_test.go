package conflicttest_test

import "testing"

func TestOrders(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	r := do(t, srv, "POST", "/orders", `{"item":"book"}`)
	wantStatus(t, r, 201)
	want := `{"id":"o_1","item":"book","state":"pending","allowed_transitions":["pay","cancel"]}`
	if string(r.body) != want || r.header.Get("Location") != "/orders/o_1" {
		t.Errorf("create = %s %v", r.body, r.header)
	}
	wantStatus(t, do(t, srv, "POST", "/orders", `{}`), 400)

	steps := []struct {
		action string
		status int
		state  string
	}{
		{"ship", 409, "pending"},
		{"pay", 200, "paid"},
		{"pay", 409, "paid"},
		{"ship", 200, "shipped"},
		{"cancel", 409, "shipped"},
		{"deliver", 200, "delivered"},
		{"deliver", 409, "delivered"},
	}
	for _, s := range steps {
		r := do(t, srv, "POST", "/orders/o_1/"+s.action, "")
		wantStatus(t, r, s.status)
		m := r.json(t)
		if s.status == 200 && str(m, "state") != s.state {
			t.Errorf("%s: state = %q, want %q", s.action, str(m, "state"), s.state)
		}
		if s.status == 409 && (str(m, "code") != "invalid_transition" || str(m, "current_state") != s.state) {
			t.Errorf("%s: 409 body = %s", s.action, r.body)
		}
	}
	// A delivered order allows nothing, and says so with an empty list.
	r = do(t, srv, "POST", "/orders/o_1/cancel", "")
	if l, ok := get(r.json(t), "allowed_transitions").([]any); !ok || len(l) != 0 {
		t.Errorf("allowed_transitions = %v, want []", get(r.json(t), "allowed_transitions"))
	}

	r = do(t, srv, "POST", "/orders", `{"item":"pen"}`)
	r = do(t, srv, "POST", "/orders/o_2/ship", "")
	if l := get(r.json(t), "allowed_transitions").([]any); len(l) != 2 || l[0] != "pay" || l[1] != "cancel" {
		t.Errorf("allowed_transitions = %v", l)
	}
	wantStatus(t, do(t, srv, "POST", "/orders/o_2/cancel", ""), 200)
	wantStatus(t, do(t, srv, "POST", "/orders/o_2/refund", ""), 400)
	wantStatus(t, do(t, srv, "POST", "/orders/o_9/pay", ""), 404)
	r = do(t, srv, "GET", "/orders/o_2", "")
	if str(r.json(t), "state") != "cancelled" {
		t.Errorf("GET = %s", r.body)
	}
	if c := srv.Stats().Commits; c != 6 {
		t.Errorf("Commits = %d, want 6 (2 creates, 4 transitions)", c)
	}
}
