package konnecttest

import (
	"net/http"

	"github.com/kvsync/kvsync/pkg/konnect/kong"
)

// Consumer group memberships are served from both sides:
// /consumer_groups/{group}/consumers[/{consumer}] and
// /consumers/{consumer}/consumer_groups[/{group}].

// side is one direction of the membership routes.
type side struct {
	self, other *kind
	// bodyField names the other entity in a POST body ("consumer" or
	// "group"); otherKey is the wrapper key of the answer's list.
	bodyField, selfKey, otherKey string
}

var (
	groupSide    = side{bodyField: "consumer", selfKey: "consumer_group", otherKey: "consumers"}
	consumerSide = side{bodyField: "group", selfKey: "consumer", otherKey: "consumer_groups"}
)

func init() {
	groupSide.self, groupSide.other = kinds["consumer_groups"], kinds["consumers"]
	consumerSide.self, consumerSide.other = kinds["consumers"], kinds["consumer_groups"]
}

func (s side) pair(selfID, otherID string) member {
	if s.self.name == "consumer_groups" {
		return member{Group: selfID, Consumer: otherID}
	}
	return member{Group: otherID, Consumer: selfID}
}

// related lists the other side's entities linked to selfID, in their
// creation order.
func (s side) related(cp *controlPlane, selfID string) []any {
	out := []any{}
	for _, en := range cp.Entities[s.other.name] {
		if cp.isMember(s.pair(selfID, str(en.Obj["id"]))) {
			out = append(out, en.Obj)
		}
	}
	return out
}

func (cp *controlPlane) isMember(m member) bool {
	for _, x := range cp.Members {
		if x == m {
			return true
		}
	}
	return false
}

// withSelf runs fn under the lock with the control plane and the id of
// the entity on this side (by id or endpoint key), answering 404 for
// either.
func (e *Emulator) withSelf(w http.ResponseWriter, s side, cpID, selfRef string, fn func(cp *controlPlane, selfID string)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cp := e.cpForEntities(w, cpID)
	if cp == nil {
		return
	}
	i := findEntity(cp, s.self, selfRef, nil)
	if i < 0 {
		kokoNotFound(w)
		return
	}
	fn(cp, str(cp.Entities[s.self.name][i].Obj["id"]))
}

func (e *Emulator) listMembers(w http.ResponseWriter, r *http.Request, s side, cpID, selfRef string) {
	e.withSelf(w, s, cpID, selfRef, func(cp *controlPlane, selfID string) {
		writePage(w, r, cp.Entities[s.other.name], func(obj map[string]any) bool {
			return cp.isMember(s.pair(selfID, str(obj["id"])))
		})
	})
}

func (e *Emulator) addMember(w http.ResponseWriter, r *http.Request, s side, cpID, selfRef string) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	e.withSelf(w, s, cpID, selfRef, func(cp *controlPlane, selfID string) {
		ref := str(body[s.bodyField])
		i := findEntity(cp, s.other, ref, nil)
		if ref == "" || i < 0 {
			validationError(w, []kong.FieldError{{Path: s.bodyField, Message: "expected the id or name of an existing entity"}})
			return
		}
		m := s.pair(selfID, str(cp.Entities[s.other.name][i].Obj["id"]))
		if !cp.isMember(m) {
			cp.Members = append(cp.Members, m)
			e.persist()
		}
		self := cp.Entities[s.self.name][findEntity(cp, s.self, selfID, nil)].Obj
		writeJSON(w, http.StatusCreated, "application/json", map[string]any{
			s.selfKey: self, s.otherKey: s.related(cp, selfID),
		})
	})
}

// removeMembers deletes one membership (otherRef set) or all of self's.
func (e *Emulator) removeMembers(w http.ResponseWriter, r *http.Request, s side, cpID, selfRef, otherRef string) {
	e.withSelf(w, s, cpID, selfRef, func(cp *controlPlane, selfID string) {
		otherID := ""
		if otherRef != "" {
			i := findEntity(cp, s.other, otherRef, nil)
			if i < 0 {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			otherID = str(cp.Entities[s.other.name][i].Obj["id"])
		}
		var kept []member
		for _, m := range cp.Members {
			mine := m == s.pair(selfID, otherID) || (otherID == "" && (m.Group == selfID || m.Consumer == selfID))
			if !mine {
				kept = append(kept, m)
			}
		}
		cp.Members = kept
		e.persist()
		w.WriteHeader(http.StatusNoContent)
	})
}

// consumerGroupView is GET /consumer_groups/{id}: the spec's
// ConsumerGroupInsideWrapper ({"consumer_group": ...}), with "consumers"
// unless list_consumers=false, as go-kong and decK read it. The group's own
// fields are repeated at the top level for clients that read the group
// directly (kvsync's pkg/konnect today); the wrapper schema allows it.
func consumerGroupView(cp *controlPlane, obj map[string]any, listConsumers bool) map[string]any {
	out := make(map[string]any, len(obj)+2)
	for k, v := range obj {
		out[k] = v
	}
	out["consumer_group"] = obj
	if listConsumers {
		out["consumers"] = groupSide.related(cp, str(obj["id"]))
	}
	return out
}

// partialLinks is GET /partials/{id}/links: the plugins using the partial.
func (e *Emulator) partialLinks(w http.ResponseWriter, r *http.Request, cpID, ref string) {
	e.withSelf(w, side{self: kinds["partials"]}, cpID, ref, func(cp *controlPlane, id string) {
		writeJSON(w, http.StatusOK, "application/json", map[string]any{"data": partialLinksOf(cp, id)})
	})
}

func partialLinksOf(cp *controlPlane, id string) []any {
	data := []any{}
	for _, p := range cp.Entities["plugins"] {
		list, _ := p.Obj["partials"].([]any)
		for _, l := range list {
			if m, _ := l.(map[string]any); str(m["id"]) == id {
				link := map[string]any{"id": p.Obj["id"], "name": p.Obj["name"]}
				if n, ok := p.Obj["instance_name"].(string); ok {
					link["instance_name"] = n
				}
				data = append(data, link)
				break
			}
		}
	}
	return data
}
