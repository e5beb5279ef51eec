package konnect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

const redactedMarker = "[REDACTED]"

// A redactor replaces, in one pass over a text, every form in which a
// server could echo one of the secrets: as sent, JSON-escaped (with and
// without HTML escaping, with "\/", with non-ASCII as \uXXXX, as Python and
// Lua write it) and HTML-escaped. A sync may have sent tens of thousands of
// values, so forms are found through their first bytes rather than by one
// scan of the text per form: the cost is the text's length, whatever the
// number of secrets.
type redactor struct {
	mu sync.RWMutex
	// byPrefix[i] holds the forms of at least prefixLens[i] bytes (and
	// fewer than the previous length), by their first prefixLens[i]
	// bytes, longest first: values that share a vendor's prefix ("sk-proj-")
	// still fall into buckets of their own.
	byPrefix [len(prefixLens)]map[string][]string
	short    []string        // forms shorter than the shortest prefix, longest first
	seen     map[string]bool // forms filed
	values   map[string]bool // values added, whose forms are filed
	longest  int
}

var prefixLens = [...]int{16, 4}

func newRedactor(secrets ...string) *redactor {
	r := &redactor{seen: map[string]bool{}, values: map[string]bool{}}
	for i := range r.byPrefix {
		r.byPrefix[i] = map[string][]string{}
	}
	r.add(secrets...)
	return r
}

// add makes the redactor replace these secrets too.
func (r *redactor) add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range secrets {
		// Every call that sends a value adds it: the forms are made once.
		if r.values[v] {
			continue
		}
		r.values[v] = true
		for _, form := range echoForms(v) {
			if form == "" || r.seen[form] {
				continue
			}
			r.seen[form] = true
			r.longest = max(r.longest, len(form))
			r.bucket(form)
		}
	}
}

// bucket files a form under the longest prefix length it has.
func (r *redactor) bucket(form string) {
	insert := func(forms []string) []string {
		i := sort.Search(len(forms), func(i int) bool { return len(forms[i]) < len(form) })
		return slices.Insert(forms, i, form)
	}
	for i, n := range prefixLens {
		if len(form) >= n {
			r.byPrefix[i][form[:n]] = insert(r.byPrefix[i][form[:n]])
			return
		}
	}
	r.short = insert(r.short)
}

// longestForm is the length of the longest text the redactor replaces.
func (r *redactor) longestForm() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.longest
}

// echoForms are the texts that show a secret value.
func echoForms(v string) []string {
	if v == "" {
		return nil
	}
	forms := []string{v, html.EscapeString(v)}
	for _, escapeHTML := range []bool{true, false} {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(escapeHTML)
		if enc.Encode(v) != nil {
			continue
		}
		quoted := strings.TrimSuffix(b.String(), "\n")
		inner := quoted[1 : len(quoted)-1]
		forms = append(forms, inner, strings.ReplaceAll(inner, "/", `\/`), asciiJSON(inner))
	}
	return forms
}

// asciiJSON writes a JSON string's non-ASCII characters as \uXXXX escapes
// (UTF-16 surrogate pairs beyond the basic plane), as json.dumps does.
func asciiJSON(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c < utf8.RuneSelf:
			b.WriteRune(c)
		case c > 0xFFFF:
			c -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xD800+(c>>10), 0xDC00+(c&0x3FF))
		default:
			fmt.Fprintf(&b, `\u%04x`, c)
		}
	}
	return b.String()
}

// apply returns text with every form replaced by the marker.
func (r *redactor) apply(text string) string {
	if r == nil {
		return text
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.longest == 0 {
		return text
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(text); {
		n := r.match(text[i:])
		if n == 0 {
			i++
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(text))
		}
		b.WriteString(text[last:i])
		b.WriteString(redactedMarker)
		i += n
		last = i
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

// match is the length of the longest form that text starts with, or 0.
func (r *redactor) match(text string) int {
	// Buckets go from the longest forms to the shortest, each longest
	// first: the first match is the longest.
	for i, n := range prefixLens {
		if len(text) < n {
			continue
		}
		for _, form := range r.byPrefix[i][text[:n]] {
			if strings.HasPrefix(text, form) {
				return len(form)
			}
		}
	}
	for _, form := range r.short {
		if strings.HasPrefix(text, form) {
			return len(form)
		}
	}
	return 0
}
