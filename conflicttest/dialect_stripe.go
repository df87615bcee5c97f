package conflicttest

import (
	"fmt"
	"net/http"
)

// stripeError is Stripe's {"error":{...}} envelope.
type stripeError struct {
	Error stripeDetail `json:"error"`
}

type stripeDetail struct {
	Type    string `json:"type"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
	Param   string `json:"param,omitempty"`
}

// renderStripe spells e as Stripe does; see [Stripe]. A key reused with
// another payload is a 400 of type idempotency_error, as at Stripe.
func renderStripe(e *apiError) *reply {
	status := e.status
	d := stripeDetail{Type: "invalid_request_error", Code: e.info().code, Message: e.detail, Param: e.field}
	switch e.kind {
	case kindDuplicate:
		d.Code = "resource_already_exists"
	case kindInUse:
		d.Message = fmt.Sprintf("There is currently another in-progress request using this Idempotent Key "+
			"(that probably means you submitted twice, and the other request is still going through): %s. "+
			"Please try again later.", e.key)
		d.Param = ""
	case kindMismatch:
		status = http.StatusBadRequest
		d = stripeDetail{Type: "idempotency_error", Message: fmt.Sprintf("Keys for idempotent requests can only be used "+
			"with the same parameters they were first used with. Try using a key other than '%s' if you meant "+
			"to execute a different request.", e.key)}
	case kindNotFound:
		d.Code, d.Param = "resource_missing", "id"
		d.Message = fmt.Sprintf("No such %s: '%s'", singular(e.collection), e.id)
	case kindBadRequest, kindTooLarge, kindUnsupportedMedia:
		d.Code = ""
	case kindUnavailable:
		d.Type, d.Code = "api_error", ""
	}
	return jsonReply(status, "application/json", stripeError{d})
}
