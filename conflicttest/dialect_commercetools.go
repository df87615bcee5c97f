package conflicttest

import "fmt"

// ctError is commercetools' {"statusCode","message","errors"} envelope.
type ctError struct {
	StatusCode int      `json:"statusCode"`
	Message    string   `json:"message"`
	Errors     []ctItem `json:"errors"`
}

type ctItem struct {
	Code                string      `json:"code"`
	Message             string      `json:"message"`
	CurrentVersion      int         `json:"currentVersion,omitempty"`
	Field               string      `json:"field,omitempty"`
	DuplicateValue      string      `json:"duplicateValue,omitempty"`
	InvalidValue        string      `json:"invalidValue,omitempty"`
	ConflictingResource *ctResource `json:"conflictingResource,omitempty"`
	TypeID              string      `json:"typeId,omitempty"`
	ID                  string      `json:"id,omitempty"`
}

type ctResource struct {
	TypeID string `json:"typeId"`
	ID     string `json:"id"`
}

// renderCommercetools spells e as commercetools does; see [Commercetools].
// A stale version always carries currentVersion.
func renderCommercetools(e *apiError) *reply {
	item := ctItem{Message: e.detail}
	switch e.kind {
	case kindStale:
		item.Code = "ConcurrentModification"
		item.CurrentVersion = e.version
		item.Message = fmt.Sprintf("Object %s has a different version than expected. Actual: %d.", e.id, e.version)
	case kindDuplicate:
		item.Code = "DuplicateField"
		item.Field, item.DuplicateValue = e.field, e.value
		item.Message = fmt.Sprintf("A duplicate value '\"%s\"' exists for field '%s'.", e.value, e.field)
		if e.existingID != "" {
			item.ConflictingResource = &ctResource{TypeID: singular(e.collection), ID: e.existingID}
		}
	case kindTransition:
		item.Code = "InvalidOperation"
	case kindDependency:
		if e.cycle {
			item.Code, item.Field, item.InvalidValue = "InvalidField", e.field, e.value
		} else {
			item.Code, item.TypeID, item.ID = "ReferencedResourceNotFound", "category", e.value
			item.Message = fmt.Sprintf("The referenced object of type 'category' '%s' was not found. It either doesn't exist, or it can't be accessed from this endpoint (e.g., if the endpoint filters by store or customer account).", e.value)
		}
	case kindInUse:
		item.Code = "IdempotencyKeyInUse"
	case kindMismatch:
		item.Code = "IdempotencyKeyMismatch"
	case kindPreconditionRequired:
		item.Code = "PreconditionRequired"
	case kindNotFound:
		item.Code = "ResourceNotFound"
		item.Message = fmt.Sprintf("The Resource with ID '%s' was not found.", e.id)
	case kindBadRequest:
		item.Code = "InvalidJsonInput"
	case kindTooLarge, kindUnsupportedMedia:
		item.Code = "InvalidInput"
	case kindUnavailable:
		item.Code = "ServiceUnavailable"
	}
	b := ctError{StatusCode: e.status, Message: item.Message, Errors: []ctItem{item}}
	return jsonReply(e.status, "application/json", b)
}
