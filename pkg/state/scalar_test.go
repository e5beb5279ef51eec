package state

import (
	"testing"

	"gopkg.in/yaml.v3"
)

// TestPlainScalarsMatchYAML: the fast paths for booleans and integers give
// what yaml.v3's Node.Decode gives, and decline every other spelling.
func TestPlainScalarsMatchYAML(t *testing.T) {
	for _, in := range []string{
		"true", "True", "TRUE", "false", "False", "FALSE", "yes", "on", "tRue",
		"0", "-0", "7", "-42", "429", "6379", "123456789012345678", "1234567890123456789",
		"0123", "0x1F", "0o17", "1_000", "+5", "-", "", "1.5", "1e3", ".inf",
	} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(in), &n); err != nil || len(n.Content) == 0 {
			continue
		}
		sn := n.Content[0]
		if b, ok := plainBool(in); ok {
			var want bool
			if sn.ShortTag() != "!!bool" || sn.Decode(&want) != nil || want != b {
				t.Errorf("plainBool(%q) = %v, yaml.v3 reads %s", in, b, sn.ShortTag())
			}
		}
		if i, ok := plainInt(in); ok {
			var want any
			if sn.ShortTag() != "!!int" || sn.Decode(&want) != nil || want != int(i) {
				t.Errorf("plainInt(%q) = %d, yaml.v3 reads %s %v", in, i, sn.ShortTag(), want)
			}
		}
	}
	for _, in := range []string{"yes", "on", "0123", "0x1F", "1_000", "+5", "1234567890123456789"} {
		if _, ok := plainBool(in); ok {
			t.Errorf("plainBool(%q) accepted a spelling it leaves to yaml.v3", in)
		}
		if _, ok := plainInt(in); ok {
			t.Errorf("plainInt(%q) accepted a spelling it leaves to yaml.v3", in)
		}
	}
}
