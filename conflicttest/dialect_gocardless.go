package conflicttest

// gcError is GoCardless's {"error":{...}} envelope.
type gcError struct {
	Error gcBody `json:"error"`
}

type gcBody struct {
	Type      string   `json:"type"`
	Code      int      `json:"code"`
	Message   string   `json:"message"`
	Errors    []gcItem `json:"errors"`
	RequestID string   `json:"request_id"`
}

type gcItem struct {
	Reason  string            `json:"reason"`
	Message string            `json:"message"`
	Field   string            `json:"field,omitempty"`
	Links   map[string]string `json:"links,omitempty"`
}

// renderGoCardless spells e as GoCardless does; see [GoCardless]. Conflict
// kinds are type invalid_state; a key reused with another payload, a
// missing precondition and malformed requests are invalid_api_usage.
func renderGoCardless(e *apiError) *reply {
	typ := "invalid_state"
	item := gcItem{Reason: e.info().code, Message: e.detail, Field: e.field}
	switch e.kind {
	case kindDuplicate:
		item.Reason = "idempotent_creation_conflict"
		if e.existingID != "" {
			item.Links = map[string]string{"conflicting_resource_id": e.existingID}
		}
	case kindMismatch, kindPreconditionRequired, kindBadRequest, kindTooLarge, kindUnsupportedMedia:
		typ = "invalid_api_usage"
	case kindNotFound:
		typ, item.Reason = "invalid_api_usage", "resource_not_found"
	case kindUnavailable:
		typ, item.Reason = "gocardless", "service_unavailable"
	}
	b := gcError{gcBody{Type: typ, Code: e.status, Message: e.detail, Errors: []gcItem{item}, RequestID: e.requestID}}
	return jsonReply(e.status, "application/json", b)
}
