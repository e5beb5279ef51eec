package state

import (
	"testing"

	"gopkg.in/yaml.v3"
)

// TestPlainScalarsMatchYAML: the fast paths for booleans and integers give
// what yaml.v3's Node.Decode gives, and decline every other spelling;
// plainTag gives the tag yaml.v3 resolves.
func TestPlainScalarsMatchYAML(t *testing.T) {
	for _, in := range []string{
		"true", "True", "TRUE", "false", "False", "FALSE", "yes", "on", "tRue",
		"0", "-0", "7", "-42", "429", "6379", "123456789012345678", "1234567890123456789",
		"0123", "0x1F", "0o17", "1_000", "+5", "-", "", "1.5", "1e3", ".inf",
		"null", "Null", "NULL", "nULL", "nul", "~", "y", "Y", "n", "N", "no", "No", "off", "On", "tRUE", "nan", "NaN", "inf",
		"a", "z", "A", "Z", "key-0001", "fake-value", "local", "<<", "2001-12-14", "1:20", "10.0.0.1", "_x", "/x",
	} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(in), &n); err != nil || len(n.Content) == 0 || n.Content[0].Kind != yaml.ScalarNode {
			continue
		}
		sn := n.Content[0]
		if got := plainTag(in); got != sn.ShortTag() {
			t.Errorf("plainTag(%q) = %s, yaml.v3 resolves %s", in, got, sn.ShortTag())
		}
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
