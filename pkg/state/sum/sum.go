// Package sum reads and writes kvsync.sum, the record of the secret values
// kvsync wrote, without any value in it. Konnect never returns a secret's
// value, so kvsync keeps, per managed secret, a keyed fingerprint of the
// value it last wrote and the updated_at Konnect answered; comparing the
// desired value's fingerprint with the first tells a rotated value, and the
// live updated_at with the second a value changed outside kvsync.
//
// The file is text, sorted, one line per secret, stable under re-runs and
// meant to be committed beside the state files, like go.sum:
//
//	kvsync.sum 1 salt=BASE64URL [key=CHECK]
//	CONTROL_PLANE_ID STORE KEY FINGERPRINT UPDATED_AT
//
// STORE and KEY are URL-path-escaped, so that each field is one word. A
// fingerprint is HMAC-SHA256 over the secret's identity and its value,
// keyed by KVSYNC_FINGERPRINT_KEY when it is set and by the file's random
// salt otherwise. A salted fingerprint of a low-entropy value can be
// guessed offline by whoever has the file (hash each candidate with the
// salt); a keyed one cannot without the key. The header's key check tells
// whether the fingerprints were made with the key in use; when they were
// not, the values count as not tracked and are written once again.
package sum

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// FileName is the sum file's default name, beside the first state file.
const FileName = "kvsync.sum"

// EnvKey is the environment variable holding the fingerprint key.
const EnvKey = "KVSYNC_FINGERPRINT_KEY"

const (
	magic         = "kvsync.sum"
	formatVersion = "1"
	saltLen       = 16
	// Fingerprints say how they were keyed: by the salt or by the key.
	saltedPrefix = "s1:"
	keyedPrefix  = "k1:"
)

// ID names one secret.
type ID struct {
	ControlPlaneID string
	Store          string
	Key            string
}

// Entry is what kvsync recorded of a secret when it last wrote it.
type Entry struct {
	Fingerprint string
	// UpdatedAt is Konnect's updated_at of the write.
	UpdatedAt string
}

// File is a loaded (or new) sum file.
type File struct {
	salt []byte
	key  []byte
	// keyCheck is the header's key check: "" for a salted file.
	keyCheck string
	entries  map[ID]Entry
}

// New returns an empty sum file with a fresh random salt, keyed by key
// when it is not empty.
func New(key []byte) *File {
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails on supported platforms
	return &File{salt: salt, key: key, entries: map[ID]Entry{}}
}

// Load reads the sum file at path; a file that does not exist is a new,
// empty one. key is the fingerprint key (nil: salted fingerprints).
// Errors name the file and line, never a line's content.
func Load(path string, key []byte) (*File, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return New(key), nil
	}
	if err != nil {
		return nil, fmt.Errorf("sum file: %w", err)
	}
	f, err := Parse(data, key)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	return f, nil
}

// Parse reads a sum file's content; errors start with the line number.
func Parse(data []byte, key []byte) (*File, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	f := &File{key: key, entries: map[ID]Entry{}}
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		fields := strings.Fields(text)
		if line == 1 {
			if err := f.header(fields); err != nil {
				return nil, fmt.Errorf("%d: %w", line, err)
			}
			continue
		}
		if len(fields) != 5 {
			return nil, fmt.Errorf("%d: want 5 fields (control plane id, store, key, fingerprint, updated_at), got %d", line, len(fields))
		}
		store, err1 := url.PathUnescape(fields[1])
		k, err2 := url.PathUnescape(fields[2])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%d: badly escaped store or key", line)
		}
		id := ID{ControlPlaneID: fields[0], Store: store, Key: k}
		if _, dup := f.entries[id]; dup {
			return nil, fmt.Errorf("%d: a second line for %s/%s", line, store, k)
		}
		updated := fields[4]
		if updated == "-" {
			updated = ""
		}
		f.entries[id] = Entry{Fingerprint: fields[3], UpdatedAt: updated}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%d: %w", line, err)
	}
	if f.salt == nil {
		return nil, fmt.Errorf("1: not a kvsync.sum file (no header)")
	}
	return f, nil
}

func (f *File) header(fields []string) error {
	if len(fields) < 3 || fields[0] != magic {
		return errors.New("not a kvsync.sum file: the first line must be the header")
	}
	if fields[1] != formatVersion {
		return fmt.Errorf("kvsync.sum format %q is not supported (this kvsync reads %s)", fields[1], formatVersion)
	}
	for _, kv := range fields[2:] {
		name, value, _ := strings.Cut(kv, "=")
		switch name {
		case "salt":
			salt, err := base64.RawURLEncoding.DecodeString(value)
			if err != nil || len(salt) < saltLen {
				return errors.New("the header's salt is malformed")
			}
			f.salt = salt
		case "key":
			f.keyCheck = value
		}
	}
	if f.salt == nil {
		return errors.New("the header has no salt")
	}
	return nil
}

// Keyed reports whether fingerprints are keyed by KVSYNC_FINGERPRINT_KEY.
func (f *File) Keyed() bool { return len(f.key) > 0 }

// checkOf is the key check written in the header: a short HMAC of a fixed
// text, which tells whether a key is the one in use without revealing it.
func checkOf(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("kvsync.sum key check"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:9])
}

// Fingerprint is the keyed fingerprint of a secret's value.
func (f *File) Fingerprint(id ID, value string) string {
	key, prefix := f.salt, saltedPrefix
	if f.Keyed() {
		key, prefix = f.key, keyedPrefix
	}
	m := hmac.New(sha256.New, key)
	for _, part := range []string{id.ControlPlaneID, id.Store, id.Key, value} {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	return prefix + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Digest is the keyed fingerprint of any data (a live object's JSON, a
// config value), keyed as value fingerprints are: without the key (or the
// salt) nobody can test a guess of what the data holds.
func (f *File) Digest(data []byte) string {
	key, prefix := f.salt, saltedPrefix
	if f.Keyed() {
		key, prefix = f.key, keyedPrefix
	}
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return prefix + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Header is the file's first line: the format, the salt and the key check.
// Parse of it alone gives an empty file keyed the same way.
func (f *File) Header() string {
	h := fmt.Sprintf("%s %s salt=%s", magic, formatVersion, base64.RawURLEncoding.EncodeToString(f.salt))
	if f.Keyed() {
		h += " key=" + checkOf(f.key)
	}
	return h
}

// KeyCheck is the header's key check: "" when the fingerprints read were
// salted.
func (f *File) KeyCheck() string { return f.keyCheck }

// KeyMatches reports whether the file's fingerprints were made with the key
// in use (or both are salted).
func (f *File) KeyMatches() bool {
	if f.Keyed() {
		return f.keyCheck == "" || f.keyCheck == checkOf(f.key)
	}
	return f.keyCheck == ""
}

// ErrKeyMissing and ErrKeyMismatch are what KeyProblem reports.
var (
	ErrKeyMissing  = errors.New("its fingerprints were made with " + EnvKey + ", which is not set")
	ErrKeyMismatch = errors.New(EnvKey + " is not the key its fingerprints were made with")
)

// KeyProblem says why the file's fingerprints cannot be compared with the
// ones made now: a keyed file read without its key, or with another key.
// Such a file must not be written over either, or the fingerprints kept
// keyed would silently become salted (or keyed by the wrong key).
func (f *File) KeyProblem() error {
	switch {
	case f.keyCheck == "" || f.KeyMatches():
		return nil
	case !f.Keyed():
		return ErrKeyMissing
	default:
		return ErrKeyMismatch
	}
}

// Comparable reports whether an entry's fingerprint was made the way this
// file makes them now (same keying, same key): only then does comparing it
// say anything about the value.
func (f *File) Comparable(e Entry) bool {
	if f.Keyed() {
		return strings.HasPrefix(e.Fingerprint, keyedPrefix) && f.KeyMatches()
	}
	return strings.HasPrefix(e.Fingerprint, saltedPrefix)
}

// Get returns the entry of a secret.
func (f *File) Get(id ID) (Entry, bool) {
	e, ok := f.entries[id]
	return e, ok
}

// Set records a write.
func (f *File) Set(id ID, e Entry) { f.entries[id] = e }

// Delete forgets a secret.
func (f *File) Delete(id ID) { delete(f.entries, id) }

// DeleteStore forgets every secret of a store.
func (f *File) DeleteStore(controlPlaneID, store string) {
	for id := range f.entries {
		if id.ControlPlaneID == controlPlaneID && id.Store == store {
			delete(f.entries, id)
		}
	}
}

// Len is the number of entries.
func (f *File) Len() int { return len(f.entries) }

// Bytes renders the file: the header, then one sorted line per entry.
func (f *File) Bytes() []byte {
	var b bytes.Buffer
	b.WriteString(f.Header())
	b.WriteByte('\n')
	lines := make([]string, 0, len(f.entries))
	for id, e := range f.entries {
		lines = append(lines, strings.Join([]string{id.ControlPlaneID, url.PathEscape(id.Store), url.PathEscape(id.Key),
			e.Fingerprint, orDash(e.UpdatedAt)}, " "))
	}
	sort.Strings(lines)
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Write replaces the file at path atomically (a temporary file beside it,
// then a rename), so that an interrupted write never leaves half a file.
func (f *File) Write(path string) error {
	if err := f.KeyProblem(); err != nil {
		return fmt.Errorf("sum file %s not written: %w", path, err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".kvsync.sum.*")
	if err != nil {
		return fmt.Errorf("sum file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(f.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("sum file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sum file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("sum file: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("sum file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("sum file: %w", err)
	}
	return nil
}
