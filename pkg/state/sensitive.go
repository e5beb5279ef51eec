package state

import (
	"fmt"
	"strings"
)

// Redacted is what every formatting of a Sensitive value prints.
const Redacted = "(sensitive)"

// Sensitive holds a secret value, or a string that environment substitution
// produced. Every way of formatting or serialising it redacts; the plain
// value is reachable only through Reveal, which kvsync calls when sending
// the value to Konnect.
type Sensitive struct {
	// value sits behind a pointer so that fmt's fallback for nested values
	// (a mismatched verb on a struct holding a pointer to one holding a
	// Sensitive) prints an address, never the text.
	value *string
	// envNames are the environment variables the value came from, in order.
	envNames []string
	// whole is set when the value is exactly the value of envNames[0] (the
	// scalar was a single ${{ env "NAME" }} and nothing else), so that a
	// writer can put the same placeholder back.
	whole bool
	// unknown are the unset variables the value needs (loaded with
	// LoadOptions.AllowMissingEnv): the value is then not known at all.
	unknown []string
}

// NewSensitive wraps a plain value that came from the named variables.
func NewSensitive(value string, envNames ...string) Sensitive {
	return Sensitive{value: &value, envNames: envNames}
}

// IsZero reports whether the value is empty and came from no variable, as
// for a secret read back from Konnect, which never returns values.
func (s Sensitive) IsZero() bool { return s.Reveal() == "" && len(s.envNames) == 0 }

// WholeEnv returns NAME when the value was written as exactly
// ${{ env "NAME" }}, nothing around it.
func (s Sensitive) WholeEnv() (string, bool) {
	if s.whole && len(s.envNames) == 1 {
		return s.envNames[0], true
	}
	return "", false
}

// Reveal returns the plain value. The Konnect client calls it when it
// encodes a request body (the one place a value is sent); kvsync calls it
// otherwise only to compare and validate, never to print.
func (s Sensitive) Reveal() string {
	if s.value == nil {
		return ""
	}
	return *s.value
}

// MissingEnv returns the unset variables that make the value unknown; nil
// when the value is known.
func (s Sensitive) MissingEnv() []string { return append([]string(nil), s.unknown...) }

// Known reports whether the value is known (no variable it needs is unset).
func (s Sensitive) Known() bool { return len(s.unknown) == 0 }

// EnvNames returns the environment variables the value was built from.
func (s Sensitive) EnvNames() []string { return append([]string(nil), s.envNames...) }

// Len is the length of the plain value in bytes, for validation messages.
func (s Sensitive) Len() int { return len(s.Reveal()) }

// Describe is the safe rendering for plans: "(from env NAME)" when the value
// came from the environment, "(sensitive)" otherwise, and "(value unknown:
// NAME not set)" when it cannot be known.
func (s Sensitive) Describe() string {
	if len(s.unknown) > 0 {
		return "(value unknown: " + strings.Join(s.unknown, ", ") + " not set)"
	}
	if len(s.envNames) == 0 {
		return Redacted
	}
	return "(from env " + strings.Join(s.envNames, ", ") + ")"
}

func (s Sensitive) String() string   { return Redacted }
func (s Sensitive) GoString() string { return "state.Sensitive(" + Redacted + ")" }

// Format redacts for every verb and flag; %#v prints GoString.
func (s Sensitive) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(Redacted))
}

// The encoders redact too, so that a plan, a dump or a log never holds the
// value; the Konnect client, the one place that sends it, refuses to encode
// a Sensitive it has not revealed rather than send this rendering.
func (s Sensitive) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }
func (s Sensitive) MarshalYAML() (any, error)    { return Redacted, nil }
func (s Sensitive) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// Reveal returns a deep copy of a config value (maps, slices, scalars) with
// every Sensitive leaf replaced by its plain string, for checking a config
// against a schema. Nothing sent uses it: the Konnect client reveals what
// it encodes itself.
func Reveal(v any) any {
	switch t := v.(type) {
	case Sensitive:
		return t.Reveal()
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = Reveal(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = Reveal(e)
		}
		return out
	default:
		return v
	}
}

// RevealMap is Reveal for a config map, keeping its type.
func RevealMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return Reveal(m).(map[string]any)
}
