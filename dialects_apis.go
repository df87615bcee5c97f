package conflict

import (
	"strings"

	"github.com/go-conflict/conflict/internal/jsonv"
)

// The dialects of individual service APIs; dialects.go has the table and the
// standards.

// matchCommercetools recognises {"statusCode":409,"errors":[{"code":...}]}.
func matchCommercetools(in *input, cf *Conflict) bool {
	m := in.obj
	errs := jsonArray(m.Get("errors"))
	if len(errs) == 0 || m.Get("statusCode") == nil {
		return false
	}
	e := jsonObject(&errs[0].Value)
	if e == nil || jsonString(e.Get("code")) == "" {
		return false
	}
	cf.Reason = jsonString(e.Get("code"))
	cf.Message = first(e, "message")
	if cf.Message == "" {
		cf.Message = jsonString(m.Get("message"))
	}
	switch cf.Reason {
	case "ConcurrentModification":
		cf.Kind = StaleVersion
		cf.CurrentVersion = jsonString(e.Get("currentVersion"))
	case "DuplicateField":
		cf.Kind = Duplicate
		cf.Field = jsonString(e.Get("field"))
		if r := jsonObject(e.Get("conflictingResource")); r != nil {
			cf.ExistingID = jsonString(r.Get("id"))
		}
	}
	return true
}

// matchGoCardless recognises {"error":{"type":..,"errors":[{"reason":..}]}}.
func matchGoCardless(in *input, cf *Conflict) bool {
	outer := jsonObject(in.obj.Get("error"))
	errs := jsonArray(outer.Get("errors"))
	if len(errs) == 0 {
		return false
	}
	e := jsonObject(&errs[0].Value)
	if e == nil || jsonString(e.Get("reason")) == "" {
		return false
	}
	cf.Reason = jsonString(e.Get("reason"))
	if cf.Reason == "idempotent_creation_conflict" {
		cf.Kind = Duplicate
	}
	return true
}

// matchGoogle recognises google.rpc.Status ({"error":{"code":409,
// "status":"ABORTED","details":[...]}}) and the legacy envelope
// ({"error":{"errors":[{"reason":"conflict"}],"code":409}}).
func matchGoogle(in *input, cf *Conflict) bool {
	e := jsonObject(in.obj.Get("error"))
	if _, numeric := jsonNumber(e.Get("code")); !numeric {
		return false
	}
	status := jsonString(e.Get("status"))
	var legacy *jsonv.Value
	if errs := jsonArray(e.Get("errors")); len(errs) > 0 {
		legacy = jsonObject(&errs[0].Value)
		if legacy.Get("domain") == nil {
			legacy = nil
		}
	}
	if status == "" && legacy == nil {
		return false
	}
	cf.Message = jsonString(e.Get("message"))
	cf.Reason = status
	details := jsonArray(e.Get("details"))
	for i := range details {
		do := jsonObject(&details[i].Value)
		if !strings.HasSuffix(jsonString(do.Get("@type")), "google.rpc.ErrorInfo") {
			continue
		}
		if r := jsonString(do.Get("reason")); r != "" {
			cf.Reason = r
		}
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
		cf.Reason = jsonString(legacy.Get("reason"))
		if cf.Message == "" {
			cf.Message = jsonString(legacy.Get("message"))
		}
	}
	return true
}

// matchElasticsearch recognises {"error":{"type":"..._exception",
// "root_cause":[...]},"status":409}.
func matchElasticsearch(in *input, cf *Conflict) bool {
	e := jsonObject(in.obj.Get("error"))
	typ := jsonString(e.Get("type"))
	if !strings.HasSuffix(typ, "_exception") {
		return false
	}
	cf.Reason = typ
	cf.Message = jsonString(e.Get("reason"))
	if typ == "version_conflict_engine_exception" {
		cf.Kind = StaleVersion
		if strings.Contains(cf.Message, "document already exists") {
			cf.Kind = Duplicate
			cf.ExistingID = jsonString(e.Get("_id"))
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
	e := jsonObject(in.obj.Get("error"))
	typ := jsonString(e.Get("type"))
	switch typ {
	case "invalid_request_error", "idempotency_error", "api_error", "card_error", "rate_limit_error":
	default:
		return false
	}
	cf.Reason = first(e, "code", "type")
	cf.Message = jsonString(e.Get("message"))
	cf.Field = jsonString(e.Get("param"))
	switch {
	case typ == "idempotency_error":
		cf.Kind = IdempotencyMismatch
	case cf.Reason == "lock_timeout":
		cf.Kind = Locked
	}
	return true
}

// matchPostgREST recognises {"code":"23505","details":..,"hint":..,
// "message":..}: the code is a PostgreSQL SQLSTATE.
func matchPostgREST(in *input, cf *Conflict) bool {
	m := in.obj
	code := jsonString(m.Get("code"))
	if len(code) != 5 || m.Get("message") == nil || (m.Get("details") == nil && m.Get("hint") == nil) {
		return false
	}
	cf.Reason = code
	cf.Message = jsonString(m.Get("message"))
	details := jsonString(m.Get("details"))
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
	code, numeric := jsonNumber(m.Get("code"))
	if !numeric || !strings.Contains(jsonString(m.Get("more_info")), "twilio.com") {
		return false
	}
	cf.Reason = code
	cf.Message = jsonString(m.Get("message"))
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
	if m.Get("documentation_url") == nil || m.Get("message") == nil {
		return false
	}
	cf.Message = jsonString(m.Get("message"))
	if k := kindOfPhrase(cf.Message); k != Unknown {
		cf.Kind, cf.Heuristic = k, true
	}
	return true
}
