package conflicttest

import (
	"fmt"
	"net/http"
	"strconv"
)

// category is a node of a tree: its parent must exist, and no category may
// be its own ancestor.
type category struct {
	ID             string  `json:"id"`
	Name           string  `json:"name"`
	Parent         *string `json:"parent"`
	IdempotencyKey string  `json:"idempotency_key,omitempty"`
}

// categoryInput decodes {"name": "...", "parent": "c_1" | null}.
func (s *Server) categoryInput(c *call) (name string, parent *string, rep *reply) {
	obj, ok := decodeObject(c.body)
	if !ok {
		return "", nil, s.fail(c, kindBadRequest, http.StatusBadRequest, "the body must be a JSON object")
	}
	name, ok = obj["name"].(string)
	if !ok || name == "" {
		return "", nil, s.fail(c, kindBadRequest, http.StatusBadRequest, `"name" must be a non-empty string`)
	}
	switch p := obj["parent"].(type) {
	case nil:
	case string:
		parent = &p
	default:
		return "", nil, s.fail(c, kindBadRequest, http.StatusBadRequest, `"parent" must be a category id or null`)
	}
	return name, parent, nil
}

// missingParent renders the dependency conflict for a parent that does not
// exist.
func (s *Server) missingParent(c *call, id, parent string) *reply {
	return s.render(c, &apiError{kind: kindDependency, status: http.StatusConflict, collection: "categories", id: id,
		field: "parent", value: parent, detail: fmt.Sprintf("parent category %q does not exist", parent)})
}

func (s *Server) createCategory(c *call) *reply {
	name, parent, rep := s.categoryInput(c)
	if rep != nil {
		return rep
	}
	if parent != nil && s.categories[*parent] == nil {
		return s.missingParent(c, "", *parent)
	}
	cat := &category{ID: "c_" + strconv.Itoa(len(s.categories)+1), Name: name, Parent: parent, IdempotencyKey: c.key}
	s.categories[cat.ID] = cat
	s.stats.Commits++
	if c.key != "" {
		s.stats.Creates["key:"+c.key]++
	}
	return created("/categories/"+cat.ID, cat)
}

func (s *Server) getCategory(c *call) *reply {
	id := c.r.PathValue("id")
	cat := s.categories[id]
	if cat == nil {
		return s.notFound(c, "categories", id)
	}
	return jsonReply(http.StatusOK, "application/json", cat)
}

// putCategory replaces a category's name and parent; a parent that would
// make the category its own ancestor is a circular-reference conflict.
func (s *Server) putCategory(c *call) *reply {
	id := c.r.PathValue("id")
	cat := s.categories[id]
	if cat == nil {
		return s.notFound(c, "categories", id)
	}
	name, parent, rep := s.categoryInput(c)
	if rep != nil {
		return rep
	}
	if parent != nil {
		if s.categories[*parent] == nil {
			return s.missingParent(c, id, *parent)
		}
		for p := parent; p != nil; p = s.categories[*p].Parent {
			if *p == id {
				return s.render(c, &apiError{kind: kindDependency, status: http.StatusConflict, collection: "categories",
					id: id, field: "parent", value: *parent, cycle: true,
					detail: fmt.Sprintf("making %q the parent of %q would create a circular reference", *parent, id)})
			}
		}
	}
	cat.Name, cat.Parent = name, parent
	s.stats.Commits++
	return jsonReply(http.StatusOK, "application/json", cat)
}
