package conflicttest

import (
	"strconv"
	"strings"
)

// googleError is an AIP-193 google.rpc.Status in its JSON envelope.
type googleError struct {
	Error googleStatus `json:"error"`
}

type googleStatus struct {
	Code    int              `json:"code"`
	Message string           `json:"message"`
	Status  string           `json:"status"`
	Details []map[string]any `json:"details,omitempty"`
}

// googleDomain is the ErrorInfo domain of every error.
const googleDomain = "conflicttest.local"

// renderGoogle spells e as a Google API does; see [Google]. The code member
// is the HTTP status actually sent (412, 422 and 428 included).
func renderGoogle(e *apiError) *reply {
	var status, reason string
	md := map[string]string{}
	if e.collection != "" && e.id != "" {
		md["resource"] = e.collection + "/" + e.id
	}
	if e.field != "" {
		md["field"] = e.field
	}
	var retry map[string]any
	switch e.kind {
	case kindStale:
		status, reason = "ABORTED", "VERSION_MISMATCH"
		if e.viaHeader {
			reason = "ETAG_MISMATCH"
		}
		if e.current != nil {
			md["current_version"] = strconv.Itoa(e.version)
			md["current_etag"] = etag(e.version)
		}
	case kindDuplicate:
		status, reason = "ALREADY_EXISTS", "RESOURCE_ALREADY_EXISTS"
		if e.existingID != "" {
			md["existing_id"] = e.existingID
		}
	case kindTransition:
		status, reason = "FAILED_PRECONDITION", "INVALID_STATE_TRANSITION"
		md["current_state"] = e.state
		md["action"] = e.action
		md["allowed_transitions"] = strings.Join(e.allowed, ",")
	case kindDependency:
		status, reason = "FAILED_PRECONDITION", "PARENT_NOT_FOUND"
		if e.cycle {
			reason = "CIRCULAR_REFERENCE"
		}
		md["parent"] = e.value
	case kindInUse:
		status, reason = "ABORTED", "IDEMPOTENCY_KEY_IN_USE"
		md["idempotency_key"] = e.key
		retry = map[string]any{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}
	case kindMismatch:
		status, reason = "INVALID_ARGUMENT", "IDEMPOTENCY_KEY_MISMATCH"
		md["idempotency_key"] = e.key
	case kindPreconditionRequired:
		status, reason = "FAILED_PRECONDITION", "PRECONDITION_REQUIRED"
	case kindNotFound:
		status, reason = "NOT_FOUND", "RESOURCE_NOT_FOUND"
	case kindUnavailable:
		status, reason = "UNAVAILABLE", "SERVICE_UNAVAILABLE"
	default:
		status, reason = "INVALID_ARGUMENT", strings.ToUpper(e.info().code)
	}
	details := []map[string]any{{
		"@type":    "type.googleapis.com/google.rpc.ErrorInfo",
		"reason":   reason,
		"domain":   googleDomain,
		"metadata": md,
	}}
	if retry != nil {
		details = append(details, retry)
	}
	b := googleError{googleStatus{Code: e.status, Message: e.detail, Status: status, Details: details}}
	return jsonReply(e.status, "application/json", b)
}
