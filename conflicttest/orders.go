package conflicttest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// order is a resource with a state machine:
//
//	pending --pay--> paid --ship--> shipped --deliver--> delivered
//	pending, paid --cancel--> cancelled
type order struct {
	ID                 string   `json:"id"`
	Item               string   `json:"item"`
	State              string   `json:"state"`
	AllowedTransitions []string `json:"allowed_transitions"`
	IdempotencyKey     string   `json:"idempotency_key,omitempty"`
}

// actions lists every action in a fixed order; transitions maps a state
// and an action to the next state.
var (
	actions     = []string{"pay", "ship", "deliver", "cancel"}
	transitions = map[string]map[string]string{
		"pending": {"pay": "paid", "cancel": "cancelled"},
		"paid":    {"ship": "shipped", "cancel": "cancelled"},
		"shipped": {"deliver": "delivered"},
	}
)

// allowedActions lists the actions allowed in state, in the order of
// actions; it is never nil.
func allowedActions(state string) []string {
	out := []string{}
	for _, a := range actions {
		if _, ok := transitions[state][a]; ok {
			out = append(out, a)
		}
	}
	return out
}

// view returns a copy of o with its allowed actions filled in.
func (o *order) view() *order {
	v := *o
	v.AllowedTransitions = allowedActions(o.State)
	return &v
}

func (s *Server) createOrder(c *call) *reply {
	obj, ok := decodeObject(c.body)
	if !ok {
		return s.fail(c, kindBadRequest, http.StatusBadRequest, "the body must be a JSON object")
	}
	item, ok := obj["item"].(string)
	if !ok || item == "" {
		return s.fail(c, kindBadRequest, http.StatusBadRequest, `"item" must be a non-empty string`)
	}
	o := &order{ID: "o_" + strconv.Itoa(len(s.orders)+1), Item: item, State: "pending", IdempotencyKey: c.key}
	s.orders[o.ID] = o
	s.stats.Commits++
	if c.key != "" {
		s.stats.Creates["key:"+c.key]++
	}
	return created("/orders/"+o.ID, o.view())
}

func (s *Server) getOrder(c *call) *reply {
	id := c.r.PathValue("id")
	o := s.orders[id]
	if o == nil {
		return s.notFound(c, "orders", id)
	}
	return jsonReply(http.StatusOK, "application/json", o.view())
}

// transitionOrder applies an action; one the current state does not allow
// is an invalid-transition conflict carrying the state and allowed actions.
func (s *Server) transitionOrder(c *call) *reply {
	id, action := c.r.PathValue("id"), c.r.PathValue("action")
	known := false
	for _, a := range actions {
		known = known || a == action
	}
	if !known {
		return s.fail(c, kindBadRequest, http.StatusBadRequest,
			fmt.Sprintf("unknown action %q; want one of %s", action, strings.Join(actions, ", ")))
	}
	o := s.orders[id]
	if o == nil {
		return s.notFound(c, "orders", id)
	}
	next, ok := transitions[o.State][action]
	if !ok {
		allowed := allowedActions(o.State)
		detail := fmt.Sprintf("cannot %s order %q in state %q", action, id, o.State)
		if len(allowed) > 0 {
			detail += "; allowed actions: " + strings.Join(allowed, ", ")
		} else {
			detail += "; no action is allowed"
		}
		return s.render(c, &apiError{kind: kindTransition, status: http.StatusConflict, collection: "orders", id: id,
			field: "state", state: o.State, action: action, allowed: allowed, detail: detail})
	}
	o.State = next
	s.stats.Commits++
	return jsonReply(http.StatusOK, "application/json", o.view())
}
