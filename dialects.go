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
