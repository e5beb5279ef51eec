package kong

import (
	"errors"
	"net/url"
	"strings"
)

// refOpen starts every vault reference.
const refOpen = "{vault://"

// VaultRef is a parsed reference {vault://PREFIX/KEY[/PROPERTY]}.
type VaultRef struct {
	// Ref is the reference as written.
	Ref      string
	Prefix   string
	Key      string
	Property string
}

// ErrNotRef is ParseVaultRef's error for a string that is not shaped as a
// reference at all.
var ErrNotRef = errors.New("not a reference: want {vault://PREFIX/KEY[/PROPERTY]}")

// ParseVaultRef parses a whole-value reference the way Kong does
// (kong/pdk/vault.lua parse_reference): PREFIX is the URL host; of the path
// segments the last is the PROPERTY when there are two or more; a ?query
// (e.g. ?ttl=60) and a #version are allowed and do not change which secret
// is meant. Error messages never quote the string, which may be a value.
func ParseVaultRef(s string) (VaultRef, error) {
	if !strings.HasPrefix(s, refOpen) || !strings.HasSuffix(s, "}") {
		return VaultRef{}, ErrNotRef
	}
	inner := s[len(refOpen) : len(s)-1]
	if i := strings.IndexByte(inner, '#'); i >= 0 {
		inner = inner[:i]
	}
	if i := strings.IndexByte(inner, '?'); i >= 0 {
		inner = inner[:i]
	}
	prefix, resource, _ := strings.Cut(inner, "/")
	if prefix == "" {
		return VaultRef{}, errors.New("the reference names no vault prefix")
	}
	if resource == "" {
		return VaultRef{}, errors.New("the reference names no key")
	}
	parts := strings.Split(resource, "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil || u == "" {
			return VaultRef{}, errors.New("the reference has an empty or badly escaped path segment")
		}
		parts[i] = u
	}
	ref := VaultRef{Ref: s, Prefix: prefix}
	if len(parts) == 1 {
		ref.Key = parts[0]
	} else {
		ref.Key = strings.Join(parts[:len(parts)-1], "/")
		ref.Property = parts[len(parts)-1]
	}
	return ref, nil
}

// IsVaultRef reports whether v is a string that is one whole, valid vault
// reference: it names a secret without being one, so it is safe to print.
func IsVaultRef(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	_, err := ParseVaultRef(s)
	return err == nil
}

// Embedded is a reference Kong would not resolve because it is not the
// whole value.
type Embedded struct {
	// Ref is the (first) reference's text, Before what precedes it.
	Ref, Before string
	// Single: the value is text followed by this one reference, which a
	// user most likely meant as one secret ("Bearer {vault://…}").
	Single bool
}

// EmbeddedVaultRef finds a reference inside a longer string; ok is false
// when s holds no "{vault://" at all or is one whole reference.
func EmbeddedVaultRef(s string) (e Embedded, ok bool) {
	i := strings.Index(s, refOpen)
	if i < 0 {
		return Embedded{}, false
	}
	count := strings.Count(s, refOpen)
	if i == 0 && strings.HasSuffix(s, "}") && count == 1 && strings.IndexByte(s, '}') == len(s)-1 {
		return Embedded{}, false
	}
	ref := s[i:]
	if j := strings.IndexByte(ref, '}'); j >= 0 {
		ref = ref[:j+1]
	}
	return Embedded{Ref: ref, Before: s[:i], Single: count == 1 && strings.HasSuffix(s, ref)}, true
}

// VaultRefs collects the whole-value references in a JSON-shaped tree
// (maps, slices, strings), in no particular order.
func VaultRefs(v any) []VaultRef {
	var out []VaultRef
	walkStrings(v, func(s string) {
		if r, err := ParseVaultRef(s); err == nil {
			out = append(out, r)
		}
	})
	return out
}

func walkStrings(v any, fn func(string)) {
	switch t := v.(type) {
	case string:
		fn(t)
	case map[string]any:
		for _, e := range t {
			walkStrings(e, fn)
		}
	case []any:
		for _, e := range t {
			walkStrings(e, fn)
		}
	}
}
