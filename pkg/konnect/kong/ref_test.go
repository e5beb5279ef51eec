package kong

import (
	"errors"
	"testing"
)

func TestParseVaultRef(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    VaultRef
		wantErr bool
	}{
		{in: "{vault://v/k}", want: VaultRef{Prefix: "v", Key: "k"}},
		{in: "{vault://v/k/p}", want: VaultRef{Prefix: "v", Key: "k", Property: "p"}},
		{in: "{vault://hcv/path/to/secret/p}", want: VaultRef{Prefix: "hcv", Key: "path/to/secret", Property: "p"}},
		{in: "{vault://aws/s/p#2}", want: VaultRef{Prefix: "aws", Key: "s", Property: "p"}},
		{in: "{vault://env/cert/key?prefix=SSL_#1}", want: VaultRef{Prefix: "env", Key: "cert", Property: "key"}},
		{in: "{vault://v/a%2Fb}", want: VaultRef{Prefix: "v", Key: "a/b"}},
		{in: "{vault://v}", wantErr: true},
		{in: "{vault:///k}", wantErr: true},
		{in: "{vault://v/k/}", wantErr: true},
		{in: "{vault://v//k}", wantErr: true},
		{in: "vault://v/k", wantErr: true},
	} {
		got, err := ParseVaultRef(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseVaultRef(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if tc.wantErr {
			continue
		}
		tc.want.Ref = tc.in
		if got != tc.want {
			t.Errorf("ParseVaultRef(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseVaultRefVersionAndQuery(t *testing.T) {
	// Kong reads the key before ?query and #version: these name the same
	// secret as {vault://mysecretvault/mistral-key}.
	for _, in := range []string{
		"{vault://mysecretvault/mistral-key#2}",
		"{vault://mysecretvault/mistral-key?ttl=60}",
		"{vault://mysecretvault/mistral-key?ttl=60#2}",
	} {
		got, err := ParseVaultRef(in)
		if err != nil {
			t.Fatalf("ParseVaultRef(%q): %v", in, err)
		}
		if got.Prefix != "mysecretvault" || got.Key != "mistral-key" || got.Property != "" {
			t.Errorf("ParseVaultRef(%q) = prefix %q key %q property %q", in, got.Prefix, got.Key, got.Property)
		}
	}
}

func TestEmbeddedVaultRef(t *testing.T) {
	for _, tc := range []struct {
		in    string
		want  Embedded
		found bool
	}{
		{in: "plain"},
		{in: "{vault://v/k}"},
		{in: "Bearer {vault://v/k}", want: Embedded{Ref: "{vault://v/k}", Before: "Bearer ", Single: true}, found: true},
		{in: "{vault://v/k} tail", want: Embedded{Ref: "{vault://v/k}"}, found: true},
		{in: "{vault://a/b}{vault://c/d}", want: Embedded{Ref: "{vault://a/b}"}, found: true},
		{in: "{vault://a/b", want: Embedded{Ref: "{vault://a/b", Single: true}, found: true},
	} {
		got, found := EmbeddedVaultRef(tc.in)
		if got != tc.want || found != tc.found {
			t.Errorf("EmbeddedVaultRef(%q) = %+v, %v; want %+v, %v", tc.in, got, found, tc.want, tc.found)
		}
	}
	if _, err := ParseVaultRef("plain"); !errors.Is(err, ErrNotRef) {
		t.Errorf("ParseVaultRef(plain) = %v, want ErrNotRef", err)
	}
}

func TestVaultRefs(t *testing.T) {
	tree := map[string]any{
		"auth":  map[string]any{"header_value": "{vault://mysecretvault/mistral-key#2}"},
		"list":  []any{"x", "{vault://env/a/b}"},
		"plain": "Bearer {vault://v/k}",
		"num":   1.0,
	}
	got := map[string]bool{}
	for _, r := range VaultRefs(tree) {
		got[r.Prefix+"/"+r.Key+"/"+r.Property] = true
	}
	want := map[string]bool{"mysecretvault/mistral-key/": true, "env/a/b": true}
	if len(got) != len(want) {
		t.Fatalf("VaultRefs = %v, want %v", got, want)
	}
	for k := range want {
		if !got[k] {
			t.Errorf("VaultRefs misses %s (got %v)", k, got)
		}
	}
	if !IsVaultRef("{vault://v/k?ttl=60}") || IsVaultRef("Bearer {vault://v/k}") || IsVaultRef(3) {
		t.Error("IsVaultRef disagrees with ParseVaultRef")
	}
}

func TestCheckVaultPrefix(t *testing.T) {
	for in, want := range map[string]PrefixProblem{
		"mysecretvault": PrefixOK, "a1": PrefixOK, "my-vault": PrefixOK,
		"env": PrefixReserved, "konnect": PrefixReserved,
		"a": PrefixInvalid, "1a": PrefixInvalid, "a-": PrefixInvalid, "My": PrefixInvalid, "": PrefixInvalid,
	} {
		if got := CheckVaultPrefix(in); got != want {
			t.Errorf("CheckVaultPrefix(%q) = %q, want %q", in, got, want)
		}
	}
	if BuiltinVaultPrefix("konnect") || !BuiltinVaultPrefix("env") || BuiltinVaultPrefix("mysecretvault") {
		t.Error("BuiltinVaultPrefix")
	}
}
