package conflicttest

// plainError is {"error":"<code>","message":"..."} with extra top-level
// fields where they apply.
type plainError struct {
	Error              string         `json:"error"`
	Message            string         `json:"message"`
	Field              string         `json:"field,omitempty"`
	CurrentVersion     int            `json:"current_version,omitempty"`
	Current            map[string]any `json:"current,omitempty"`
	CurrentState       string         `json:"current_state,omitempty"`
	AllowedTransitions any            `json:"allowed_transitions,omitempty"` // []string, [] included
	ExistingID         string         `json:"existing_id,omitempty"`
}

// renderPlain spells e as a plain JSON envelope. Its codes are the Problem
// codes, except that a duplicate is already_exists.
func renderPlain(e *apiError) *reply {
	code := e.info().code
	if p := e.info().plain; p != "" {
		code = p
	}
	b := plainError{
		Error:        code,
		Message:      e.detail,
		Field:        e.field,
		Current:      e.current,
		CurrentState: e.state,
		ExistingID:   e.existingID,
	}
	if e.kind == kindStale || e.kind == kindDuplicate {
		b.CurrentVersion = e.version
	}
	if e.kind == kindTransition {
		b.AllowedTransitions = e.allowedList()
	}
	return jsonReply(e.status, "application/json", b)
}
