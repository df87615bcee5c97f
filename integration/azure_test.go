package integration_test

import (
	"strings"
	"testing"
)

// Azure Blob answers a stale If-Match with 412 ConditionNotMet, an existing
// container with 409 ContainerAlreadyExists, and lease problems with 409 or
// 412 and a Lease* code, in x-ms-error-code and an XML body
// (azurite/PROBE.md). Its version is a strong ETag.
// The client is configured by preset.AzureBlob alone: containers created
// if absent, blobs merged on a stale If-Match, lease codes classified
// Locked.
func azurePreset() serverPreset { return serverPreset{name: "azure-blob", base: azureURL()} }

// containerURL returns the container's URL with the SAS; extra is more query.
func containerURL(name, extra string) string {
	q := "restype=container&"
	if extra != "" {
		q += extra + "&"
	}
	return azureURL() + "/" + name + "?" + q + azureSAS()
}

func blobURL(container, blob, extra string) string {
	q := ""
	if extra != "" {
		q = extra + "&"
	}
	return azureURL() + "/" + container + "/" + blob + "?" + q + azureSAS()
}

// azureContainer creates a container with a unique name and deletes it at
// the end.
func azureContainer(t *testing.T) string {
	t.Helper()
	requireAzurite(t)
	name := unique("conflict-it-")
	must(t, "PUT", containerURL(name, ""), nil, nil, 201)
	t.Cleanup(func() { must(t, "DELETE", containerURL(name, ""), nil, nil, 202) })
	return name
}

var blockBlob = map[string]string{"x-ms-blob-type": "BlockBlob", "Content-Type": "application/json"}

func with(h map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// Creating a container that already exists (409 ContainerAlreadyExists) is
// adopted through the preset. The create has no body and the existing
// container reads as an empty 200: a bodiless create of a Creates rule
// means "make sure it exists".
func TestAzureContainerExistsAdopted(t *testing.T) {
	name := azureContainer(t)
	cnt := newCounter()
	c := newPresetClient(t, cnt, azurePreset())

	resp, _, err := send(t, c, "PUT", containerURL(name, ""), nil, nil)
	logRecovery(t, "create existing container", cnt, c)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	r, ok := resultOf(resp)
	if !ok || r.Outcome != "adopted" || r.Kind != "duplicate" {
		t.Errorf("result = %+v (ok %v), want adopted after a duplicate", r, ok)
	}
	if resp.StatusCode != 201 {
		t.Errorf("status %d, want 201 as the create would have answered", resp.StatusCode)
	}
	if n := cnt.count(); n != 2 {
		t.Errorf("%d requests, want 2 (PUT 409, GET properties)", n)
	}

	// Without the preset the PUT is no create: it aborts.
	cnt.reset()
	plain := newLibClient(t, cnt, endpoint{pattern: "PUT /devstoreaccount1/{container}"})
	_, _, err = send(t, plain, "PUT", containerURL(name, ""), nil, nil)
	if a, isAbort := abortOf(err); !isAbort || a.Kind != "duplicate" || cnt.count() != 1 {
		t.Errorf("without the preset: %v after %d requests, want a duplicate abort after 1", err, cnt.count())
	}
}

// A blob write on a stale If-Match (412 ConditionNotMet) is merged with
// another writer's change and lands with both.
func TestAzureStaleBlobMerged(t *testing.T) {
	container := azureContainer(t)
	blob := blobURL(container, "doc.json", "")
	must(t, "PUT", blob, []byte(`{"title":"draft","body":"hello","n":1}`), blockBlob, 201)

	cnt := newCounter()
	c := newPresetClient(t, cnt, azurePreset())

	resp, ours, err := send(t, c, "GET", blob, nil, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET: %v %v", resp, err)
	}
	etag1 := resp.Header.Get("ETag")
	if etag1 == "" || strings.HasPrefix(etag1, "W/") {
		t.Fatalf("GET gave ETag %q, want a strong one", etag1)
	}

	theirs := decode(t, ours)
	theirs["body"] = "hello, world"
	must(t, "PUT", blob, encode(t, theirs), blockBlob, 201)

	mine := decode(t, ours)
	mine["title"] = "final"
	cnt.reset()
	c.resetSteps()
	resp, out, err := send(t, c, "PUT", blob, encode(t, mine), with(blockBlob, "If-Match", etag1))
	logRecovery(t, "stale If-Match PUT", cnt, c)
	if err != nil {
		t.Fatalf("stale PUT: %v", err)
	}
	if resp.StatusCode != 201 {
		t.Fatalf("stale PUT: status %d, body %s", resp.StatusCode, out)
	}
	r, ok := resultOf(resp)
	if !ok || r.Outcome != "merged" || r.Kind != "stale_version" {
		t.Errorf("result = %+v (ok %v), want merged after a stale_version", r, ok)
	}
	if n := cnt.count(); n != 3 {
		t.Errorf("%d requests for the recovery, want 3 (PUT 412, GET, PUT 201)", n)
	}

	_, final := must(t, "GET", blob, nil, nil, 200)
	got := decode(t, final)
	if got["title"] != "final" || got["body"] != "hello, world" || got["n"] != float64(1) {
		t.Errorf("final blob %s: want our title and their body", final)
	}
}

const (
	leaseA = "11111111-1111-1111-1111-111111111111"
	leaseB = "22222222-2222-2222-2222-222222222222"
)

func acquire(id string, seconds string) map[string]string {
	return map[string]string{"x-ms-lease-action": "acquire", "x-ms-lease-duration": seconds, "x-ms-proposed-lease-id": id}
}

// A blob leased by someone else: the library's recovery must be the one its
// classification documents (refresh_merge, wait or abort), and end in a
// *conflict.Error while the lease is held.
func TestAzureLeaseConflict(t *testing.T) {
	container := azureContainer(t)
	blob := blobURL(container, "leased.json", "")
	lease := blobURL(container, "leased.json", "comp=lease")
	must(t, "PUT", blob, []byte(`{"title":"draft","n":1}`), blockBlob, 201)
	must(t, "PUT", lease, nil, acquire(leaseA, "-1"), 201)
	t.Cleanup(func() {
		must(t, "PUT", lease, nil, map[string]string{"x-ms-lease-action": "break", "x-ms-lease-break-period": "0"}, 202)
	})

	// A write without the lease id: 412 LeaseIdMissing (PROBE.md C2).
	write := []byte(`{"title":"final","n":1}`)
	resp, body, err := send(t, raw, "PUT", blob, write, blockBlob)
	if err != nil {
		t.Fatal(err)
	}
	bare, _, _ := classify(resp)
	kind, code, ok := presetClassify(t, azurePreset(), resp)
	t.Logf("PUT on a leased blob: %d %s; Classify: kind %s without the preset, %s with it", resp.StatusCode, resp.Header.Get("x-ms-error-code"), bare, kind)
	if !ok || resp.StatusCode != 412 || code != "LeaseIdMissing" {
		t.Fatalf("want a 412 LeaseIdMissing conflict, got %d %q conflict=%v: %s", resp.StatusCode, code, ok, body)
	}
	if kind != "locked" {
		t.Errorf("LeaseIdMissing is classified %s with the preset, want locked: the blob is leased, not stale", kind)
	}

	t.Run("write without If-Match", func(t *testing.T) {
		leaseWrite(t, blob, write, nil, kind)
	})
	t.Run("write with the current If-Match", func(t *testing.T) {
		leaseWrite(t, blob, write, map[string]string{"If-Match": ""}, kind)
	})

	// Acquiring a lease someone else holds: 409 LeaseAlreadyPresent
	// (PROBE.md C1).
	t.Run("acquire held lease", func(t *testing.T) {
		resp, _, err := send(t, raw, "PUT", lease, nil, acquire(leaseB, "15"))
		if err != nil {
			t.Fatal(err)
		}
		kind, code, _ := presetClassify(t, azurePreset(), resp)
		t.Logf("acquire a held lease: %d %s; Classify: kind %s", resp.StatusCode, code, kind)
		if kind != "locked" {
			t.Errorf("LeaseAlreadyPresent is %s, want locked", kind)
		}
		cnt := newCounter()
		c := newPresetClient(t, cnt, azurePreset())
		_, _, err = send(t, c, "PUT", lease, nil, acquire(leaseB, "15"))
		logRecovery(t, "acquire held lease", cnt, c)
		checkRecovery(t, err, kind, cnt, c)
	})
}

// leaseWrite writes the leased blob through the client (reading it first,
// so that a merge base is known) and checks the recovery against kind.
// An empty If-Match value in extra is replaced by the ETag read.
func leaseWrite(t *testing.T, blob string, write []byte, extra map[string]string, kind string) {
	cnt := newCounter()
	c := newPresetClient(t, cnt, azurePreset())
	resp, _, err := send(t, c, "GET", blob, nil, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET: %v %v", resp, err)
	}
	hdr := with(blockBlob)
	for k, v := range extra {
		if k == "If-Match" && v == "" {
			v = resp.Header.Get("ETag")
		}
		hdr[k] = v
	}
	cnt.reset()
	c.resetSteps()
	_, _, err = send(t, c, "PUT", blob, write, hdr)
	logRecovery(t, "PUT on a leased blob", cnt, c)
	checkRecovery(t, err, kind, cnt, c)
}

// checkRecovery checks that a call met a conflict of kind and ran that
// kind's documented recovery, ending in a *conflict.Error because the lease
// is still held.
func checkRecovery(t *testing.T, err error, kind string, cnt *counter, c *libClient) {
	t.Helper()
	a, ok := abortOf(err)
	if !ok {
		t.Fatalf("err = %v, want a *conflict.Error while the lease is held", err)
	}
	t.Logf("abort: %s", a.Message)
	if a.Kind != kind {
		t.Errorf("the client met kind %s, Classify said %s", a.Kind, kind)
	}
	// The attempts run out, or the call's time limit does first (waits
	// are jittered: which comes first varies from run to run).
	exhausted := a.Reason == "attempts_exhausted" && (a.Attempts == defaultMaxAttempts ||
		a.Attempts < defaultMaxAttempts && strings.Contains(a.Message, "total time for recovery is spent"))
	switch documentedRecovery(kind) {
	case "wait":
		// Wait and re-send unchanged until the attempts or the time run out.
		if !exhausted {
			t.Errorf("wait: reason %s after %d attempts (%s), want attempts_exhausted after %d, or after fewer with the time spent", a.Reason, a.Attempts, a.Message, defaultMaxAttempts)
		}
		if w := c.stepCount("wait"); w != a.Attempts-1 {
			t.Errorf("wait: %d waits in %d attempts, want %d", w, a.Attempts, a.Attempts-1)
		}
	case "refresh_merge":
		// Refresh, merge and re-send under the fresh version: the lease is
		// still there, so either the base is unknown (no If-Match: abort
		// before any refresh) or the merged write meets the lease again
		// until the attempts run out.
		switch {
		case a.NoBase:
			if a.Reason != "unrecoverable" || a.Attempts != 1 || cnt.count() != 1 {
				t.Errorf("refresh_merge without a base: reason %s, %d attempts, %d requests; want unrecoverable after 1 request", a.Reason, a.Attempts, cnt.count())
			}
		default:
			if !exhausted {
				t.Errorf("refresh_merge: reason %s after %d attempts (%s), want attempts_exhausted after %d, or after fewer with the time spent", a.Reason, a.Attempts, a.Message, defaultMaxAttempts)
			}
			if r := c.stepCount("refresh"); r != a.Attempts-1 {
				t.Errorf("refresh_merge: %d refreshes in %d attempts, want %d", r, a.Attempts, a.Attempts-1)
			}
		}
	default:
		if a.Reason != "unrecoverable" || a.Attempts != 1 || cnt.count() != 1 {
			t.Errorf("abort: reason %s, %d attempts, %d requests; want unrecoverable after 1 request", a.Reason, a.Attempts, cnt.count())
		}
	}
}

// A lease held for a moment is waited out: the acquire that met 409
// LeaseAlreadyPresent is re-sent after the holder releases it, and lands.
func TestAzureLeaseReleasedDuringWait(t *testing.T) {
	container := azureContainer(t)
	blob := blobURL(container, "leased.json", "")
	lease := blobURL(container, "leased.json", "comp=lease")
	must(t, "PUT", blob, []byte(`{"n":1}`), blockBlob, 201)
	must(t, "PUT", lease, nil, acquire(leaseA, "-1"), 201)

	cnt := newCounter()
	c := newPresetClient(t, cnt, azurePreset())
	released := false
	// The holder lets go while the client waits (the hook runs on the
	// calling goroutine, before the wait).
	c.onWait = func() {
		if !released {
			released = true
			must(t, "PUT", lease, nil, map[string]string{"x-ms-lease-action": "release", "x-ms-lease-id": leaseA}, 200)
		}
	}
	resp, _, err := send(t, c, "PUT", lease, nil, acquire(leaseB, "-1"))
	logRecovery(t, "acquire while held, released during the wait", cnt, c)
	if err != nil {
		t.Fatalf("acquire: %v", err)
	}
	t.Cleanup(func() {
		must(t, "PUT", lease, nil, map[string]string{"x-ms-lease-action": "release", "x-ms-lease-id": leaseB}, 200)
	})
	r, _ := resultOf(resp)
	if resp.StatusCode != 201 || r.Kind != "locked" || r.Attempts != 2 {
		t.Errorf("status %d, result %+v; want 201 after one locked conflict and 2 attempts", resp.StatusCode, r)
	}
	if got := resp.Header.Get("x-ms-lease-id"); got != leaseB {
		t.Errorf("lease id %q, want %q", got, leaseB)
	}
}
