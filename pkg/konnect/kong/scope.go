package kong

import "strings"

// ScopeField is one of the entities a plugin attaches to: its foreign
// keys, in Kong's order (route, service, consumer, consumer group). A
// plugin is identified by its name and its scope (or by instance_name).
type ScopeField int

const (
	ScopeRoute ScopeField = iota
	ScopeService
	ScopeConsumer
	ScopeConsumerGroup
	numScopeFields
)

// ScopeFields lists the scope fields in Kong's order.
var ScopeFields = [numScopeFields]ScopeField{ScopeRoute, ScopeService, ScopeConsumer, ScopeConsumerGroup}

var scopeKeys = [numScopeFields]string{"route", "service", "consumer", "consumer_group"}

// Key is the field's name in a plugin: "route", …, "consumer_group".
func (f ScopeField) Key() string { return scopeKeys[f] }

// Label is the field in prose: "consumer group".
func (f ScopeField) Label() string { return strings.ReplaceAll(scopeKeys[f], "_", " ") }

// Plural is the entities in prose: "consumer groups".
func (f ScopeField) Plural() string { return f.Label() + "s" }

// Scope holds one reference (an id or a name; "" when unset) per scope
// field, indexed by ScopeField.
type Scope [numScopeFields]string

// Describe renders a scope for plans and messages, e.g. "instance x, route
// example-route"; "" for a global plugin without an instance name.
func (s Scope) Describe(instance string) string {
	var parts []string
	if instance != "" {
		parts = append(parts, "instance "+instance)
	}
	for _, f := range ScopeFields {
		if s[f] != "" {
			parts = append(parts, f.Label()+" "+s[f])
		}
	}
	return strings.Join(parts, ", ")
}
