package conflict

import (
	"encoding/json"
	"strings"
)

// The dialects of individual service APIs; dialects.go has the table and the
// standards.

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
