package jsonmerge_test

import (
	"errors"
	"fmt"

	"github.com/go-conflict/conflict/jsonmerge"
)

func ExampleMerge() {
	base := []byte(`{"title":"Draft","tags":["a"],"views":12345678901234567890}`)
	// We changed the title; meanwhile the server changed the tags and added
	// a member we have never seen.
	ours := []byte(`{"title":"Final","tags":["a"],"views":12345678901234567890}`)
	theirs := []byte(`{"title":"Draft","tags":["a","b"],"views":12345678901234567890,"etag":"v8"}`)

	merged, err := jsonmerge.Merge(base, ours, theirs)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(merged))
	// Output:
	// {"title":"Final","tags":["a","b"],"views":12345678901234567890,"etag":"v8"}
}

func ExampleMerge_conflict() {
	base := []byte(`{"title":"Draft","price":10,"stock":5}`)
	ours := []byte(`{"title":"Final","price":12,"stock":5}`)
	theirs := []byte(`{"title":"Published","price":11,"stock":4}`)

	_, err := jsonmerge.Merge(base, ours, theirs)
	fmt.Println(err)
	fmt.Println(errors.Is(err, jsonmerge.ErrConflict))
	var mc *jsonmerge.ConflictError
	if errors.As(err, &mc) {
		for _, c := range mc.Conflicts {
			fmt.Printf("%s: base %s, ours %s, theirs %s\n", c.Path, c.Base, c.Ours, c.Theirs)
		}
	}
	// Output:
	// jsonmerge: merge conflict at "/title", "/price"
	// true
	// /title: base "Draft", ours "Final", theirs "Published"
	// /price: base 10, ours 12, theirs 11
}

func ExampleNew() {
	merge := jsonmerge.New(
		// Line items are identified by their sku, not by their position.
		jsonmerge.KeyedArray("/lines", "sku"),
		// The server's timestamp always wins.
		jsonmerge.PathPolicy("/updated_at", jsonmerge.TakeTheirs),
	)
	base := []byte(`{"lines":[{"sku":"A","qty":1}],"updated_at":"10:00"}`)
	ours := []byte(`{"lines":[{"sku":"A","qty":2},{"sku":"C","qty":1}],"updated_at":"10:05"}`)
	theirs := []byte(`{"lines":[{"sku":"B","qty":1},{"sku":"A","qty":1}],"updated_at":"10:03"}`)

	merged, err := merge(base, ours, theirs)
	fmt.Println(string(merged), err)
	// Output:
	// {"lines":[{"sku":"B","qty":1},{"sku":"A","qty":2},{"sku":"C","qty":1}],"updated_at":"10:03"} <nil>
}

type mergeArticle struct {
	Title string `json:"title"`
	Likes int    `json:"likes"`
}

func ExampleTyped() {
	// Titles: ours wins if we changed it. Likes: add our increment to theirs.
	merge := jsonmerge.Typed(func(base, ours, theirs mergeArticle) (mergeArticle, error) {
		if ours.Title != base.Title {
			theirs.Title = ours.Title
		}
		theirs.Likes += ours.Likes - base.Likes
		return theirs, nil
	})
	base := []byte(`{"title":"Go","likes":10}`)
	ours := []byte(`{"title":"Go 1.23","likes":11}`)
	theirs := []byte(`{"title":"Go","likes":15,"author":"gopher"}`)

	merged, err := merge(base, ours, theirs)
	fmt.Println(string(merged), err)
	// Output:
	// {"title":"Go 1.23","likes":16,"author":"gopher"} <nil>
}

func ExampleApplyPatch() {
	doc := []byte(`{"title":"Goodbye!","author":{"givenName":"John","familyName":"Doe"},"tags":["example","sample"],"content":"This will be unchanged"}`)
	patch := []byte(`{"title":"Hello!","phoneNumber":"+01-123-456-7890","author":{"familyName":null},"tags":["example"]}`)

	patched, err := jsonmerge.ApplyPatch(doc, patch)
	fmt.Println(string(patched), err)
	// Output:
	// {"title":"Hello!","author":{"givenName":"John"},"tags":["example"],"content":"This will be unchanged","phoneNumber":"+01-123-456-7890"} <nil>
}

func ExampleRebasePatch() {
	base := []byte(`{"status":"open","assignee":"ann","labels":["bug"]}`)
	patch := []byte(`{"status":"closed"}`)
	theirs := []byte(`{"status":"open","assignee":"bob","labels":["bug"]}`)

	rebased, err := jsonmerge.RebasePatch(base, patch, theirs)
	fmt.Println(string(rebased), err)

	// Someone else already reopened it as "triaged": the patch conflicts.
	theirs = []byte(`{"status":"triaged","assignee":"ann","labels":["bug"]}`)
	_, err = jsonmerge.RebasePatch(base, patch, theirs)
	fmt.Println(err)
	// Output:
	// {"status":"closed"} <nil>
	// jsonmerge: merge conflict at "/status"
}

// ApplyChanges applies an edit made on a narrower view of a document to the
// document itself, keeping what the view does not show.
func ExampleApplyChanges() {
	doc := []byte(`{"title":"Draft","meta":{"owner":"ana"},"views":12345678901234567890}`)
	view := []byte(`{"title":"Draft"}`) // what a struct with only Title sees
	changed := []byte(`{"title":"Final"}`)
	out, err := jsonmerge.ApplyChanges(view, changed, doc)
	fmt.Println(string(out), err)
	// Output:
	// {"title":"Final","meta":{"owner":"ana"},"views":12345678901234567890} <nil>
}
