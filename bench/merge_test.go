package bench

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/go-conflict/conflict/jsonmerge"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	"k8s.io/apimachinery/pkg/util/jsonmergepatch"
)

// deployment returns a realistic ~10 KiB JSON document: a Kubernetes
// Deployment-like object with nested objects, arrays of objects, numbers,
// booleans and strings. edit, if set, changes it before it is encoded.
func deployment(edit func(d map[string]any)) []byte {
	env := func(c int) []any {
		var e []any
		for i := range 19 {
			e = append(e, map[string]any{"name": fmt.Sprintf("SETTING_%d_%d", c, i), "value": fmt.Sprintf("value-%d-%d-%s", c, i, "abcdefghij")})
		}
		return e
	}
	container := func(c int, image string) map[string]any {
		return map[string]any{
			"name":  fmt.Sprintf("app-%d", c),
			"image": image,
			"args":  []any{"--port=8080", "--log-level=info", fmt.Sprintf("--shard=%d", c)},
			"env":   env(c),
			"ports": []any{map[string]any{"name": "http", "containerPort": 8080, "protocol": "TCP"},
				map[string]any{"name": "metrics", "containerPort": 9090, "protocol": "TCP"}},
			"resources": map[string]any{
				"limits":   map[string]any{"cpu": "500m", "memory": "512Mi"},
				"requests": map[string]any{"cpu": "250m", "memory": "256Mi"},
			},
			"livenessProbe": map[string]any{"httpGet": map[string]any{"path": "/healthz", "port": 8080},
				"initialDelaySeconds": 10, "periodSeconds": 5, "timeoutSeconds": 1, "failureThreshold": 3},
			"readinessProbe": map[string]any{"httpGet": map[string]any{"path": "/ready", "port": 8080},
				"initialDelaySeconds": 5, "periodSeconds": 5, "successThreshold": 1},
			"imagePullPolicy": "IfNotPresent",
		}
	}
	labels := map[string]any{"app": "web", "tier": "frontend", "env": "prod", "version": "v1.4.2", "team": "payments"}
	d := map[string]any{
		"apiVersion": "apps/v1",
		"kind":       "Deployment",
		"metadata": map[string]any{
			"name": "web", "namespace": "prod", "uid": "6f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f",
			"resourceVersion": "4811694", "generation": 7, "creationTimestamp": "2026-01-12T09:30:00Z",
			"labels": labels,
			"annotations": map[string]any{
				"deployment.kubernetes.io/revision": "7",
				"owner":                             "ana@example.com",
				"description":                       "The public web frontend, serving the storefront and the account pages.",
			},
		},
		"spec": map[string]any{
			"replicas":                3,
			"revisionHistoryLimit":    10,
			"progressDeadlineSeconds": 600,
			"selector":                map[string]any{"matchLabels": map[string]any{"app": "web", "tier": "frontend"}},
			"strategy": map[string]any{"type": "RollingUpdate",
				"rollingUpdate": map[string]any{"maxSurge": "25%", "maxUnavailable": 0}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": labels},
				"spec": map[string]any{
					"containers": []any{container(0, "registry.example.com/web:1.4.2"),
						container(1, "registry.example.com/worker:1.4.2"), container(2, "registry.example.com/sidecar:0.9.1"),
						container(3, "registry.example.com/proxy:2.1.0"), container(4, "registry.example.com/exporter:0.4.7")},
					"volumes": []any{
						map[string]any{"name": "config", "configMap": map[string]any{"name": "web-config", "defaultMode": 420}},
						map[string]any{"name": "tls", "secret": map[string]any{"secretName": "web-tls", "optional": false}},
					},
					"terminationGracePeriodSeconds": 30,
					"dnsPolicy":                     "ClusterFirst",
					"securityContext":               map[string]any{"runAsNonRoot": true, "runAsUser": 1000, "fsGroup": 2000},
				},
			},
		},
		"status": map[string]any{
			"observedGeneration": 7, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
			"conditions": []any{
				map[string]any{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
					"lastUpdateTime": "2026-01-12T09:31:00Z", "message": "Deployment has minimum availability."},
				map[string]any{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
					"lastUpdateTime": "2026-01-12T09:31:00Z", "message": `ReplicaSet "web-7d9f8c6b5" has successfully progressed.`},
			},
		},
	}
	if edit != nil {
		edit(d)
	}
	b, err := json.Marshal(d)
	if err != nil {
		panic(err)
	}
	return b
}

func obj(d map[string]any, path ...string) map[string]any {
	for _, p := range path {
		d = d[p].(map[string]any)
	}
	return d
}

// mergeFixture is base, ours and theirs with disjoint changes. Ours scales
// the deployment, bumps an image (a change inside an array of objects,
// which replaces the array) and adds an annotation; theirs adds members
// elsewhere. Theirs only adds members, because on anything theirs changed
// and ours did not, apimachinery's three-way patch and MergeJSON disagree
// (see TestApimachineryRevertsConcurrentChange); on this fixture they give
// the same document, so the benchmark compares equal work.
var mergeFixture = struct{ base, ours, theirs []byte }{
	base: deployment(nil),
	ours: deployment(func(d map[string]any) {
		obj(d, "spec")["replicas"] = 5
		c := obj(d, "spec", "template", "spec")["containers"].([]any)
		c[0].(map[string]any)["image"] = "registry.example.com/web:1.5.0"
		obj(d, "metadata", "annotations")["change-cause"] = "scale out and upgrade for the sale"
	}),
	theirs: deployment(func(d map[string]any) {
		obj(d, "metadata", "annotations")["autoscaler/last-check"] = "2026-01-12T10:00:00Z"
		obj(d, "metadata", "labels")["cost-center"] = "cc-1042"
		obj(d, "status")["collisionCount"] = 0
	}),
}

// apimachineryMerge is how a Kubernetes client merges a stale write with
// k8s.io/apimachinery: a three-way JSON merge patch (original = base,
// modified = ours, current = theirs), applied to theirs with the json-patch
// package apimachinery itself uses (gopkg.in/evanphx/json-patch.v4, the v4
// line of github.com/evanphx/json-patch).
func apimachineryMerge(base, ours, theirs []byte) ([]byte, error) {
	patch, err := jsonmergepatch.CreateThreeWayJSONMergePatch(base, ours, theirs)
	if err != nil {
		return nil, err
	}
	return jsonpatch.MergePatch(theirs, patch)
}

func jsonEqual(t testing.TB, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

// TestMergeFixture checks the benchmark's fixture: about 10 KiB, and both
// peers produce the same, correct document.
func TestMergeFixture(t *testing.T) {
	t.Parallel()
	f := mergeFixture
	if n := len(f.base); n < 9<<10 || n > 11<<10 {
		t.Errorf("base is %d bytes, want about 10 KiB", n)
	}
	want := deployment(func(d map[string]any) {
		obj(d, "spec")["replicas"] = 5
		c := obj(d, "spec", "template", "spec")["containers"].([]any)
		c[0].(map[string]any)["image"] = "registry.example.com/web:1.5.0"
		obj(d, "metadata", "annotations")["change-cause"] = "scale out and upgrade for the sale"
		obj(d, "metadata", "annotations")["autoscaler/last-check"] = "2026-01-12T10:00:00Z"
		obj(d, "metadata", "labels")["cost-center"] = "cc-1042"
		obj(d, "status")["collisionCount"] = 0
	})
	for name, merge := range map[string]func(b, o, t []byte) ([]byte, error){
		"jsonmerge.Merge": jsonmerge.Merge, "apimachinery": apimachineryMerge,
	} {
		got, err := merge(f.base, f.ours, f.theirs)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !jsonEqual(t, got, want) {
			t.Errorf("%s: merged document differs from the expected one:\n%s", name, got)
		}
	}
}

// BenchmarkMerge merges the ~10 KiB fixture with jsonmerge.Merge and
// with apimachinery's three-way JSON merge patch applied by json-patch.
func BenchmarkMerge(b *testing.B) {
	f := mergeFixture
	for _, p := range []struct {
		name  string
		merge func(b, o, t []byte) ([]byte, error)
	}{{"jsonmerge.Merge", jsonmerge.Merge}, {"apimachinery", apimachineryMerge}} {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(f.base)))
			for range b.N {
				if _, err := p.merge(f.base, f.ours, f.theirs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestApimachineryRevertsConcurrentChange shows where apimachinery's
// three-way JSON merge patch, used on full documents to rebase a stale
// write, undoes another writer's change, and MergeJSON does not.
//
// CreateThreeWayJSONMergePatch computes its additions and changes as the
// difference from current (theirs) to modified (ours). Every member that
// theirs changed and ours still holds with base's value differs, so the
// patch sets it back to base's value: a scalar (status), an array theirs
// appended to (tags), a member of a nested object (owner.team). kubectl
// apply is built for a "modified" that lists only the fields the user
// manages; a full representation read before the write lists them all.
func TestApimachineryRevertsConcurrentChange(t *testing.T) {
	t.Parallel()
	base := []byte(`{"title":"draft","status":"open","tags":["a"],"owner":{"name":"ana","team":"red"},"version":3}`)
	// Ours: the title only.
	ours := []byte(`{"title":"final","status":"open","tags":["a"],"owner":{"name":"ana","team":"red"},"version":3}`)
	// Theirs, committed meanwhile: status, a tag appended, the owner's team.
	theirs := []byte(`{"title":"draft","status":"closed","tags":["a","b"],"owner":{"name":"ana","team":"blue"},"version":4}`)

	keeps := []byte(`{"title":"final","status":"closed","tags":["a","b"],"owner":{"name":"ana","team":"blue"},"version":4}`)
	reverts := []byte(`{"title":"final","status":"open","tags":["a"],"owner":{"name":"ana","team":"red"},"version":3}`)

	got, err := jsonmerge.Merge(base, ours, theirs)
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(t, got, keeps) {
		t.Errorf("MergeJSON = %s, want %s (both changes)", got, keeps)
	}

	patch, err := jsonmergepatch.CreateThreeWayJSONMergePatch(base, ours, theirs)
	if err != nil {
		t.Fatal(err)
	}
	got, err = jsonpatch.MergePatch(theirs, patch)
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(t, got, reverts) {
		t.Errorf("apimachinery = %s (patch %s), want %s (theirs reverted)", got, patch, reverts)
	}
	t.Logf("base:   %s\nours:   %s\ntheirs: %s\nMergeJSON:               %s\napimachinery patch:      %s\napimachinery result:     %s",
		base, ours, theirs, keeps, patch, got)
}
