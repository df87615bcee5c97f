package conflict

import (
	"net/http"
	"strings"
)

// ambiguous decides a reason that means either a stale version or a
// duplicate ("conflict") from the request that received it: a request with a
// precondition was stale, a create without one found a duplicate.
func ambiguous(req *http.Request) Kind {
	if req == nil {
		return Unknown
	}
	h := req.Header
	switch {
	case h.Get("If-None-Match") == "*":
		return Duplicate
	case h.Get("If-Match") != "" || h.Get("If-Unmodified-Since") != "":
		return StaleVersion
	case req.URL != nil && req.URL.Query().Get("rev") != "":
		return StaleVersion // CouchDB's ?rev=
	}
	switch req.Method {
	case http.MethodPost:
		return Duplicate
	case http.MethodPut, http.MethodPatch, http.MethodDelete:
		return StaleVersion
	}
	return Unknown
}

// reasonKinds is the common vocabulary of reason codes, squashed (see
// squash): lowercase letters and digits only.
var reasonKinds = map[string]Kind{
	// stale version
	"versionconflict": StaleVersion, "versionmismatch": StaleVersion, "staleversion": StaleVersion,
	"staleobject": StaleVersion, "staledata": StaleVersion, "staleresource": StaleVersion,
	"etagmismatch": StaleVersion, "conditionnotmet": StaleVersion, "preconditionfailed": StaleVersion,
	"concurrentupdate": StaleVersion, "editconflict": StaleVersion, "revisionmismatch": StaleVersion,
	"optimisticlock": StaleVersion, "optimisticlockfailure": StaleVersion, "outdated": StaleVersion,
	"outofdate": StaleVersion, "resourcemodified": StaleVersion, "resourcechanged": StaleVersion,
	"wrongversion": StaleVersion, "aborted": StaleVersion,
	// duplicate
	"duplicate": Duplicate, "alreadyexists": Duplicate, "duplicatekey": Duplicate,
	"uniqueviolation": Duplicate, "uniquenessviolation": Duplicate, "uniquenesserror": Duplicate,
	"uniqueconstraint": Duplicate, "fileexists": Duplicate, "exists": Duplicate, "23505": Duplicate,
	// invalid transition
	"invalidtransition": InvalidTransition, "invalidstatetransition": InvalidTransition,
	"invalidstate": InvalidTransition, "illegalstatetransition": InvalidTransition,
	"illegalstate": InvalidTransition, "transitionnotallowed": InvalidTransition,
	"invalidstatus": InvalidTransition, "failedprecondition": InvalidTransition,
	// idempotency
	"idempotencykeyinuse": IdempotencyInUse, "requestinprogress": IdempotencyInUse,
	"idempotentrequestinprogress": IdempotencyInUse, "idempotencyrequestinprogress": IdempotencyInUse,
	"idempotencyerror": IdempotencyMismatch, "idempotencykeymismatch": IdempotencyMismatch,
	"idempotencykeyreused": IdempotencyMismatch, "idempotencykeyalreadyused": IdempotencyMismatch,
	"idempotencymismatch": IdempotencyMismatch,
	// dependency
	"dependency": Dependency, "dependencyconflict": Dependency, "foreignkeyviolation": Dependency,
	"missingparent": Dependency, "parentnotfound": Dependency, "circularreference": Dependency,
	"circulardependency": Dependency, "cycle": Dependency, "referencedresourcenotfound": Dependency,
	"referentialintegrity": Dependency, "23503": Dependency,
	// locked, operation in progress
	"locked": Locked, "resourcelocked": Locked, "anotheroperationinprogress": Locked,
	"operationinprogress": Locked, "concurrentmodification": Locked, "locktimeout": Locked,
	"leasealreadypresent": Locked, "conditionalrequestconflict": Locked, "operationaborted": Locked,
	"resourcebusy": Locked, "busy": Locked, "transactionconflict": Locked,
	// precondition required
	"preconditionrequired": PreconditionRequired,
}

// kindOfReason maps a reason code to a kind through the common vocabulary,
// with a few patterns (stale_*, duplicate_*, *_already_exists). The reason
// "conflict" alone is decided by the request (see ambiguous).
func kindOfReason(reason string, req *http.Request) Kind {
	s := squash(reason)
	if k, ok := reasonKinds[s]; ok {
		return k
	}
	switch {
	case s == "conflict":
		return ambiguous(req)
	case strings.Contains(s, "idempoten") && (strings.Contains(s, "inprogress") || strings.Contains(s, "inuse")):
		return IdempotencyInUse
	case strings.Contains(s, "idempoten") && (strings.Contains(s, "mismatch") || strings.Contains(s, "reuse")):
		return IdempotencyMismatch
	case strings.HasPrefix(s, "stale"), strings.Contains(s, "versionconflict"), strings.Contains(s, "versionmismatch"),
		strings.HasSuffix(s, "conditionnotmet"):
		return StaleVersion
	case strings.HasPrefix(s, "duplicate"), strings.HasSuffix(s, "alreadyexists"):
		return Duplicate
	case strings.Contains(s, "transition"):
		return InvalidTransition
	case strings.Contains(s, "circular"):
		return Dependency
	}
	return Unknown
}

// phrases are the last resort: the common English phrasings of each kind,
// lowercase, most specific first.
var phrases = []struct {
	text string
	kind Kind
}{
	{"idempotency-key is already used", IdempotencyMismatch},
	{"same parameters they were first used with", IdempotencyMismatch},
	{"outstanding for this idempotency-key", IdempotencyInUse},
	{"in-progress request using this idempotent key", IdempotencyInUse},
	{"request with the same idempotency-key", IdempotencyInUse},
	{"another operation is in progress", Locked},
	{"is currently locked", Locked},
	{"circular", Dependency},
	{"foreign key", Dependency},
	{"already exists", Duplicate},
	{"already present", Duplicate},
	{"already been taken", Duplicate},
	{"already taken", Duplicate},
	{"already registered", Duplicate},
	{"has been modified", StaleVersion},
	{"was modified", StaleVersion},
	{"has been changed", StaleVersion},
	{"has changed", StaleVersion},
	{"modified concurrently", StaleVersion},
	{"version mismatch", StaleVersion},
	{"version conflict", StaleVersion},
	{"different version than expected", StaleVersion},
	{"current version is", StaleVersion},
	{"does not match", StaleVersion},
	{"expected to be at", StaleVersion},
	{"made remotely", StaleVersion},
	{"latest version", StaleVersion},
	{"invalid transition", InvalidTransition},
	{"invalid state transition", InvalidTransition},
	{"cannot transition", InvalidTransition},
	{" in state ", InvalidTransition},
}

// kindOfPhrase recognises a human-readable sentence.
func kindOfPhrase(msg string) Kind {
	if msg == "" {
		return Unknown
	}
	lower := asciiLower(msg)
	for _, p := range phrases {
		if strings.Contains(lower, p.text) {
			return p.kind
		}
	}
	return Unknown
}
