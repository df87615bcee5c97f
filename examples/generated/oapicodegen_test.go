package generated_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/examples/generated/oapicodegen"
)

// The oapi-codegen client takes the *conflict.Client itself as its
// HttpRequestDoer: a stale PUT is refreshed, merged and re-sent.
func TestOAPICodegenStalePutMerged(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	api, err := oapicodegen.NewClientWithResponses(srv.URL, oapicodegen.WithHTTPClient(c)) // the one line
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	got, err := api.GetDocumentWithResponse(ctx, "doc1")
	if err != nil || got.JSON200 == nil {
		t.Fatalf("GetDocument: %v, %v", err, got.Status())
	}
	etag := *got.Headers200.ETag
	otherWriter(srv)

	doc := *got.JSON200
	doc.Title = ptr("Final")
	put, err := api.PutDocumentWithResponse(ctx, "doc1", &oapicodegen.PutDocumentParams{IfMatch: &etag}, doc)
	if err != nil {
		t.Fatalf("PutDocument: %v", err)
	}
	if put.JSON200 == nil {
		t.Fatalf("PutDocument: %s %s, want 200", put.Status(), put.Body)
	}
	checkOutcome(t, conflict.ResultOf(put.HTTPResponse), conflict.Merged)
	if d := put.JSON200; *d.Title != "Final" || *d.Body != "Hello, world" || *d.Version != 3 {
		t.Errorf("document = %s, want our title, their body, version 3", put.Body)
	}
	if tag := *put.Headers200.ETag; tag != `"3"` {
		t.Errorf("ETag = %s, want \"3\"", tag)
	}
}

// A duplicate create is adopted: the client answers with the existing user
// as a 201, as the original create did, which the generated client decodes
// as its JSON201.
func TestOAPICodegenDuplicateAdopted(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	api, err := oapicodegen.NewClientWithResponses(srv.URL, oapicodegen.WithHTTPClient(c))
	if err != nil {
		t.Fatal(err)
	}
	createUser(t, srv, `{"email":"ada@example.com","name":"Ada"}`)

	resp, err := api.CreateUserWithResponse(context.Background(), nil,
		oapicodegen.NewUser{Email: "ada@example.com", Name: ptr("Ada")})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	checkOutcome(t, conflict.ResultOf(resp.HTTPResponse), conflict.Adopted)
	if resp.JSON201 == nil || resp.JSON201.Id != "u_1" {
		t.Fatalf("CreateUser: %s %s, want 201 with user u_1", resp.Status(), resp.Body)
	}
	if n := srv.Stats().Creates["ada@example.com"]; n != 1 {
		t.Errorf("users created with the email = %d, want 1", n)
	}
}

// Through StandardClient, an unrecovered conflict reaches the generated
// client as the server's own 409, which it decodes into its Problem type.
func TestOAPICodegenInvalidTransitionTyped(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	api, err := oapicodegen.NewClientWithResponses(srv.URL, oapicodegen.WithHTTPClient(c.StandardClient()))
	if err != nil {
		t.Fatal(err)
	}
	id := shipOrder(t, srv)

	resp, err := api.CancelOrderWithResponse(context.Background(), id)
	if err != nil {
		t.Fatalf("CancelOrder: %v", err)
	}
	p := resp.ApplicationproblemJSON409
	if p == nil {
		t.Fatalf("CancelOrder: %s %s, want a 409 problem", resp.Status(), resp.Body)
	}
	if *p.Code != "invalid_transition" || *p.CurrentState != "shipped" || !slices.Equal(*p.AllowedTransitions, []string{"deliver"}) {
		t.Errorf("problem = %s, want invalid_transition from shipped, allowed [deliver]", resp.Body)
	}
	// The conflict.Client's verdict travels with the response.
	res := conflict.ResultOf(resp.HTTPResponse)
	checkOutcome(t, res, conflict.Aborted)
	if !errors.Is(res.Err, conflict.ErrUnrecoverable) || res.Err.Conflict.Kind != conflict.InvalidTransition {
		t.Errorf("Result.Err = %v, want ErrUnrecoverable for an invalid transition", res.Err)
	}
}

// Through Do (the *conflict.Client as the doer), an unrecovered conflict is
// a *conflict.Error returned by the generated method.
func TestOAPICodegenInvalidTransitionError(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	api, err := oapicodegen.NewClientWithResponses(srv.URL, oapicodegen.WithHTTPClient(c))
	if err != nil {
		t.Fatal(err)
	}
	id := shipOrder(t, srv)

	_, err = api.CancelOrderWithResponse(context.Background(), id)
	var e *conflict.Error
	if !errors.As(err, &e) {
		t.Fatalf("CancelOrder: err = %v, want a *conflict.Error", err)
	}
	if e.Conflict.CurrentState != "shipped" || !slices.Equal(e.Conflict.AllowedTransitions, []string{"deliver"}) {
		b, _ := json.Marshal(e.Conflict)
		t.Errorf("Conflict = %s, want state shipped, allowed [deliver]", b)
	}
}

func ptr[T any](v T) *T { return &v }
