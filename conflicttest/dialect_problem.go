package conflicttest

// problemDetails is an RFC 9457 problem with this package's extensions.
type problemDetails struct {
	Type               string         `json:"type"`
	Title              string         `json:"title"`
	Status             int            `json:"status"`
	Detail             string         `json:"detail,omitempty"`
	Instance           string         `json:"instance,omitempty"`
	Code               string         `json:"code"`
	Field              string         `json:"field,omitempty"`
	CurrentVersion     int            `json:"current_version,omitempty"`
	Current            map[string]any `json:"current,omitempty"`
	ExistingID         string         `json:"existing_id,omitempty"`
	CurrentState       string         `json:"current_state,omitempty"`
	AllowedTransitions any            `json:"allowed_transitions,omitempty"` // []string, [] included
	RequestID          string         `json:"request_id,omitempty"`
}

// renderProblem spells e as application/problem+json. Conflict kinds have a
// relative type URI (/problems/version-conflict); other errors use
// about:blank and the status text as title, as RFC 9457 §4.2.1 says.
func renderProblem(e *apiError) *reply {
	p := problemDetails{
		Type:         "about:blank",
		Title:        e.title(),
		Status:       e.status,
		Detail:       e.detail,
		Instance:     e.instance,
		Code:         e.info().code,
		Field:        e.field,
		Current:      e.current,
		ExistingID:   e.existingID,
		CurrentState: e.state,
		RequestID:    e.requestID,
	}
	if slug := e.info().slug; slug != "" {
		p.Type = "/problems/" + slug
	}
	if e.kind == kindStale || e.kind == kindDuplicate {
		p.CurrentVersion = e.version
	}
	if e.kind == kindTransition {
		p.AllowedTransitions = e.allowedList()
	}
	return jsonReply(e.status, "application/problem+json", p)
}
