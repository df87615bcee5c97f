package preset

import (
	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/jsonmerge"
)

// Kubernetes returns the rules for the Kubernetes API server's objects
// under prefix ("" for the API server's root).
//
// Kubernetes' version is metadata.resourceVersion, in the body: an update
// (PUT) that carries a stale one is answered 409 with a Status of reason
// Conflict ("the object has been modified; please apply your changes to the
// latest version and try again"), and a create (POST) of a name that exists
// 409 with reason AlreadyExists and details.name
// (https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions,
// https://kubernetes.io/docs/reference/using-api/api-concepts/#conflict-errors).
//
// The rules, for core objects (/api/v1/...) and API groups
// (/apis/{group}/{version}/...), namespaced and cluster-scoped:
//
//	PUT  .../{resource}/{name}   version sent and read at /metadata/resourceVersion; a stale
//	                             write is refreshed with one GET and merged (jsonmerge.Merge)
//	POST .../{resource}          a create whose name exists adopts the existing object when
//	                             it holds everything the create sent (the server adds uid,
//	                             resourceVersion, status and defaults)
//
// Subresources (/status, /scale) and server-side apply (PATCH with
// application/apply-patch+yaml, which resolves conflicts itself) are not
// covered.
func Kubernetes(prefix string) []conflict.Option {
	update := conflict.Rule{
		Merge:    jsonmerge.Merge,
		Versions: []conflict.Version{{Send: conflict.Field("/metadata/resourceVersion")}},
	}
	create := conflict.Rule{AdoptIf: sentIsSubset}
	var opts []conflict.Option
	for _, coll := range []string{
		"/api/v1/namespaces/{namespace}/{resource}",
		"/api/v1/{resource}",
		"/apis/{group}/{version}/namespaces/{namespace}/{resource}",
		"/apis/{group}/{version}/{resource}",
	} {
		opts = append(opts,
			conflict.WithRule(pattern("PUT", prefix, coll+"/{name}"), update),
			conflict.WithRule(pattern("POST", prefix, coll), create))
	}
	return opts
}
