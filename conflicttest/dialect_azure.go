package conflicttest

import (
	"net/http"
	"strings"
)

// xmlText escapes character data; unlike xml.EscapeText it keeps line
// breaks and quotes literal, as Azure's messages have them.
var xmlText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// azureCode is an Azure Storage error code with its status and message.
type azureCode struct {
	code    string
	message string // "" means the apiError's detail
}

// renderAzure spells e as Azure Storage does; see [AzureStorage]. The
// message ends with "RequestId:<id>" as Azure's do, but carries no Time
// line, so replies stay deterministic. Codes Azure Storage does not define
// (InvalidStateTransition, CircularReference, IdempotencyKeyMismatch) are
// named in its style.
func renderAzure(e *apiError) *reply {
	status := e.status
	var ac azureCode
	switch e.kind {
	case kindStale:
		ac = azureCode{"ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met."}
		if !e.viaHeader {
			ac.message = "The version specified in the request body does not match the resource's current version."
		}
	case kindDuplicate:
		status = http.StatusConflict // Azure answers 409 even to If-None-Match: *
		ac = azureCode{"BlobAlreadyExists", "The specified blob already exists."}
	case kindTransition:
		ac = azureCode{"InvalidStateTransition", ""}
	case kindDependency:
		ac = azureCode{"ParentNotFound", "The specified parent does not exist."}
		if e.cycle {
			ac = azureCode{"CircularReference", ""}
		}
	case kindInUse:
		ac = azureCode{"OperationInProgress", "Another operation with the same idempotency key is in progress."}
	case kindMismatch:
		ac = azureCode{"IdempotencyKeyMismatch", ""}
	case kindPreconditionRequired:
		ac = azureCode{"MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified."}
	case kindNotFound:
		ac = azureCode{"ResourceNotFound", "The specified resource does not exist."}
	case kindBadRequest:
		ac = azureCode{"InvalidInput", ""}
	case kindTooLarge:
		ac = azureCode{"RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit."}
	case kindUnsupportedMedia:
		ac = azureCode{"InvalidHeaderValue", ""}
	case kindUnavailable:
		ac = azureCode{"ServerBusy", "The server is currently unable to receive requests. Please retry your request."}
	}
	if ac.message == "" {
		ac.message = e.detail
	}
	body := `<?xml version="1.0" encoding="utf-8"?><Error><Code>` + xmlText.Replace(ac.code) +
		`</Code><Message>` + xmlText.Replace(ac.message+"\nRequestId:"+e.requestID) + `</Message></Error>`

	h := http.Header{}
	h.Set("Content-Type", "application/xml")
	h.Set("x-ms-error-code", ac.code)
	h.Set("x-ms-request-id", e.requestID)
	return &reply{status: status, header: h, body: []byte(body)}
}
