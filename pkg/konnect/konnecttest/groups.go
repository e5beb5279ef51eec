package konnecttest

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"

	"github.com/kvsync/kvsync/pkg/konnect"
)

// Control plane groups (control-planes v2, "Control Plane Groups"): a
// control plane of cluster_type CLUSTER_TYPE_CONTROL_PLANE_GROUP is a
// read-only control plane combining its members' configuration. Its
// members are standard control planes, each in at most one group. The
// emulator serves the memberships and refuses writes to a group's
// entities.

const groupClusterType = konnect.ClusterTypeGroup

func (cp *controlPlane) isGroup() bool { return cp.ClusterType == groupClusterType }

// groupOf returns the group a control plane belongs to, or nil. Callers
// hold e.mu.
func (st *state) groupOf(id string) *controlPlane {
	for _, g := range st.ControlPlanes {
		if g.isGroup() && slices.Contains(g.GroupMembers, id) {
			return g
		}
	}
	return nil
}

// readOnlyGroup answers a write to a group's config stores or core
// entities: the group's configuration comes from its members.
func (e *Emulator) readOnlyGroup(cpID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	cp := e.st.controlPlane(cpID)
	return cp != nil && cp.isGroup()
}

func groupIsReadOnly(w http.ResponseWriter, r *http.Request) {
	writeProblem(w, http.StatusBadRequest, "Bad Request",
		"This control plane is a control plane group: it is read-only, its configuration comes from its member control planes.")
}

// groupOrProblem returns the control plane group id, or answers 404 (no
// such control plane) or 400 (not a group) and returns nil. Callers hold
// e.mu.
func (e *Emulator) groupOrProblem(w http.ResponseWriter, id string) *controlPlane {
	g := e.st.controlPlane(id)
	switch {
	case g == nil:
		notFoundProblem(w, "The requested control plane was not found.")
		return nil
	case !g.isGroup():
		writeProblem(w, http.StatusBadRequest, "Bad Request", "The control plane is not a control plane group.")
		return nil
	}
	return g
}

// listGroupMemberships is GET /v2/control-planes/{id}/group-memberships,
// cursor-paginated (page[size] up to 100, page[after]).
func (e *Emulator) listGroupMemberships(w http.ResponseWriter, r *http.Request, id string) {
	size, ok := pageSize(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.groupOrProblem(w, id)
	if g == nil {
		return
	}
	start := 0
	if after := r.URL.Query().Get("page[after]"); after != "" {
		raw, err := base64.RawURLEncoding.DecodeString(after)
		n, nerr := strconv.Atoi(string(raw))
		if err != nil || nerr != nil || n < 0 {
			badRequest(w, invalidParam{Field: "page[after]", Rule: "invalid", Source: "query", Reason: "is not a valid cursor"})
			return
		}
		start = n
	}
	data := []any{}
	for i := start; i < len(g.GroupMembers) && i < start+size; i++ {
		if m := e.st.controlPlane(g.GroupMembers[i]); m != nil {
			data = append(data, m.view())
		}
	}
	page := map[string]any{"size": size, "total": len(g.GroupMembers), "next": nil}
	if start+size < len(g.GroupMembers) {
		page["next"] = "/control-planes/" + g.ID + "/group-memberships?page[after]=" + base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(start+size)))
	}
	writeJSON(w, http.StatusOK, "application/json", map[string]any{"data": data, "meta": map[string]any{"page": page}})
}

// addGroupMembers is POST /v2/control-planes/{id}/group-memberships/add
// ({"members": [{"id": …}]}): 204, or 400 when a member is unknown, a
// group, or already in another group.
func (e *Emulator) addGroupMembers(w http.ResponseWriter, r *http.Request, id string) {
	body, ok := readControlPlaneBody(w, r)
	if !ok {
		return
	}
	var ids []string
	members, _ := body["members"].([]any)
	for _, m := range members {
		obj, _ := m.(map[string]any)
		mid, _ := obj["id"].(string)
		ids = append(ids, mid)
	}
	if len(ids) == 0 {
		badRequest(w, invalidParam{Field: "members", Rule: "required", Source: "body", Reason: "is a required field"})
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.groupOrProblem(w, id)
	if g == nil {
		return
	}
	for i, mid := range ids {
		m := e.st.controlPlane(mid)
		field := "members[" + strconv.Itoa(i) + "].id"
		switch {
		case m == nil:
			badRequest(w, invalidParam{Field: field, Rule: "invalid", Source: "body", Reason: "control plane not found"})
			return
		case m.isGroup():
			badRequest(w, invalidParam{Field: field, Rule: "invalid", Source: "body", Reason: "a control plane group cannot be a member"})
			return
		}
		if other := e.st.groupOf(mid); other != nil && other != g {
			badRequest(w, invalidParam{Field: field, Rule: "invalid", Source: "body", Reason: "the control plane is already a member of another group"})
			return
		}
	}
	for _, mid := range ids {
		if !slices.Contains(g.GroupMembers, mid) {
			g.GroupMembers = append(g.GroupMembers, mid)
		}
	}
	e.persist()
	w.WriteHeader(http.StatusNoContent)
}

// AddControlPlaneGroup creates a control plane group directly (no HTTP)
// with the named control planes as members (created when missing), and
// returns its id.
func (e *Emulator) AddControlPlaneGroup(name string, members ...string) string {
	var ids []string
	for _, m := range members {
		ids = append(ids, e.AddControlPlane(m))
	}
	id := e.AddControlPlane(name)
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.st.controlPlane(id)
	g.ClusterType = groupClusterType
	for _, mid := range ids {
		if !slices.Contains(g.GroupMembers, mid) {
			g.GroupMembers = append(g.GroupMembers, mid)
		}
	}
	e.persist()
	return id
}
