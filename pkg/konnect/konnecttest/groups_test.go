package konnecttest

import (
	"net/http"
	"testing"
)

func TestControlPlaneGroups(t *testing.T) {
	a := newAPI(t, Options{})
	group := a.do(http.MethodPost, "/v2/control-planes", map[string]any{"name": "group-1", "cluster_type": "CLUSTER_TYPE_CONTROL_PLANE_GROUP"}).json(t)["id"].(string)
	var members []string
	for _, n := range []string{"m1", "m2", "m3"} {
		members = append(members, a.srv.AddControlPlane(n))
	}
	base := "/v2/control-planes/" + group + "/group-memberships"
	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   any
		status int
	}{
		{"add two members", http.MethodPost, base + "/add", map[string]any{"members": []any{map[string]any{"id": members[0]}, map[string]any{"id": members[1]}}}, http.StatusNoContent},
		{"add again: idempotent", http.MethodPost, base + "/add", map[string]any{"members": []any{map[string]any{"id": members[0]}}}, http.StatusNoContent},
		{"a group is no member", http.MethodPost, base + "/add", map[string]any{"members": []any{map[string]any{"id": group}}}, http.StatusBadRequest},
		{"an unknown member", http.MethodPost, base + "/add", map[string]any{"members": []any{map[string]any{"id": "00000000-0000-0000-0000-000000000000"}}}, http.StatusBadRequest},
		{"no members", http.MethodPost, base + "/add", map[string]any{}, http.StatusBadRequest},
		{"members of a standard control plane", http.MethodGet, "/v2/control-planes/" + members[2] + "/group-memberships", nil, http.StatusBadRequest},
		{"the group's config stores are read-only", http.MethodPost, "/v2/control-planes/" + group + "/config-stores", map[string]any{"name": "s"}, http.StatusBadRequest},
		{"the group's core entities are read-only", http.MethodPost, "/v2/control-planes/" + group + "/core-entities/vaults", map[string]any{"name": "env", "prefix": "p"}, http.StatusBadRequest},
		{"the group's entities are readable", http.MethodGet, "/v2/control-planes/" + group + "/core-entities/vaults", nil, http.StatusOK},
		{"a member's are writable", http.MethodPost, "/v2/control-planes/" + members[0] + "/config-stores", map[string]any{"name": "s"}, http.StatusCreated},
	} {
		if got := a.do(tc.method, tc.path, tc.body).status; got != tc.status {
			t.Errorf("%s: %s %s answered %d, want %d", tc.name, tc.method, tc.path, got, tc.status)
		}
	}
	// One page of one member, then the next by its cursor.
	page := a.do(http.MethodGet, base+"?page[size]=1", nil).json(t)
	data := page["data"].([]any)
	meta := page["meta"].(map[string]any)["page"].(map[string]any)
	if len(data) != 1 || data[0].(map[string]any)["name"] != "m1" || meta["total"] != float64(2) || meta["next"] == nil {
		t.Fatalf("first page: %d members, meta %v", len(data), meta)
	}
	next := a.do(http.MethodGet, "/v2"+meta["next"].(string), nil).json(t)
	data = next["data"].([]any)
	if len(data) != 1 || data[0].(map[string]any)["name"] != "m2" || next["meta"].(map[string]any)["page"].(map[string]any)["next"] != nil {
		t.Fatalf("second page: %v", next["meta"])
	}
	// A control plane is a member of one group at most.
	other := a.do(http.MethodPost, "/v2/control-planes", map[string]any{"name": "group-2", "cluster_type": "CLUSTER_TYPE_CONTROL_PLANE_GROUP"}).json(t)["id"].(string)
	if got := a.do(http.MethodPost, "/v2/control-planes/"+other+"/group-memberships/add", map[string]any{"members": []any{map[string]any{"id": members[0]}}}).status; got != http.StatusBadRequest {
		t.Errorf("a member of two groups: %d, want 400", got)
	}
}
