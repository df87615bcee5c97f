package generated_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"

	"github.com/go-openapi/runtime"
	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/examples/generated/goswagger/client"
	"github.com/go-conflict/conflict/examples/generated/goswagger/client/operations"
	"github.com/go-conflict/conflict/examples/generated/goswagger/models"
)

// goswagger returns the go-swagger client of srv, sending through c.
func goswagger(t *testing.T, srv *conflicttest.Server, c *conflict.Client) operations.ClientService {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	transport := httptransport.NewWithClient(u.Host, client.DefaultBasePath, []string{u.Scheme}, c.StandardClient()) // the one line
	// go-swagger's runtime decodes only the media types it has a consumer
	// for; the API's errors are application/problem+json. (This is needed
	// with or without the conflict.Client.)
	transport.Consumers["application/problem+json"] = runtime.JSONConsumer()
	return client.New(transport, strfmt.Default).Operations
}

// go-swagger's runtime takes an *http.Client: StandardClient. A stale PUT
// is refreshed, merged and re-sent.
func TestGoSwaggerStalePutMerged(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	api := goswagger(t, srv, c)
	ctx := context.Background()

	got, err := api.GetDocumentContext(ctx, &operations.GetDocumentParams{ID: "doc1"})
	if err != nil {
		t.Fatalf("GetDocument: %v", err)
	}
	otherWriter(srv)

	doc := *got.Payload
	doc.Title = "Final"
	ok, created, err := api.PutDocumentContext(ctx, &operations.PutDocumentParams{ID: "doc1", IfMatch: &got.ETag, Document: &doc})
	if err != nil || created != nil {
		t.Fatalf("PutDocument: %v, created %v; want 200", err, created)
	}
	if d := ok.Payload; d.Title != "Final" || d.Body != "Hello, world" || d.Version != 3 {
		t.Errorf("document = %+v, want our title, their body, version 3", *d)
	}
	if ok.ETag != `"3"` {
		t.Errorf("ETag = %s, want \"3\"", ok.ETag)
	}
}

// A duplicate create is adopted; go-swagger decodes the existing user as
// the 201 response of createUser, as the original create answered.
func TestGoSwaggerDuplicateAdopted(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	api := goswagger(t, srv, c)
	createUser(t, srv, `{"email":"ada@example.com","name":"Ada"}`)

	email := "ada@example.com"
	created, err := api.CreateUserContext(context.Background(),
		&operations.CreateUserParams{User: &models.NewUser{Email: &email, Name: "Ada"}})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if created == nil || *created.Payload.ID != "u_1" {
		t.Fatalf("CreateUser: %v; want a 201 with the existing user u_1", created)
	}
	if n := srv.Stats().Creates["ada@example.com"]; n != 1 {
		t.Errorf("users created with the email = %d, want 1", n)
	}
}

// An unrecovered conflict reaches go-swagger as the server's own 409,
// which it returns as its *operations.CancelOrderConflict error.
func TestGoSwaggerInvalidTransitionTyped(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	api := goswagger(t, srv, c)
	id := shipOrder(t, srv)

	_, err := api.CancelOrderContext(context.Background(), &operations.CancelOrderParams{ID: id})
	var conflictErr *operations.CancelOrderConflict
	if !errors.As(err, &conflictErr) {
		t.Fatalf("CancelOrder: err = %v (%T), want *operations.CancelOrderConflict", err, err)
	}
	p := conflictErr.Payload
	if p.Code != "invalid_transition" || p.CurrentState != "shipped" || !slices.Equal(p.AllowedTransitions, []string{"deliver"}) {
		t.Errorf("problem = %+v, want invalid_transition from shipped, allowed [deliver]", *p)
	}
}
