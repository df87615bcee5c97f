package conflict

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"mime"
	"net/http"
	"strings"
)

// A dialect recognises one server family's way of spelling a conflict. match
// reports whether the body is in the dialect and, if so, fills in what it
// says. It sets Kind only where the dialect itself decides it; otherwise the
// common vocabulary decides from Reason.
type dialect struct {
	name  string
	match func(in *input, cf *Conflict) bool
}

// dialects are tried in order; the first that matches wins. Shapes with a
// distinctive marker come before looser ones, and the common vocabulary of
// hand-written APIs comes last.
var dialects = []dialect{
	{"problem", matchProblem},
	{"kubernetes", matchKubernetes},
	{"commercetools", matchCommercetools},
	{"google", matchGoogle},
	{"gocardless", matchGoCardless},
	{"elasticsearch", matchElasticsearch},
	{"stripe", matchStripe},
	{"postgrest", matchPostgREST},
	{"twilio", matchTwilio},
	{"github", matchGitHub},
	{"couchdb", matchCouchDB},
	{"azure", matchAzureXML},
	{"json", matchJSON},
}

func mediaType(h http.Header) string {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt
}

// matchProblem recognises RFC 9457 problem details, in JSON or XML, by media
// type or by shape (a title or type with a numeric status).
func matchProblem(in *input, cf *Conflict) bool {
	mt := mediaType(in.header)
	if x := in.xml; x != nil && (mt == "application/problem+xml" || x.XMLName.Local == "problem") {
		p := &Problem{Type: x.Type, Title: x.Title, Detail: x.Detail, Instance: x.Instance, Status: jsonInt(json.RawMessage(x.Status))}
		fillProblem(cf, p, in.req)
		return true
	}
	m := in.obj
	if m == nil {
		return false
	}
	if mt != "application/problem+json" {
		_, numeric := jsonNumber(m["status"])
		if !numeric || (jsonString(m["title"]) == "" && jsonString(m["type"]) == "") {
			return false
		}
	}
	p := &Problem{
		Type:     jsonString(m["type"]),
		Title:    jsonString(m["title"]),
		Status:   jsonInt(m["status"]),
		Detail:   jsonString(m["detail"]),
		Instance: jsonString(m["instance"]),
	}
	for k, v := range m {
		switch k {
		case "type", "title", "status", "detail", "instance":
		default:
			if p.Extensions == nil {
				p.Extensions = make(map[string]json.RawMessage, len(m))
			}
			p.Extensions[k] = v
		}
	}
	cf.Reason = first(m, "code", "reason", "error_code", "errorCode", "error")
	fillProblem(cf, p, in.req)
	fillDetails(cf, m)
	return true
}

func fillProblem(cf *Conflict, p *Problem, req *http.Request) {
	cf.Problem = p
	cf.Message = p.Detail
	if cf.Message == "" {
		cf.Message = p.Title
	}
	if p.Type != "" && p.Type != "about:blank" && kindOfReason(cf.Reason, req) == Unknown {
		// A type URI's last segment is usually the reason in kebab case.
		if k := kindOfReason(lastSegment(p.Type), req); k != Unknown {
			cf.Kind = k
		}
	}
	if cf.Kind == Unknown {
		// The Idempotency-Key draft's problems are told apart by title.
		if k := kindOfPhrase(p.Title); k == IdempotencyInUse || k == IdempotencyMismatch {
			cf.Kind = k
		}
	}
}

func jsonNumber(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') && json.Valid(raw) {
		return string(raw), true
	}
	return "", false
}

// fillDetails copies the detail fields of the common vocabulary from m.
func fillDetails(cf *Conflict, m map[string]json.RawMessage) {
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	set(&cf.Message, first(m, "message", "detail", "error_description", "errorSummary", "title"))
	set(&cf.Message, strings.Join(jsonStrings(m["message"]), "; ")) // GitLab: ["...", "..."]
	set(&cf.Field, first(m, "field", "param", "parameter", "attribute"))
	set(&cf.CurrentVersion, first(m, "current_version", "currentVersion", "current_etag", "currentEtag", "currentETag"))
	set(&cf.CurrentState, first(m, "current_state", "currentState", "state"))
	set(&cf.ExistingID, first(m, "existing_id", "existingId", "existing_resource_id", "conflicting_resource_id", "conflictingResourceId"))
	set(&cf.ExistingLocation, first(m, "existing_location", "existingLocation", "existing_url", "existingUrl", "location"))
	set(&cf.RequestID, first(m, "request_id", "requestId", "trace_id", "traceId"))
	if cf.AllowedTransitions == nil {
		for _, k := range []string{"allowed_transitions", "allowedTransitions", "allowed_actions", "allowedActions", "allowed_states", "allowedStates"} {
			if v := jsonStrings(m[k]); v != nil {
				cf.AllowedTransitions = v
				break
			}
		}
	}
	if cf.Current == nil {
		for _, k := range []string{"current", "current_representation", "currentRepresentation", "current_resource", "currentResource"} {
			if v := bytes.TrimSpace(m[k]); len(v) > 0 && v[0] == '{' {
				cf.Current = v // json.Unmarshal copied it out of the body
				break
			}
		}
	}
	if links := jsonObject(m["links"]); links != nil {
		set(&cf.ExistingID, first(links, "conflicting_resource_id", "existing", "existing_id"))
	}
}

// matchKubernetes recognises a Kubernetes Status object.
func matchKubernetes(in *input, cf *Conflict) bool {
	m := in.obj
	if jsonString(m["kind"]) != "Status" || jsonString(m["status"]) != "Failure" {
		return false
	}
	cf.Reason = jsonString(m["reason"])
	cf.Message = jsonString(m["message"])
	details := jsonObject(m["details"])
	cf.ExistingID = jsonString(details["name"])
	var causeKind Kind
	for _, c := range jsonArray(details["causes"]) {
		co := jsonObject(c)
		if cf.Field == "" {
			cf.Field = jsonString(co["field"])
		}
		// A cause's type travels as "reason" on the wire.
		if k := kindOfReason(jsonString(co["reason"]), nil); k != Unknown && causeKind == Unknown {
			causeKind = k
		}
		if k := kindOfPhrase(jsonString(co["message"])); k != Unknown && causeKind == Unknown && k != StaleVersion {
			causeKind = k
		}
	}
	switch cf.Reason {
	case "AlreadyExists":
		cf.Kind = Duplicate
	case "Conflict", "Invalid":
		// Kubernetes answers Conflict for optimistic-concurrency failures
		// ("the object has been modified") and for other races, which its
		// causes, when present, tell apart.
		if causeKind != Unknown {
			cf.Kind = causeKind
		} else if k := kindOfPhrase(cf.Message); k != Unknown && cf.Reason == "Conflict" {
			cf.Kind = k
		}
		in.final = true // "Conflict" alone says no more than the status
	}
	if cf.Kind != Duplicate {
		cf.ExistingID = ""
	}
	return true
}

// matchCommercetools recognises {"statusCode":409,"errors":[{"code":...}]}.
func matchCommercetools(in *input, cf *Conflict) bool {
	m := in.obj
	errs := jsonArray(m["errors"])
	if len(errs) == 0 || m["statusCode"] == nil {
		return false
	}
	e := jsonObject(errs[0])
	if e == nil || jsonString(e["code"]) == "" {
		return false
	}
	cf.Reason = jsonString(e["code"])
	cf.Message = first(e, "message")
	if cf.Message == "" {
		cf.Message = jsonString(m["message"])
	}
	switch cf.Reason {
	case "ConcurrentModification":
		cf.Kind = StaleVersion
		cf.CurrentVersion = jsonString(e["currentVersion"])
	case "DuplicateField":
		cf.Kind = Duplicate
		cf.Field = jsonString(e["field"])
		if r := jsonObject(e["conflictingResource"]); r != nil {
			cf.ExistingID = jsonString(r["id"])
		}
	}
	fillDetails(cf, e)
	return true
}

// matchGoCardless recognises {"error":{"type":..,"errors":[{"reason":..}]}}.
func matchGoCardless(in *input, cf *Conflict) bool {
	outer := jsonObject(in.obj["error"])
	errs := jsonArray(outer["errors"])
	if len(errs) == 0 {
		return false
	}
	e := jsonObject(errs[0])
	if e == nil || jsonString(e["reason"]) == "" {
		return false
	}
	cf.Reason = jsonString(e["reason"])
	if cf.Reason == "idempotent_creation_conflict" {
		cf.Kind = Duplicate
	}
	fillDetails(cf, e)
	fillDetails(cf, outer)
	return true
}

// matchGoogle recognises google.rpc.Status ({"error":{"code":409,
// "status":"ABORTED","details":[...]}}) and the legacy envelope
// ({"error":{"errors":[{"reason":"conflict"}],"code":409}}).
func matchGoogle(in *input, cf *Conflict) bool {
	e := jsonObject(in.obj["error"])
	if _, numeric := jsonNumber(e["code"]); !numeric {
		return false
	}
	status := jsonString(e["status"])
	var legacy map[string]json.RawMessage
	if errs := jsonArray(e["errors"]); len(errs) > 0 {
		legacy = jsonObject(errs[0])
		if legacy["domain"] == nil {
			legacy = nil
		}
	}
	if status == "" && legacy == nil {
		return false
	}
	cf.Message = jsonString(e["message"])
	cf.Reason = status
	for _, d := range jsonArray(e["details"]) {
		do := jsonObject(d)
		if !strings.HasSuffix(jsonString(do["@type"]), "google.rpc.ErrorInfo") {
			continue
		}
		if r := jsonString(do["reason"]); r != "" {
			cf.Reason = r
		}
		fillDetails(cf, jsonObject(do["metadata"]))
	}
	if k := kindOfReason(cf.Reason, in.req); k != Unknown && cf.Reason != status {
		// The ErrorInfo reason is more specific than the status
		// (IDEMPOTENCY_KEY_IN_USE under ABORTED).
		cf.Kind = k
		return true
	}
	switch status {
	case "ABORTED":
		cf.Kind = StaleVersion
	case "ALREADY_EXISTS":
		cf.Kind = Duplicate
	case "FAILED_PRECONDITION":
		cf.Kind = InvalidTransition
		if k := kindOfReason(cf.Reason, in.req); k == StaleVersion {
			cf.Kind = k // an ETag mismatch spelled as a failed precondition
		}
	case "":
		cf.Reason = jsonString(legacy["reason"])
		if cf.Message == "" {
			cf.Message = jsonString(legacy["message"])
		}
	}
	return true
}

// matchElasticsearch recognises {"error":{"type":"..._exception",
// "root_cause":[...]},"status":409}.
func matchElasticsearch(in *input, cf *Conflict) bool {
	e := jsonObject(in.obj["error"])
	typ := jsonString(e["type"])
	if !strings.HasSuffix(typ, "_exception") {
		return false
	}
	cf.Reason = typ
	cf.Message = jsonString(e["reason"])
	if typ == "version_conflict_engine_exception" {
		cf.Kind = StaleVersion
		if strings.Contains(cf.Message, "document already exists") {
			cf.Kind = Duplicate
			cf.ExistingID = jsonString(e["_id"])
		}
		cf.CurrentVersion = bracketAfter(cf.Message, "current version [")
		if cf.CurrentVersion == "" {
			cf.CurrentVersion = bracketAfter(cf.Message, "current document has seqNo [")
		}
	}
	return true
}

// bracketAfter returns the text between prefix and the next ']' in s.
func bracketAfter(s, prefix string) string {
	i := strings.Index(s, prefix)
	if i < 0 {
		return ""
	}
	s = s[i+len(prefix):]
	j := strings.IndexByte(s, ']')
	if j < 0 {
		return ""
	}
	return s[:j]
}

// matchStripe recognises {"error":{"type":"invalid_request_error",...}}.
func matchStripe(in *input, cf *Conflict) bool {
	e := jsonObject(in.obj["error"])
	typ := jsonString(e["type"])
	switch typ {
	case "invalid_request_error", "idempotency_error", "api_error", "card_error", "rate_limit_error":
	default:
		return false
	}
	cf.Reason = first(e, "code", "type")
	cf.Message = jsonString(e["message"])
	cf.Field = jsonString(e["param"])
	switch {
	case typ == "idempotency_error":
		cf.Kind = IdempotencyMismatch
	case cf.Reason == "lock_timeout":
		cf.Kind = Locked
	}
	fillDetails(cf, e)
	return true
}

// matchPostgREST recognises {"code":"23505","details":..,"hint":..,
// "message":..}: the code is a PostgreSQL SQLSTATE.
func matchPostgREST(in *input, cf *Conflict) bool {
	m := in.obj
	code := jsonString(m["code"])
	if len(code) != 5 || m["message"] == nil || (m["details"] == nil && m["hint"] == nil) {
		return false
	}
	cf.Reason = code
	cf.Message = jsonString(m["message"])
	details := jsonString(m["details"])
	switch code {
	case "23505":
		cf.Kind = Duplicate
		// details: Key (email)=(a@example.com) already exists.
		cf.Field = parenAfter(details, "Key (")
	case "23503":
		cf.Kind = Dependency
		cf.Field = parenAfter(details, "Key (")
	case "40001": // serialization_failure
		cf.Kind = Locked
	}
	return true
}

func parenAfter(s, prefix string) string {
	i := strings.Index(s, prefix)
	if i < 0 {
		return ""
	}
	s = s[i+len(prefix):]
	j := strings.IndexByte(s, ')')
	if j < 0 {
		return ""
	}
	return s[:j]
}

// matchTwilio recognises {"code":54301,"message":..,"more_info":..}.
func matchTwilio(in *input, cf *Conflict) bool {
	m := in.obj
	code, numeric := jsonNumber(m["code"])
	if !numeric || !strings.Contains(jsonString(m["more_info"]), "twilio.com") {
		return false
	}
	cf.Reason = code
	cf.Message = jsonString(m["message"])
	switch code {
	case "54301", "45202":
		cf.Kind = Duplicate
	case "54103", "520043":
		cf.Kind = StaleVersion
	case "59102":
		cf.Kind = Locked
	}
	return true
}

// matchGitHub recognises {"message":..,"documentation_url":..}: GitHub gives
// no reason code, so its message is read as a sentence.
func matchGitHub(in *input, cf *Conflict) bool {
	m := in.obj
	if m["documentation_url"] == nil || m["message"] == nil {
		return false
	}
	cf.Message = jsonString(m["message"])
	if k := kindOfPhrase(cf.Message); k != Unknown {
		cf.Kind, cf.Heuristic = k, true
	}
	return true
}

// matchCouchDB recognises {"error":"conflict","reason":"Document update
// conflict."}. CouchDB says conflict for a stale _rev and for a create of an
// existing document alike; the request decides which.
func matchCouchDB(in *input, cf *Conflict) bool {
	m := in.obj
	errCode, reason := jsonString(m["error"]), jsonString(m["reason"])
	if errCode == "" || reason == "" || len(m) > 3 {
		return false
	}
	cf.Reason = errCode
	cf.Message = reason
	switch errCode {
	case "file_exists":
		cf.Kind = Duplicate
	case "conflict":
		cf.Kind = ambiguous(in.req)
	}
	return true
}

// xmlError is the union of the XML error shapes: Azure Storage and S3
// (<Error><Code>..</Code>), and RFC 9457 problem+xml.
type xmlError struct {
	XMLName   xml.Name
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
	RequestID string `xml:"RequestId"`
	Type      string `xml:"type"`
	Title     string `xml:"title"`
	Status    string `xml:"status"`
	Detail    string `xml:"detail"`
	Instance  string `xml:"instance"`
}

func parseXMLError(b []byte) *xmlError {
	var x xmlError
	if xml.Unmarshal(b, &x) != nil {
		return nil
	}
	return &x
}

// matchAzureXML recognises <Error><Code>..</Code></Error> (Azure Storage,
// S3), with or without the x-ms-error-code header.
func matchAzureXML(in *input, cf *Conflict) bool {
	x := in.xml
	if x == nil || x.XMLName.Local != "Error" || x.Code == "" {
		return false
	}
	cf.Reason = x.Code
	msg, _, _ := strings.Cut(x.Message, "\n")
	cf.Message = strings.TrimSpace(msg)
	cf.RequestID = x.RequestID
	return true
}

// matchHeaderCode takes the reason from a header when the body said nothing
// recognisable (Azure's x-ms-error-code; a HEAD reply has no body at all).
func matchHeaderCode(in *input, cf *Conflict) {
	if code := in.header.Get("X-Ms-Error-Code"); code != "" {
		cf.Reason = code
		cf.Dialect = "azure"
	}
}

// matchJSON recognises the common vocabulary of hand-written JSON APIs: a
// reason under "error", "code", "reason", "type" or "error_code", at the top
// level, in an "error" object or in the first of "errors".
func matchJSON(in *input, cf *Conflict) bool {
	m := in.obj
	if m == nil {
		return false
	}
	scopes := []map[string]json.RawMessage{m}
	if e := jsonObject(m["error"]); e != nil {
		scopes = append(scopes, e)
	}
	if errs := jsonArray(m["errors"]); len(errs) > 0 {
		if e := jsonObject(errs[0]); e != nil {
			scopes = append(scopes, e)
		}
	}
	for _, s := range scopes {
		for _, k := range []string{"code", "error_code", "errorCode", "reason", "error", "type"} {
			if r := jsonString(s[k]); r != "" && !strings.Contains(r, " ") && kindOfReason(r, in.req) != Unknown {
				cf.Reason = r
				break
			}
		}
		if cf.Reason != "" {
			break
		}
	}
	if cf.Reason == "" {
		// No known code: keep the first code-like value as the reason.
		for _, s := range scopes {
			if r := first(s, "code", "error_code", "errorCode", "reason", "error"); r != "" && !strings.Contains(r, " ") {
				cf.Reason = r
				break
			}
		}
	}
	for _, s := range scopes {
		fillDetails(cf, s)
	}
	if cf.Message == "" {
		// {"error": "Conflict", "message": ...}, {"error": "a sentence"},
		// or Shopify's {"errors": "a sentence"}.
		cf.Message = first(m, "error", "errors")
	}
	if kindOfPhrase(cf.Message) == Unknown {
		// Okta: {"errorSummary":"Api validation failed: login",
		// "errorCauses":[{"errorSummary":"login: An object with this field
		// already exists ..."}]}
		for _, c := range jsonArray(m["errorCauses"]) {
			if s := first(jsonObject(c), "errorSummary"); kindOfPhrase(s) != Unknown {
				cf.Message = s
				break
			}
		}
	}
	return true
}

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
