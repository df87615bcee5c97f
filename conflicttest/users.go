package conflicttest

import (
	"fmt"
	"net/http"
	"strconv"
)

// user is a resource whose email is unique.
type user struct {
	ID             string `json:"id"`
	Email          string `json:"email"`
	Name           string `json:"name"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// createUser creates a user; a taken email is a duplicate conflict naming
// the existing user.
func (s *Server) createUser(c *call) *reply {
	obj, ok := decodeObject(c.body)
	if !ok {
		return s.fail(c, kindBadRequest, http.StatusBadRequest, "the body must be a JSON object")
	}
	email, ok := obj["email"].(string)
	if !ok || email == "" {
		return s.fail(c, kindBadRequest, http.StatusBadRequest, `"email" must be a non-empty string`)
	}
	name, ok := obj["name"].(string)
	if !ok && obj["name"] != nil {
		return s.fail(c, kindBadRequest, http.StatusBadRequest, `"name" must be a string`)
	}
	if u := s.userByMail[email]; u != nil {
		detail := fmt.Sprintf("a user with email %q already exists", email)
		if s.cfg.existingID {
			detail += ": " + u.ID
		}
		return s.render(c, &apiError{kind: kindDuplicate, status: http.StatusConflict, collection: "users",
			field: "email", value: email, existingID: u.ID, detail: detail})
	}
	u := &user{ID: "u_" + strconv.Itoa(len(s.users)+1), Email: email, Name: name, IdempotencyKey: c.key}
	s.users = append(s.users, u)
	s.userByID[u.ID] = u
	s.userByMail[email] = u
	s.stats.Commits++
	s.stats.Creates[email]++
	return created("/users/"+u.ID, u)
}

func (s *Server) getUser(c *call) *reply {
	id := c.r.PathValue("id")
	u := s.userByID[id]
	if u == nil {
		return s.notFound(c, "users", id)
	}
	return jsonReply(http.StatusOK, "application/json", u)
}

// listUsers returns {"items":[...]}: every user, or with ?email=x the one
// with that exact email (or none).
func (s *Server) listUsers(c *call) *reply {
	items := []*user{}
	q := c.r.URL.Query()
	if q.Has("email") {
		if u := s.userByMail[q.Get("email")]; u != nil {
			items = append(items, u)
		}
	} else {
		items = append(items, s.users...)
	}
	return jsonReply(http.StatusOK, "application/json", map[string]any{"items": items})
}

// created is a 201 reply with a Location header.
func created(location string, v any) *reply {
	rep := jsonReply(http.StatusCreated, "application/json", v)
	rep.header.Set("Location", location)
	return rep
}
