package konnecttest

import (
	"net/http"
	"strings"
)

// corePattern is one path under …/core-entities: literal segments, with ""
// for a path parameter, the spec's template, and the handlers by method
// given the control plane id and the parameters in path order.
type corePattern struct {
	segs     []string
	template string
	build    func(e *Emulator, cpID string, params []string) handlers
}

var corePatterns []corePattern

func init() {
	corePatterns = append(specialPatterns(), kindPatterns()...)
}

func split(path string) []string { return strings.Split(path, "/") }

// kindPatterns serves every kind of the table: its collection and item, and
// the same under each parent it nests in.
func kindPatterns() []corePattern {
	var out []corePattern
	for _, k := range kindTable {
		k := k
		coll := corePattern{segs: split(k.name), template: "/" + k.name,
			build: func(e *Emulator, cp string, p []string) handlers {
				q := coreReq{cpID: cp, k: k}
				h := handlers{http.MethodGet: func(w http.ResponseWriter, r *http.Request) { e.listEntities(w, r, q) }}
				if !k.readOnly {
					h[http.MethodPost] = func(w http.ResponseWriter, r *http.Request) { e.createEntity(w, r, q) }
				}
				return h
			}}
		out = append(out, coll)
		if !k.noItem {
			out = append(out, corePattern{segs: append(split(k.name), ""), template: "/" + k.name + "/{" + k.idParam + "}",
				build: func(e *Emulator, cp string, p []string) handlers {
					return itemHandlers(e, coreReq{cpID: cp, k: k}, p[0], !k.readOnly)
				}})
		}
		for _, n := range k.nested {
			n := n
			segs := append(append(split(n.parent), ""), split(n.path)...)
			t := "/" + n.parent + "/{" + n.parentParam + "}/" + n.path
			out = append(out, corePattern{segs: segs, template: t,
				build: func(e *Emulator, cp string, p []string) handlers {
					q := coreReq{cpID: cp, k: k, n: &n, parentRef: p[0]}
					return handlers{
						http.MethodGet:  func(w http.ResponseWriter, r *http.Request) { e.listEntities(w, r, q) },
						http.MethodPost: func(w http.ResponseWriter, r *http.Request) { e.createEntity(w, r, q) },
					}
				}})
			out = append(out, corePattern{segs: append(segs, ""), template: t + "/{" + k.idParam + "}",
				build: func(e *Emulator, cp string, p []string) handlers {
					return itemHandlers(e, coreReq{cpID: cp, k: k, n: &n, parentRef: p[0]}, p[1], true)
				}})
		}
	}
	return out
}

// itemHandlers serve one entity: GET, and PUT, PATCH and DELETE when
// writable.
func itemHandlers(e *Emulator, q coreReq, ref string, writable bool) handlers {
	h := handlers{http.MethodGet: func(w http.ResponseWriter, r *http.Request) { e.getEntity(w, r, q, ref) }}
	if writable {
		h[http.MethodPut] = func(w http.ResponseWriter, r *http.Request) { e.upsertEntity(w, r, q, ref) }
		h[http.MethodPatch] = func(w http.ResponseWriter, r *http.Request) { e.patchEntity(w, r, q, ref) }
		h[http.MethodDelete] = func(w http.ResponseWriter, r *http.Request) { e.deleteEntity(w, r, q, ref) }
	}
	return h
}

// membershipPatterns serve one side of consumer group memberships.
func membershipPatterns(s side, selfParam, otherParam string) []corePattern {
	base := "/" + s.self.name + "/{" + selfParam + "}/" + s.other.name
	return []corePattern{
		{segs: []string{s.self.name, "", s.other.name}, template: base,
			build: func(e *Emulator, cp string, p []string) handlers {
				return handlers{
					http.MethodGet:    func(w http.ResponseWriter, r *http.Request) { e.listMembers(w, r, s, cp, p[0]) },
					http.MethodPost:   func(w http.ResponseWriter, r *http.Request) { e.addMember(w, r, s, cp, p[0]) },
					http.MethodDelete: func(w http.ResponseWriter, r *http.Request) { e.removeMembers(w, r, s, cp, p[0], "") },
				}
			}},
		{segs: []string{s.self.name, "", s.other.name, ""}, template: base + "/{" + otherParam + "}",
			build: func(e *Emulator, cp string, p []string) handlers {
				return handlers{
					http.MethodDelete: func(w http.ResponseWriter, r *http.Request) { e.removeMembers(w, r, s, cp, p[0], p[1]) },
				}
			}},
	}
}

// specialPatterns are the core-entities paths outside the generic store.
func specialPatterns() []corePattern {
	out := []corePattern{
		{segs: []string{"schemas", "plugins", ""}, template: "/schemas/plugins/{pluginName}",
			build: func(e *Emulator, cp string, p []string) handlers {
				return handlers{http.MethodGet: func(w http.ResponseWriter, r *http.Request) { e.getPluginSchema(w, r, cp, p[0]) }}
			}},
		{segs: []string{"partials", "", "links"}, template: "/partials/{PartialId}/links",
			build: func(e *Emulator, cp string, p []string) handlers {
				return handlers{http.MethodGet: func(w http.ResponseWriter, r *http.Request) { e.partialLinks(w, r, cp, p[0]) }}
			}},
		// decK compatibility, not in the public spec.
		{segs: []string{}, template: "",
			build: func(e *Emulator, cp string, p []string) handlers {
				return handlers{http.MethodGet: func(w http.ResponseWriter, r *http.Request) { e.rootInfo(w, r, cp) }}
			}},
		{segs: []string{"v1", "schemas", "json", ""}, template: "/v1/schemas/json/{entityName}",
			build: func(e *Emulator, cp string, p []string) handlers {
				return handlers{http.MethodGet: func(w http.ResponseWriter, r *http.Request) { e.entityJSONSchema(w, r, cp, p[0]) }}
			}},
	}
	out = append(out, membershipPatterns(groupSide, "ConsumerGroupId", "ConsumerId")...)
	return append(out, membershipPatterns(consumerSide, "ConsumerId", "ConsumerGroupId")...)
}

// matchCore finds the pattern for the segments after core-entities.
func (e *Emulator) matchCore(cpID string, rest []string) (string, handlers, bool) {
	for _, p := range corePatterns {
		if len(p.segs) != len(rest) {
			continue
		}
		var params []string
		ok := true
		for i, s := range p.segs {
			switch {
			case s == "":
				params = append(params, rest[i])
			case s != rest[i]:
				ok = false
			}
		}
		if ok {
			return p.template, p.build(e, cpID, params), true
		}
	}
	return "", nil, false
}
