package conflict

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// A dialect recognises one server family's way of spelling a conflict. match
// reports whether the body is in the dialect and, if so, fills in what it
// says. It sets Kind only where the dialect itself decides it; otherwise
// the reply's codes and messages decide (see decide in classify.go), the
// dialect's Reason and Message first among them.
type dialect struct {
	name  string
	match func(in *input, cf *Conflict) bool
}

// dialects are tried in order; the first that matches wins. Shapes with a
// distinctive marker come before looser ones. A body no dialect decides is
// read by the walk (walk.go) and the common vocabulary (vocabulary.go).
var dialects = []dialect{
	{"problem", matchProblem},
	{"kubernetes", matchKubernetes},
	{"commercetools", matchCommercetools},
	{"google", matchGoogle},
	{"gocardless", matchGoCardless},
	{"elasticsearch", matchElasticsearch},
	{"stripe", matchStripe},
	{"postgrest", matchPostgREST},
	{"twilio", matchTwilio},
	{"github", matchGitHub},
	{"couchdb", matchCouchDB},
	{"azure", matchAzureXML},
}

func mediaType(h http.Header) string {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt
}

// matchProblem recognises RFC 9457 problem details, in JSON or XML, by media
// type or by shape (a title or type with a numeric status). It reads the
// problem; the kind is decided from its type, code, title and detail like
// any other body's (see walk.go), or by the caller's Reasons.
func matchProblem(in *input, cf *Conflict) bool {
	mt := mediaType(in.header)
	if x := in.xml; x != nil && (mt == "application/problem+xml" || x.XMLName.Local == "problem") {
		status, _ := strconv.Atoi(strings.TrimSpace(x.Status))
		fillProblem(cf, &Problem{Type: x.Type, Title: x.Title, Detail: x.Detail, Instance: x.Instance, Status: status})
		return true
	}
	m := in.obj
	if m == nil {
		return false
	}
	if mt != "application/problem+json" {
		_, numeric := jsonNumber(m.Get("status"))
		if !numeric || (jsonString(m.Get("title")) == "" && jsonString(m.Get("type")) == "") {
			return false
		}
	}
	p := &Problem{
		Type:     jsonString(m.Get("type")),
		Title:    jsonString(m.Get("title")),
		Status:   jsonInt(m.Get("status")),
		Detail:   jsonString(m.Get("detail")),
		Instance: jsonString(m.Get("instance")),
	}
	for i := range m.Kids {
		k := &m.Kids[i]
		switch k.Key {
		case "type", "title", "status", "detail", "instance":
		default:
			if p.Extensions == nil {
				p.Extensions = make(map[string]json.RawMessage, len(m.Kids))
			}
			p.Extensions[k.Key] = bytes.Clone(k.Value.Raw)
		}
	}
	cf.Reason = first(m, "code", "reason", "error_code", "errorCode", "error")
	fillProblem(cf, p)
	return true
}

func fillProblem(cf *Conflict, p *Problem) {
	cf.Problem = p
	cf.Message = p.Detail
	if cf.Message == "" {
		cf.Message = p.Title
	}
}

// matchKubernetes recognises a Kubernetes Status object.
func matchKubernetes(in *input, cf *Conflict) bool {
	m := in.obj
	if jsonString(m.Get("kind")) != "Status" || jsonString(m.Get("status")) != "Failure" {
		return false
	}
	cf.Reason = jsonString(m.Get("reason"))
	cf.Message = jsonString(m.Get("message"))
	details := jsonObject(m.Get("details"))
	cf.ExistingID = jsonString(details.Get("name"))
	var causeKind Kind
	causes := jsonArray(details.Get("causes"))
	for i := range causes {
		co := jsonObject(&causes[i].Value)
		if cf.Field == "" {
			cf.Field = jsonString(co.Get("field"))
		}
		// A cause's type travels as "reason" on the wire.
		if k := kindOfReason(jsonString(co.Get("reason")), nil); k != Unknown && causeKind == Unknown {
			causeKind = k
		}
		if k := kindOfPhrase(jsonString(co.Get("message"))); k != Unknown && causeKind == Unknown && k != StaleVersion {
			causeKind = k
		}
	}
	switch cf.Reason {
	case "AlreadyExists":
		cf.Kind = Duplicate
	case "Conflict", "Invalid":
		// Kubernetes answers Conflict for optimistic-concurrency failures
		// ("the object has been modified") and for other races, which its
		// causes, when present, tell apart.
		if causeKind != Unknown {
			cf.Kind = causeKind
		} else if k := kindOfPhrase(cf.Message); k != Unknown && cf.Reason == "Conflict" {
			cf.Kind = k
		}
		in.final = true // "Conflict" alone says no more than the status
	}
	if cf.Kind != Duplicate {
		cf.ExistingID = ""
	}
	return true
}

// matchCouchDB recognises {"error":"conflict","reason":"Document update
// conflict."}. CouchDB says conflict for a stale _rev and for a create of an
// existing document alike; the request decides which.
func matchCouchDB(in *input, cf *Conflict) bool {
	m := in.obj
	errCode, reason := jsonString(m.Get("error")), jsonString(m.Get("reason"))
	if errCode == "" || reason == "" || len(m.Kids) > 3 {
		return false
	}
	cf.Reason = errCode
	cf.Message = reason
	switch errCode {
	case "file_exists":
		cf.Kind = Duplicate
	case "conflict":
		// CouchDB says "Document update conflict." for a stale _rev and
		// for a create that finds the document: only the request decides,
		// never the wording.
		cf.Kind = ambiguous(in.req)
		in.final = true
	}
	return true
}

// xmlError is the union of the XML error shapes: Azure Storage and S3
// (<Error><Code>..</Code>), and RFC 9457 problem+xml.
type xmlError struct {
	XMLName   xml.Name
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
	RequestID string `xml:"RequestId"`
	Type      string `xml:"type"`
	Title     string `xml:"title"`
	Status    string `xml:"status"`
	Detail    string `xml:"detail"`
	Instance  string `xml:"instance"`
	// WebDAV (SabreDAV): <d:error><s:exception>..</s:exception>
	// <s:message>..</s:message></d:error>.
	Exception  string `xml:"exception"`
	DAVMessage string `xml:"message"`
}

func parseXMLError(b []byte) *xmlError {
	var x xmlError
	if xml.Unmarshal(b, &x) != nil {
		return nil
	}
	return &x
}

// matchAzureXML recognises <Error><Code>..</Code></Error> (Azure Storage,
// S3), with or without the x-ms-error-code header.
func matchAzureXML(in *input, cf *Conflict) bool {
	x := in.xml
	if x == nil || x.XMLName.Local != "Error" || x.Code == "" {
		return false
	}
	cf.Reason = x.Code
	msg, _, _ := strings.Cut(x.Message, "\n")
	cf.Message = strings.TrimSpace(msg)
	cf.RequestID = x.RequestID
	return true
}

// matchHeaderCode takes the reason from a header when no dialect knew the
// body (Azure's x-ms-error-code, AWS's x-amzn-ErrorType; a HEAD reply has no
// body at all).
func matchHeaderCode(in *input, cf *Conflict) {
	if code := in.header.Get("X-Ms-Error-Code"); code != "" {
		cf.Reason = code
		cf.Dialect = "azure"
	} else if code := awsErrorType(in.header); code != "" {
		cf.Reason = code
		cf.Dialect = "aws"
	}
}

// awsErrorType reads x-amzn-ErrorType: "UsernameExistsException:" or
// "ValidationException:http://internal.amazon.com/...".
func awsErrorType(h http.Header) string {
	code, _, _ := strings.Cut(h.Get("X-Amzn-Errortype"), ":")
	return strings.TrimSpace(code)
}
