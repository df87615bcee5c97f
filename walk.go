package conflict

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-conflict/conflict/internal/jsonv"
)

// The walk reads a whole JSON body, bounded, and collects every candidate
// reason code and message with where it was found, plus the detail fields
// (conflicting field, existing id, current version, ...) in the spellings
// real APIs use. The dialects are strong priors; the walk is how a reply
// from an API no dialect knows is understood: its reason may sit in a
// top-level array, in errors[].extensions.code, in a field-keyed validation
// map ({"email":["has already been taken"]}), in a nested envelope, or in a
// message that is really a code ("EMAIL_EXISTS").

// Bounds of the walk.
const (
	walkMaxDepth = 16   // deepest nesting looked at
	walkMaxNodes = 2048 // object members and array elements looked at
	walkMaxText  = 1024 // bytes of one message matched against the phrases
	walkMaxCands = 64   // candidate codes, and messages, kept
	textMaxScan  = 4096 // bytes of a non-JSON body matched against the phrases
)

// A role is what an object member's name says its value is.
type role uint8

const (
	roleNone        role = iota
	roleCode             // code, error_code, type, .tag, issue, __type: a code
	roleCodeOrMsg        // error, reason, cause: a code without spaces, else a message
	roleMsg              // message, detail, description, title, ...: a message
	roleSummary          // error_summary: Dropbox's "path/conflict/file/.."
	roleStatus           // status: a code such as ABORTED, or an echo of the status
	roleID               // id: the code of an object whose type is "error" (Contentful's sys)
	roleField            // field, param, attribute, path, pointer: the field at issue
	roleFields           // fields: a list of fields
	roleVersion          // current_version, currentRevisionID, _rev
	roleState            // current_state, state
	roleAllowed          // allowed_transitions, allowedActions
	roleExistingID       // existing_id, existingResourceId, conflicting_resource_id
	roleExistingObj      // existing, conflictingResource, conflicts: an object with an id
	roleLocation         // existing_location, location
	roleRequestID        // request_id, traceId, correlationId, debug_id
	roleCurrent          // current, current_representation: the resource as it is now
	roleSkip             // links, documentation URLs: never read
)

// keyRoles maps squashed member names (see squash) to roles.
var keyRoles = map[string]role{
	"code": roleCode, "errorcode": roleCode, "errcode": roleCode, "statuscode": roleCode,
	"subcode": roleCode, "errorsubcode": roleCode, "reasoncode": roleCode, "faultcode": roleCode,
	"type": roleCode, "errortype": roleCode, "tag": roleCode, "issue": roleCode,
	"exception": roleCode, "exceptiontype": roleCode, "errorkey": roleCode, "errorname": roleCode,
	"error": roleCodeOrMsg, "reason": roleCodeOrMsg, "cause": roleCodeOrMsg, "errors": roleCodeOrMsg,
	"message": roleMsg, "msg": roleMsg, "detail": roleMsg, "details": roleMsg, "description": roleMsg,
	"title": roleMsg, "summary": roleMsg, "text": roleMsg, "data": roleMsg, "messages": roleMsg,
	"errorsummary": roleSummary,
	"status":       roleStatus, "statustext": roleStatus, "name": roleStatus,
	"id":    roleID,
	"field": roleField, "fieldname": roleField, "param": roleField, "parameter": roleField,
	"attribute": roleField, "property": roleField, "propertypath": roleField, "path": roleField,
	"pointer": roleField, "requestfield": roleField,
	"fields":         roleFields,
	"currentversion": roleVersion, "currentetag": roleVersion, "currentrevision": roleVersion,
	"currentrevisionid": roleVersion, "currentrev": roleVersion, "rev": roleVersion,
	"currentstate": roleState, "currentstatus": roleState, "state": roleState,
	"allowedtransitions": roleAllowed, "allowedactions": roleAllowed, "allowedstates": roleAllowed,
	"validtransitions": roleAllowed, "allowedstatuses": roleAllowed, "availabletransitions": roleAllowed,
	"existing": roleExistingObj, "existingresource": roleExistingObj, "conflictingresource": roleExistingObj,
	"conflicts": roleExistingObj, "conflicting": roleExistingObj,
	"existinglocation": roleLocation, "existingurl": roleLocation, "existinghref": roleLocation, "location": roleLocation,
	"requestid": roleRequestID, "traceid": roleRequestID, "correlationid": roleRequestID, "debugid": roleRequestID,
	"current": roleCurrent, "currentrepresentation": roleCurrent, "currentresource": roleCurrent,
	"documentationurl": roleSkip, "helpurl": roleSkip, "moreinfo": roleSkip, "docurl": roleSkip,
	"informationlink": roleSkip, "errorlink": roleSkip, "info": roleSkip, "url": roleSkip, "instance": roleSkip,
}

// envelopeKeys name containers, not fields: a value under them is not
// about a field of that name.
var envelopeKeys = map[string]bool{
	"error": true, "errors": true, "data": true, "details": true, "detail": true, "extensions": true,
	"meta": true, "fault": true, "cause": true, "causes": true, "contextinfo": true, "rootcause": true,
	"invalid": true, "invalidfields": true, "fielderrors": true, "validationerrors": true, "violations": true,
	"messages": true, "message": true, "errorcauses": true, "items": true, "body": true, "response": true,
	"result": true, "innererror": true, "rules": true, "metadata": true, "failures": true, "problems": true,
	"issues": true, "reason": true, "path": true, "sys": true, "oerrordetails": true, "errordetails": true,
	"cancellationreasons": true, "source": true,
}

// keyRole returns the role of a member name.
func keyRole(key string) role {
	var buf [32]byte
	sq := appendSquash(buf[:0], key)
	if len(sq) > len(buf) {
		return roleNone
	}
	if r, ok := keyRoles[string(sq)]; ok {
		return r
	}
	switch {
	case (bytes.HasPrefix(sq, []byte("existing")) || bytes.HasPrefix(sq, []byte("conflicting"))) && bytes.HasSuffix(sq, []byte("id")):
		return roleExistingID
	case bytes.HasSuffix(sq, []byte("errorcode")):
		return roleCode
	case bytes.Contains(sq, []byte("message")), bytes.HasSuffix(sq, []byte("msg")),
		bytes.HasSuffix(sq, []byte("description")), bytes.Contains(sq, []byte("detail")):
		return roleMsg
	case bytes.HasSuffix(sq, []byte("requestid")):
		return roleRequestID
	}
	return roleNone
}

// isEnvelope reports whether a member name names a container of errors
// rather than a field.
func isEnvelope(key string) bool {
	var buf [32]byte
	sq := appendSquash(buf[:0], key)
	if len(sq) > len(buf) {
		return false
	}
	return envelopeKeys[string(sq)] || bytes.Contains(sq, []byte("error"))
}

// errorish reports whether a member name makes what is under it error
// information, so that a field-keyed map ({"email": ["is taken"]}) is read.
func errorish(key string) bool {
	var buf [32]byte
	k := appendSquash(buf[:0], key)
	for _, w := range errorishWords {
		if containsString(k, w) {
			return true
		}
	}
	return false
}

var errorishWords = []string{"error", "invalid", "detail", "violation", "fault", "data", "cause", "issue", "message", "failure", "problem", "reason"}

// asciiEqualFold is strings.EqualFold for ASCII, without decoding runes.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// A cand is one candidate code or message found in a reply.
type cand struct {
	text  string  // the code or message as sent
	v     verdict // what it says
	field string  // the field it is about, when the reply says
	depth int     // nesting depth; 0 for headers and dialect priors
	rank  int8    // for messages: how message-like its key is, lower is better
	short bool    // a short message read as a code ("Member Exists")
	// fromMsg marks a code read from a message key ("message":
	// "EMAIL_EXISTS"): it may decide, but is not reported as the reason
	// unless it does.
	fromMsg bool
}

// evidence is what the walk found.
type evidence struct {
	codes []cand
	msgs  []cand

	field          string
	existingID     string
	existingLoc    string
	currentVersion string
	currentState   string
	requestID      string
	allowed        []string
	allowedSet     bool
	current        *jsonv.Value
	idem           bool // some code is about an idempotency key
}

type walker struct {
	ev     *evidence
	req    *http.Request
	status int
	echo   string // the status text, squashed: "conflict" for 409
	nodes  int
	lower  []byte // scratch for lowercased messages
	code   [maxCodeLen]byte
}

func newWalker(ev *evidence, status int, req *http.Request) *walker {
	return &walker{ev: ev, req: req, status: status, echo: squash(http.StatusText(status))}
}

// walk reads the body's parsed JSON.
func (w *walker) walk(root *jsonv.Value) {
	switch root.Kind {
	case jsonv.Object:
		w.object(root, 1, false, "")
	case jsonv.Array:
		// A top-level array in an error reply is a list of errors.
		w.array(root, "", 1, true, "", roleMsg)
	}
}

func (w *walker) object(v *jsonv.Value, depth int, errCtx bool, field string) {
	if depth > walkMaxDepth {
		return
	}
	// First the members that qualify the others: the field an error is
	// about, and whether this object is an error (Contentful's
	// "sys":{"type":"Error","id":"VersionMismatch"}).
	errType := false
	var rolesBuf [32]role
	roles := rolesBuf[:0]
	for i := range v.Kids {
		m := &v.Kids[i]
		r := keyRole(m.Key)
		if i < len(rolesBuf) {
			roles = append(roles, r)
		}
		switch r {
		case roleField:
			if f := fieldName(&m.Value); f != "" {
				field = f
			}
		case roleCode:
			if m.Value.Kind == jsonv.String && asciiEqualFold(m.Key, "type") && asciiEqualFold(string(bytes.Trim(m.Value.Raw, `"`)), "error") {
				errType = true
			}
		}
	}
	for i := range v.Kids {
		if w.nodes++; w.nodes > walkMaxNodes {
			return
		}
		m := &v.Kids[i]
		var r role
		if i < len(roles) {
			r = roles[i]
		} else {
			r = keyRole(m.Key)
		}
		val := &m.Value
		switch val.Kind {
		case jsonv.Object, jsonv.Array:
			w.container(m.Key, r, val, depth, errCtx, field)
		case jsonv.String, jsonv.Number:
			w.scalar(m.Key, r, val, depth, errCtx, field, errType)
		}
	}
}

func (w *walker) container(key string, r role, val *jsonv.Value, depth int, errCtx bool, field string) {
	ev := w.ev
	switch r {
	case roleSkip:
		return
	case roleCurrent:
		if val.Kind == jsonv.Object && ev.current == nil {
			ev.current = val
		}
		return // the resource, not error information
	case roleAllowed:
		if list, ok := jsonStrings(val); ok && !ev.allowedSet {
			ev.allowed, ev.allowedSet = list, true
		}
		return
	case roleExistingObj:
		o := jsonObject(val)
		if a := jsonArray(val); len(a) > 0 {
			o = jsonObject(&a[0].Value)
		}
		if id := jsonString(o.Get("id")); id != "" && ev.existingID == "" {
			ev.existingID = id
		}
		return
	case roleFields:
		if a := jsonArray(val); len(a) > 0 && ev.field == "" {
			ev.field = jsonString(&a[0].Value)
		}
		return
	case roleField:
		return // read by the enclosing object
	}
	childField := field
	if r == roleNone && !isEnvelope(key) {
		childField = key // a field-keyed map: {"email": [...]}
	}
	childErr := errCtx || errorish(key)
	if val.Kind == jsonv.Object {
		w.object(val, depth+1, childErr, childField)
	} else {
		w.array(val, key, depth+1, childErr, childField, r)
	}
}

func (w *walker) array(v *jsonv.Value, key string, depth int, errCtx bool, field string, r role) {
	if depth > walkMaxDepth {
		return
	}
	for i := range v.Kids {
		if w.nodes++; w.nodes > walkMaxNodes {
			return
		}
		el := &v.Kids[i].Value
		switch el.Kind {
		case jsonv.Object:
			w.object(el, depth+1, errCtx, field)
		case jsonv.Array:
			w.array(el, key, depth+1, errCtx, field, r)
		case jsonv.String:
			// A list of messages: {"errors":["..."]}, {"email":["..."]}.
			// Its elements are never read as codes: ["version_conflict"]
			// says too little about where it came from.
			if errCtx || r == roleMsg || r == roleCodeOrMsg {
				w.message(jsonString(el), depth, field, 1)
			}
		}
	}
}

func (w *walker) scalar(key string, r role, val *jsonv.Value, depth int, errCtx bool, field string, errType bool) {
	ev := w.ev
	if val.Kind == jsonv.Number {
		switch r {
		case roleCode, roleCodeOrMsg:
			if n := string(val.Raw); n != strconv.Itoa(w.status) {
				w.addCode(n, depth, field)
			}
		case roleVersion:
			if ev.currentVersion == "" {
				ev.currentVersion = string(val.Raw)
			}
		case roleExistingID:
			if ev.existingID == "" {
				ev.existingID = string(val.Raw)
			}
		}
		return
	}
	switch r {
	case roleCode:
		w.addCode(jsonString(val), depth, field)
	case roleCodeOrMsg, roleStatus, roleMsg:
		s := jsonString(val)
		if s == "" || w.isEcho(s) {
			return
		}
		if r == roleStatus && squash(key) == "name" && !errCtx {
			return // a name at the top is a resource's
		}
		if strings.IndexFunc(s, isSpace) < 0 {
			if r != roleStatus || !isNumeric(s) {
				if c := w.addCode(s, depth, field); c != nil && r == roleMsg {
					c.fromMsg = true // "EMAIL_EXISTS", "validation.unique"
				}
			}
			if r == roleMsg {
				w.message(s, depth, field, msgRank(key))
			}
			return
		}
		if r != roleStatus {
			w.message(s, depth, field, msgRank(key))
		}
	case roleSummary:
		s := jsonString(val)
		if strings.IndexFunc(s, isSpace) >= 0 {
			w.message(s, depth, field, 2)
			return
		}
		// Dropbox: "path/conflict/file/..": every segment is a code.
		for _, seg := range strings.Split(s, "/") {
			if seg != "" && seg != "." && seg != ".." {
				w.addCode(seg, depth, field)
			}
		}
	case roleID:
		if errType {
			w.addCode(jsonString(val), depth, field)
		}
	case roleVersion:
		if ev.currentVersion == "" {
			ev.currentVersion = jsonString(val)
		}
	case roleState:
		if ev.currentState == "" {
			ev.currentState = jsonString(val)
		}
	case roleExistingID:
		if ev.existingID == "" {
			ev.existingID = jsonString(val)
		}
	case roleLocation:
		if ev.existingLoc == "" && depth <= 2 {
			ev.existingLoc = jsonString(val)
		}
	case roleRequestID:
		if ev.requestID == "" {
			ev.requestID = jsonString(val)
		}
	case roleField:
		if ev.field == "" {
			ev.field = fieldName(val)
		}
	case roleNone:
		// A field-keyed validation map: {"email": "has already been taken"}.
		if errCtx {
			f := field
			if !isEnvelope(key) {
				f = key
			}
			w.message(jsonString(val), depth, f, 4)
		}
	}
}
