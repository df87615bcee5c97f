package generated_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/examples/generated/ogen"
)

// The ogen client takes the *conflict.Client as its ht.Client: a stale PUT
// is refreshed, merged and re-sent, and ogen decodes the 200.
func TestOgenStalePutMerged(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	api, err := ogen.NewClient(srv.URL, ogen.WithClient(c)) // the one line
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	got, err := api.GetDocument(ctx, ogen.GetDocumentParams{ID: "doc1"})
	if err != nil {
		t.Fatalf("GetDocument: %v", err)
	}
	read, ok := got.(*ogen.DocumentHeaders)
	if !ok {
		t.Fatalf("GetDocument: %T, want *ogen.DocumentHeaders", got)
	}
	otherWriter(srv)

	doc := read.Response
	doc.Title = ogen.NewOptString("Final")
	var resp *http.Response // ogen hides the response; keep it for ResultOf
	res, err := api.PutDocument(ctx, &doc, ogen.PutDocumentParams{ID: "doc1", IfMatch: read.ETag},
		ogen.WithEditResponse(func(r *http.Response) error { resp = r; return nil }))
	if err != nil {
		t.Fatalf("PutDocument: %v", err)
	}
	ok200, isOK := res.(*ogen.PutDocumentOK)
	if !isOK {
		t.Fatalf("PutDocument: %T, want *ogen.PutDocumentOK", res)
	}
	checkOutcome(t, conflict.ResultOf(resp), conflict.Merged)
	if d := ok200.Response; d.Title.Value != "Final" || d.Body.Value != "Hello, world" || d.Version.Value != 3 {
		t.Errorf("document = %+v, want our title, their body, version 3", d)
	}
}

// A duplicate create is adopted; ogen decodes the existing user as the
// 201 response of createUser, as the original create answered.
func TestOgenDuplicateAdopted(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	api, err := ogen.NewClient(srv.URL, ogen.WithClient(c))
	if err != nil {
		t.Fatal(err)
	}
	createUser(t, srv, `{"email":"ada@example.com","name":"Ada"}`)

	res, err := api.CreateUser(context.Background(),
		&ogen.NewUser{Email: "ada@example.com", Name: ogen.NewOptString("Ada")}, ogen.CreateUserParams{})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	u, ok := res.(*ogen.UserHeaders) // the 201, as the original create answered
	if !ok || u.Response.ID != "u_1" {
		t.Fatalf("CreateUser: %#v, want the existing user u_1", res)
	}
	if n := srv.Stats().Creates["ada@example.com"]; n != 1 {
		t.Errorf("users created with the email = %d, want 1", n)
	}
}

// Through StandardClient, an unrecovered conflict reaches ogen as the
// server's own 409, which it decodes into *ogen.CancelOrderConflict.
func TestOgenInvalidTransitionTyped(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	api, err := ogen.NewClient(srv.URL, ogen.WithClient(c.StandardClient()))
	if err != nil {
		t.Fatal(err)
	}
	id := shipOrder(t, srv)

	res, err := api.CancelOrder(context.Background(), ogen.CancelOrderParams{ID: id})
	if err != nil {
		t.Fatalf("CancelOrder: %v", err)
	}
	p, ok := res.(*ogen.CancelOrderConflict)
	if !ok {
		t.Fatalf("CancelOrder: %T, want *ogen.CancelOrderConflict", res)
	}
	if p.Code.Value != "invalid_transition" || p.CurrentState.Value != "shipped" || !slices.Equal(p.AllowedTransitions, []string{"deliver"}) {
		t.Errorf("problem = %+v, want invalid_transition from shipped, allowed [deliver]", *p)
	}
}

// Through Do, an unrecovered conflict is a *conflict.Error, which ogen
// wraps: errors.As still finds it.
func TestOgenInvalidTransitionError(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	api, err := ogen.NewClient(srv.URL, ogen.WithClient(c))
	if err != nil {
		t.Fatal(err)
	}
	id := shipOrder(t, srv)

	_, err = api.CancelOrder(context.Background(), ogen.CancelOrderParams{ID: id})
	var e *conflict.Error
	if !errors.As(err, &e) || e.Conflict.Kind != conflict.InvalidTransition || e.Conflict.CurrentState != "shipped" {
		t.Fatalf("CancelOrder: err = %v, want a *conflict.Error for an invalid transition from shipped", err)
	}
}
