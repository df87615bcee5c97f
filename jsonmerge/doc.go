// Package jsonmerge merges JSON documents: a three-way merge that reports
// every conflicting path, and RFC 7396 merge patches (apply, create,
// rebase). It works on bytes: JSON text in, JSON text out. It uses the
// standard library only and knows nothing of HTTP, so it serves anyone who
// needs a correct three-way JSON merge.
//
// [Merge] applies our changes (base to ours) to theirs and keeps their
// changes to everything we did not touch; where both sides changed a value
// differently it does not pick one, it reports every such path in a
// [*ConflictError]. [New] configures a merge: arrays of objects merged by
// id ([KeyedArray]), per-path resolutions ([PathPolicy] with [TakeOurs],
// [TakeTheirs], [Report] or [ResolveWith]) and merge-patch semantics for
// null ([MergePatchMode]). [Typed] merges Go values and keeps the members
// their type does not model. [ApplyPatch], [CreatePatch] and [RebasePatch]
// implement RFC 7396.
//
// Numbers keep their exact text, member order is kept, and values nobody
// changed are copied byte for byte.
//
// # Compared with Kubernetes' three-way merge
//
// On the bench module's 10 KiB document (github.com/go-conflict/conflict,
// bench/), Merge has run 17 to 40 times faster than k8s.io/apimachinery's
// jsonmergepatch.CreateThreeWayJSONMergePatch applied with a merge patch,
// and it allocates about a hundredth of the bytes (it parses into pooled
// memory). It also keeps what that approach
// loses: apimachinery takes its changes from the difference between theirs
// and ours, so every member that theirs changed and ours still holds at its
// base value is set back to the base value, and arrays are replaced whole.
// Merge keeps theirs' changes there, merges keyed arrays element by element,
// and reports true conflicts instead of letting one side win silently.
package jsonmerge

import "errors"

// ErrConflict is the error a merge reports when both sides changed the same
// path to different values: errors.Is(err, ErrConflict) holds for every
// [*ConflictError].
var ErrConflict = errors.New("jsonmerge: merge conflict")
