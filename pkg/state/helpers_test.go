package state

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/google/go-cmp/cmp"
)

// compareSensitive makes cmp compare Sensitive values by their plain value
// and variable names while only ever reporting a digest, so that a failing
// test prints no secret.
var compareSensitive = cmp.Transformer("redacted", func(s Sensitive) struct {
	Describe string
	Digest   string
} {
	return struct {
		Describe string
		Digest   string
	}{s.Describe(), digest(s.Reveal())}
})

// digest identifies a value in test output without revealing it.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:8])
}
