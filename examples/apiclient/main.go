// Apiclient shows how a hand-written API client (the kind of SDK a company
// publishes for its own API) builds on github.com/go-conflict/conflict:
// the SDK type holds a *conflict.Client configured with the API's endpoint
// rules, its methods stay ordinary (GetDocument, UpdateTitle, CreateUser,
// CancelOrder), and the conflicts nothing can recover are turned into the
// SDK's own typed errors with errors.As.
//
// Run it with:
//
//	go run ./examples/apiclient
//
// It runs against an embedded conflicttest server and exits with a non-zero
// status if any call does not turn out as printed.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/jsonmerge"
)

// ---- The SDK ----

// A DocsClient is a client of the documents, users and orders API.
// It is safe for concurrent use.
type DocsClient struct {
	base string
	http *conflict.Client
}

// NewDocsClient returns a client of the API at base. The endpoint rules are
// the SDK's knowledge of the API, written once here: how a stale document
// write is merged. Duplicate users, keys in flight and invalid transitions
// need no rule.
func NewDocsClient(base string, opts ...conflict.Option) *DocsClient {
	opts = append([]conflict.Option{
		conflict.WithRule("PUT /documents/{id}", conflict.Rule{
			// Documents are JSON objects; another writer's change to a
			// field we did not touch is kept.
			Merge: jsonmerge.Merge,
		}),
	}, opts...)
	return &DocsClient{base: strings.TrimSuffix(base, "/"), http: conflict.New(opts...)}
}

// A Document is a stored JSON document. Version is the server's.
type Document struct {
	ID      string `json:"-"`
	Title   string `json:"title"`
	Body    string `json:"body"`
	Version int    `json:"version"`
	ETag    string `json:"-"`
}

// A User is an account; its email is unique.
type User struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

// An Order goes pending → paid → shipped → delivered, or is cancelled
// while pending or paid.
type Order struct {
	ID    string `json:"id"`
	Item  string `json:"item"`
	State string `json:"state"`
}

// ErrEmailTaken is returned (wrapped in an *EmailTakenError) by CreateUser
// when another user already has the email.
var ErrEmailTaken = errors.New("docs: email already taken")

// An EmailTakenError reports that a user with the email exists and is not
// the one this call meant to create.
type EmailTakenError struct {
	Email      string
	ExistingID string
}

func (e *EmailTakenError) Error() string {
	return fmt.Sprintf("docs: email %s is taken by user %s", e.Email, e.ExistingID)
}

// Is makes errors.Is(err, ErrEmailTaken) true.
func (e *EmailTakenError) Is(target error) bool { return target == ErrEmailTaken }

// A TransitionError reports that an order's state forbids an action.
type TransitionError struct {
	OrderID string
	Action  string
	State   string   // the order's current state
	Allowed []string // the actions allowed from State
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("docs: cannot %s order %s: it is %s (allowed: %s)",
		e.Action, e.OrderID, e.State, strings.Join(e.Allowed, ", "))
}

// An EditConflictError reports that another writer changed the same fields
// of a document as this call, differently. Paths are JSON Pointers.
type EditConflictError struct {
	DocumentID string
	Paths      []string
}

func (e *EditConflictError) Error() string {
	return fmt.Sprintf("docs: document %s: concurrent edit of %s", e.DocumentID, strings.Join(e.Paths, ", "))
}

// GetDocument reads a document. Reading it through the client also
// remembers it as the base of a later merge.
func (c *DocsClient) GetDocument(ctx context.Context, id string) (*Document, error) {
	var d Document
	resp, err := c.call(ctx, "GET", "/documents/"+url.PathEscape(id), nil, nil, &d)
	if err != nil {
		return nil, err
	}
	d.ID, d.ETag = id, resp.Header.Get("ETag")
	return &d, nil
}

// UpdateTitle sets the title of a document read earlier with GetDocument.
// If someone else changed the document since, their changes to other
// fields are kept; if they changed the title too, it returns an
// *EditConflictError and writes nothing.
func (c *DocsClient) UpdateTitle(ctx context.Context, d *Document, title string) (*Document, error) {
	next := *d
	next.Title = title
	var out Document
	resp, err := c.call(ctx, "PUT", "/documents/"+url.PathEscape(d.ID), &next, http.Header{"If-Match": {d.ETag}}, &out)
	var ce *conflict.Error
	var mc *jsonmerge.ConflictError
	if errors.As(err, &ce) && errors.As(err, &mc) {
		e := &EditConflictError{DocumentID: d.ID}
		for _, p := range mc.Conflicts {
			e.Paths = append(e.Paths, p.Path)
		}
		return nil, e
	}
	if err != nil {
		return nil, err
	}
	out.ID, out.ETag = d.ID, resp.Header.Get("ETag")
	return &out, nil
}

// CreateUser creates a user. Calling it again for the same user (a retry
// after a timeout, another replica doing the same job) returns the user
// created first; an email taken by a different user is an
// *EmailTakenError.
func (c *DocsClient) CreateUser(ctx context.Context, email, name string) (*User, error) {
	var u User
	// Send only the fields the caller chose: a duplicate is adopted when
	// the existing user has every field sent with the same value.
	in := map[string]string{"email": email, "name": name}
	_, err := c.call(ctx, "POST", "/users", in, nil, &u)
	var ce *conflict.Error
	if errors.As(err, &ce) && ce.Conflict.Kind == conflict.Duplicate {
		return nil, &EmailTakenError{Email: email, ExistingID: ce.Conflict.ExistingID}
	}
	return &u, err
}

// CreateOrder creates an order. ref is the caller's reference for it (a
// cart id, a message id): every call with the same ref sends the same
// idempotency key, so the order is created at most once.
func (c *DocsClient) CreateOrder(ctx context.Context, ref, item string) (*Order, error) {
	ctx = conflict.WithIdempotencyKey(ctx, conflict.KeyFor("create-order", ref))
	var o Order
	_, err := c.call(ctx, "POST", "/orders", map[string]string{"item": item}, nil, &o)
	return &o, err
}

// Pay pays for an order; an order that is not pending gives a
// *TransitionError.
func (c *DocsClient) Pay(ctx context.Context, id string) (*Order, error) {
	return c.transition(ctx, id, "pay")
}

// Ship ships an order; an order that is not paid gives a *TransitionError.
func (c *DocsClient) Ship(ctx context.Context, id string) (*Order, error) {
	return c.transition(ctx, id, "ship")
}

// CancelOrder cancels an order; an order that has shipped gives a
// *TransitionError with its state and the actions it allows.
func (c *DocsClient) CancelOrder(ctx context.Context, id string) (*Order, error) {
	return c.transition(ctx, id, "cancel")
}

func (c *DocsClient) transition(ctx context.Context, id, action string) (*Order, error) {
	var o Order
	_, err := c.call(ctx, "POST", "/orders/"+url.PathEscape(id)+"/"+action, nil, nil, &o)
	var ce *conflict.Error
	if errors.As(err, &ce) && ce.Conflict.Kind == conflict.InvalidTransition {
		return nil, &TransitionError{OrderID: id, Action: action,
			State: ce.Conflict.CurrentState, Allowed: ce.Conflict.AllowedTransitions}
	}
	return &o, err
}

// call sends one request and decodes a 2xx JSON reply into out. Any
// *conflict.Error is returned as is, for the methods to translate.
func (c *DocsClient) call(ctx context.Context, method, path string, in any, h http.Header, out any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b) // NewRequest sets GetBody: the client can re-send it
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	// Read the body to its end: that is what lets the client remember a
	// document as the base of a later merge.
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("docs: %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return nil, fmt.Errorf("docs: %s %s: %w", method, path, err)
	}
	return resp, nil
}

// ---- A program using the SDK ----

func main() {
	log.SetFlags(0)
	srv := conflicttest.NewServer()
	defer srv.Close()
	ctx := context.Background()
	docs := NewDocsClient(srv.URL, conflict.WithHook(func(_ context.Context, ev conflict.Event) {
		if ev.Step == conflict.StepConflict {
			fmt.Printf("      (server said %d %s; the client will %s)\n", ev.Status, ev.Reason, strategyOf(ev.Kind))
		}
	}))

	fmt.Println("UpdateTitle while someone else edits the body:")
	srv.PutDocument("readme", `{"title":"Readme","body":"v1"}`)
	d, err := docs.GetDocument(ctx, "readme")
	must(err)
	srv.PutDocument("readme", `{"title":"Readme","body":"v2, by someone else"}`)
	d2, err := docs.UpdateTitle(ctx, d, "README")
	must(err)
	fmt.Printf("   title %q, body %q, version %d\n", d2.Title, d2.Body, d2.Version)
	check(d2.Title == "README" && d2.Body == "v2, by someone else", "the update was not merged")

	fmt.Println("UpdateTitle while someone else edits the title:")
	srv.PutDocument("readme", `{"title":"Read me first","body":"v2, by someone else"}`)
	_, err = docs.UpdateTitle(ctx, d2, "READ ME")
	var edit *EditConflictError
	check(errors.As(err, &edit) && len(edit.Paths) == 1 && edit.Paths[0] == "/title", "the edit conflict was not reported")
	fmt.Printf("   error: %v\n", err)

	fmt.Println("CreateUser twice for the same user:")
	u1, err := docs.CreateUser(ctx, "grace@example.com", "Grace Hopper")
	must(err)
	u2, err := docs.CreateUser(ctx, "grace@example.com", "Grace Hopper")
	must(err)
	fmt.Printf("   first %s, second %s\n", u1.ID, u2.ID)
	check(u1.ID == u2.ID && srv.Stats().Creates["grace@example.com"] == 1, "the second create was not adopted")

	fmt.Println("CreateUser with an email someone else has:")
	_, err = docs.CreateUser(ctx, "grace@example.com", "Someone Else")
	var taken *EmailTakenError
	check(errors.As(err, &taken) && errors.Is(err, ErrEmailTaken) && taken.ExistingID == u1.ID, "the taken email was not reported")
	fmt.Printf("   error: %v\n", err)

	fmt.Println("CreateOrder twice with the same reference:")
	o1, err := docs.CreateOrder(ctx, "cart-42", "teapot")
	must(err)
	o2, err := docs.CreateOrder(ctx, "cart-42", "teapot")
	must(err)
	fmt.Printf("   first %s, second %s\n", o1.ID, o2.ID)
	check(o1.ID == o2.ID, "the order was created twice")

	fmt.Println("CancelOrder after it shipped:")
	_, err = docs.Pay(ctx, o1.ID)
	must(err)
	_, err = docs.Ship(ctx, o1.ID)
	must(err)
	_, err = docs.CancelOrder(ctx, o1.ID)
	var te *TransitionError
	check(errors.As(err, &te) && te.State == "shipped", "the invalid transition was not reported")
	fmt.Printf("   error: %v\n", err)
}

func strategyOf(k conflict.Kind) string {
	switch k {
	case conflict.StaleVersion:
		return "refresh and merge"
	case conflict.Duplicate:
		return "adopt the user if it is ours"
	case conflict.IdempotencyInUse:
		return "wait"
	}
	return "abort"
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func check(ok bool, failure string) {
	if !ok {
		log.Fatal("FAIL: ", failure)
	}
}
