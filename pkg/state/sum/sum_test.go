package sum

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const canary = "CANARY-sum-value-5a5a"

func TestRoundTripStableSorted(t *testing.T) {
	f := New(nil)
	ids := []ID{{"cp-2", "store b", "k"}, {"cp-1", "s", "z/key"}, {"cp-1", "s", "a"}}
	for i, id := range ids {
		f.Set(id, Entry{Fingerprint: f.Fingerprint(id, canary), UpdatedAt: []string{"2026-01-01T00:00:00.000Z", "", "x"}[i]})
	}
	data := f.Bytes()
	if strings.Contains(string(data), canary) {
		t.Fatal("the sum file contains a value")
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "kvsync.sum 1 salt=") {
		t.Fatalf("file:\n%s", data)
	}
	for i, want := range []string{"cp-1 s a ", "cp-1 s z%2Fkey ", "cp-2 store%20b k "} {
		if !strings.HasPrefix(lines[i+1], want) {
			t.Errorf("line %d = %q, want prefix %q", i+2, lines[i+1], want)
		}
	}
	g, err := Parse(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(g.Bytes()) != string(data) {
		t.Error("a parsed file does not render back byte for byte")
	}
	for _, id := range ids {
		want, _ := f.Get(id)
		if got, ok := g.Get(id); !ok || got != want {
			t.Errorf("%v: got %+v, want %+v", id, got, want)
		}
		if g.Fingerprint(id, canary) != want.Fingerprint {
			t.Errorf("%v: the parsed file fingerprints differently", id)
		}
	}
}

func TestFingerprints(t *testing.T) {
	id := ID{"cp", "s", "k"}
	a, b := New(nil), New(nil)
	if a.Fingerprint(id, "v") == b.Fingerprint(id, "v") {
		t.Error("two salts give the same fingerprint")
	}
	if a.Fingerprint(id, "v") == a.Fingerprint(ID{"cp", "s", "k2"}, "v") {
		t.Error("the fingerprint does not bind the identity")
	}
	if a.Fingerprint(id, "v") == a.Fingerprint(id, "w") {
		t.Error("the fingerprint does not bind the value")
	}
	k1, k2 := New([]byte("fake-key-1")), New([]byte("fake-key-1"))
	if k1.Fingerprint(id, "v") != k2.Fingerprint(id, "v") {
		t.Error("keyed fingerprints depend on the salt")
	}
	salted := Entry{Fingerprint: a.Fingerprint(id, "v")}
	keyed := Entry{Fingerprint: k1.Fingerprint(id, "v")}
	if !a.Comparable(salted) || a.Comparable(keyed) || !k1.Comparable(keyed) || k1.Comparable(salted) {
		t.Error("Comparable does not follow the keying")
	}
	// A file written with one key, read with another: nothing compares.
	k1.Set(id, keyed)
	other, err := Parse(k1.Bytes(), []byte("fake-key-2"))
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := other.Get(id); other.Comparable(e) {
		t.Error("a fingerprint made with another key counts as comparable")
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "1: not a kvsync.sum file"},
		{"hello\n", "1: not a kvsync.sum file"},
		{"kvsync.sum 9 salt=AAAAAAAAAAAAAAAAAAAAAA\n", `1: kvsync.sum format "9" is not supported`},
		{"kvsync.sum 1 salt=AAAAAAAAAAAAAAAAAAAAAA\ncp s k\n", "2: want 5 fields"},
		{"kvsync.sum 1 salt=AAAAAAAAAAAAAAAAAAAAAA\ncp s%zz k s1:x -\n", "2: badly escaped"},
		{"kvsync.sum 1 salt=AAAAAAAAAAAAAAAAAAAAAA\ncp s k s1:x -\ncp s k s1:y -\n", "3: a second line"},
	} {
		_, err := Parse([]byte(tc.in), nil)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestLoadWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	f, err := Load(path, nil)
	if err != nil || f.Len() != 0 {
		t.Fatalf("Load of a missing file = %v, %v", f, err)
	}
	id := ID{"cp", "s", "k"}
	f.Set(id, Entry{Fingerprint: f.Fingerprint(id, canary), UpdatedAt: "t1"})
	if err := f.Write(path); err != nil {
		t.Fatal(err)
	}
	g, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := g.Get(id); !ok || e.UpdatedAt != "t1" {
		t.Errorf("entry after Write and Load = %+v, %v", e, ok)
	}
	g.DeleteStore("cp", "s")
	if g.Len() != 0 {
		t.Error("DeleteStore left entries")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("Write left %d files beside the sum file", len(entries)-1)
	}
	if err := os.WriteFile(path, []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, nil); err == nil || !strings.HasPrefix(err.Error(), path+":1:") {
		t.Errorf("Load of a bad file = %v, want an error located at %s:1", err, path)
	}
}

// A keyed file read without its key, or with another, cannot be compared
// and is never written over; a salted file may gain a key.
func TestKeyProblem(t *testing.T) {
	keyed := New([]byte("fake-key-1"))
	keyed.Set(ID{"cp", "s", "k"}, Entry{Fingerprint: keyed.Fingerprint(ID{"cp", "s", "k"}, canary)})
	salted := New(nil)
	for _, tc := range []struct {
		name    string
		file    *File
		readKey string
		want    error
	}{
		{"keyed, same key", keyed, "fake-key-1", nil},
		{"keyed, no key", keyed, "", ErrKeyMissing},
		{"keyed, another key", keyed, "fake-key-2", ErrKeyMismatch},
		{"salted, no key", salted, "", nil},
		{"salted, now keyed", salted, "fake-key-1", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.file.Bytes(), []byte(tc.readKey))
			if err != nil {
				t.Fatal(err)
			}
			if got := f.KeyProblem(); got != tc.want {
				t.Fatalf("KeyProblem() = %v, want %v", got, tc.want)
			}
			path := filepath.Join(t.TempDir(), "kvsync.sum")
			err = f.Write(path)
			if (err != nil) != (tc.want != nil) {
				t.Fatalf("Write: %v, want an error: %v", err, tc.want != nil)
			}
			if _, statErr := os.Stat(path); (statErr == nil) == (tc.want != nil) {
				t.Errorf("file written: %v, want written: %v", statErr == nil, tc.want == nil)
			}
		})
	}
}
