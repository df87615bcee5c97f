package conflicttest

import (
	"fmt"
	"strings"
)

// k8sStatus is a meta/v1 Status as the Kubernetes API server sends it.
type k8sStatus struct {
	Kind       string      `json:"kind"`
	APIVersion string      `json:"apiVersion"`
	Metadata   struct{}    `json:"metadata"`
	Status     string      `json:"status"`
	Message    string      `json:"message"`
	Reason     string      `json:"reason,omitempty"`
	Details    *k8sDetails `json:"details,omitempty"`
	Code       int         `json:"code"`
}

type k8sDetails struct {
	Name              string     `json:"name,omitempty"`
	Kind              string     `json:"kind,omitempty"`
	Causes            []k8sCause `json:"causes,omitempty"`
	RetryAfterSeconds int        `json:"retryAfterSeconds,omitempty"`
}

// k8sCause is a StatusCause. Its type travels as "reason" on the wire
// (Go field Type, JSON name reason).
type k8sCause struct {
	Type    string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	Field   string `json:"field,omitempty"`
}

// renderKubernetes spells e as a Kubernetes Status; see [Kubernetes].
func renderKubernetes(e *apiError) *reply {
	st := k8sStatus{Kind: "Status", APIVersion: "v1", Status: "Failure", Code: e.status, Message: e.detail}
	d := &k8sDetails{Name: e.id, Kind: e.collection}
	switch e.kind {
	case kindStale:
		st.Reason = "Conflict"
		st.Message = fmt.Sprintf("Operation cannot be fulfilled on %s %q: the object has been modified; "+
			"please apply your changes to the latest version and try again", e.collection, e.id)
	case kindDuplicate:
		st.Reason = "AlreadyExists"
		d.Name = e.existingID
		if e.existingID != "" {
			st.Message = fmt.Sprintf("%s %q already exists", e.collection, e.existingID)
		} else {
			st.Message = fmt.Sprintf("%s with %s %q already exists", e.collection, e.field, e.value)
		}
		if e.field != "" && e.field != "id" {
			d.Causes = []k8sCause{{Type: "FieldValueDuplicate", Field: e.field, Message: fmt.Sprintf("Duplicate value: %q", e.value)}}
		}
	case kindTransition:
		st.Reason = "Conflict"
		st.Message = fmt.Sprintf("Operation cannot be fulfilled on %s %q: cannot %s in state %q", e.collection, e.id, e.action, e.state)
		d.Causes = []k8sCause{{Type: "FieldValueInvalid", Field: "state",
			Message: fmt.Sprintf("Invalid value: %q: allowed actions: [%s]", e.state, strings.Join(e.allowed, ", "))}}
	case kindDependency:
		st.Reason = "Conflict"
		cause := k8sCause{Type: "FieldValueNotFound", Field: e.field, Message: fmt.Sprintf("Not found: %q", e.value)}
		if e.cycle {
			cause = k8sCause{Type: "FieldValueInvalid", Field: e.field, Message: fmt.Sprintf("Invalid value: %q: circular reference", e.value)}
		}
		st.Message = fmt.Sprintf("Operation cannot be fulfilled on %s %q: %s", e.collection, e.id, e.detail)
		if e.id == "" { // a create: there is no name yet
			st.Message = fmt.Sprintf("Operation cannot be fulfilled on %s: %s", e.collection, e.detail)
		}
		d.Causes = []k8sCause{cause}
	case kindInUse:
		st.Reason = "Conflict"
		st.Message = e.detail
		d = &k8sDetails{RetryAfterSeconds: 1,
			Causes: []k8sCause{{Type: "IdempotencyKeyInUse", Field: e.keyHeader, Message: e.title()}}}
	case kindMismatch:
		st.Reason = "Invalid"
		d = &k8sDetails{Causes: []k8sCause{{Type: "FieldValueInvalid", Field: e.keyHeader,
			Message: fmt.Sprintf("Invalid value: %q: %s", e.key, e.title())}}}
	case kindPreconditionRequired:
		st.Reason = "PreconditionRequired"
	case kindNotFound:
		st.Reason = "NotFound"
		st.Message = fmt.Sprintf("%s %q not found", e.collection, e.id)
	case kindBadRequest:
		st.Reason = "BadRequest"
		d = nil
	case kindTooLarge:
		st.Reason = "RequestEntityTooLarge"
		d = nil
	case kindUnsupportedMedia:
		st.Reason = "UnsupportedMediaType"
		d = nil
	case kindUnavailable:
		st.Reason = "ServiceUnavailable"
		d = nil
	}
	if d != nil && d.Name == "" && d.Kind == "" && len(d.Causes) == 0 && d.RetryAfterSeconds == 0 {
		d = nil
	}
	st.Details = d
	return jsonReply(e.status, "application/json", st)
}
