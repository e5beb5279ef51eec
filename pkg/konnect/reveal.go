package konnect

// Sensitive is a value that must reach Konnect in clear but prints redacted
// everywhere else; pkg/state's Sensitive is one. The client reveals it in
// exactly one place, when it encodes a request body: anywhere in a body (a
// secret's value, a leaf of a plugin or vault config) it becomes its plain
// string there, and that string is redacted from any error the request
// causes. So no caller has to remember to reveal, and none can send the
// redacted rendering by mistake.
type Sensitive interface {
	Reveal() string
}

// Plaintext is a Sensitive holding its value as is, for callers that have a
// plain string.
type Plaintext string

// Reveal returns the value.
func (p Plaintext) Reveal() string { return string(p) }

// revealer is implemented by request body types that hold free-form maps,
// which may carry Sensitive leaves.
type revealer interface {
	revealed(collect func(string)) any
}

// reveal returns a copy of a request body with every Sensitive replaced by
// its plain value, passing each non-empty one to collect.
func reveal(v any, collect func(string)) any {
	switch t := v.(type) {
	case Sensitive:
		s := t.Reveal()
		if s != "" {
			collect(s)
		}
		return s
	case map[string]any:
		return revealMap(t, collect)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = reveal(e, collect)
		}
		return out
	case revealer:
		return t.revealed(collect)
	}
	return v
}

func revealMap(m map[string]any, collect func(string)) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, e := range m {
		out[k] = reveal(e, collect)
	}
	return out
}

func (v Vault) revealed(collect func(string)) any {
	v.Config = revealMap(v.Config, collect)
	return v
}

func (p Plugin) revealed(collect func(string)) any {
	p.Config = revealMap(p.Config, collect)
	return p
}
