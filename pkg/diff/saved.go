package diff

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"

	"github.com/kvsync/kvsync/pkg/konnect"
	"github.com/kvsync/kvsync/pkg/state"
	"github.com/kvsync/kvsync/pkg/state/sum"
)

// SavedFormatVersion is the version of a saved plan file (diff --out).
const SavedFormatVersion = "1"

// Fingerprints are what a plan's outcome depends on, without any value: a
// keyed fingerprint of each live object a change's outcome depends on (the
// route a plugin is scoped to: its id and name; the secret an update
// writes over: its key and timestamps; the store a vault points at) and of
// each value a change writes (a secret's value, a substituted config
// value). Nothing else a plan read counts: a route's paths, a vault's
// description the file does not set. Keys name the object or value in
// prose ("route example-route", "my-config-store/mistral-key").
type Fingerprints struct {
	Live   map[string]string `json:"live"`
	Values map[string]string `json:"values"`
	// deps are, per change, the keys of Live and Values it depends on.
	deps map[*Change][]dependency
}

// dependency is one key of Fingerprints.Live (live) or .Values.
type dependency struct {
	live bool
	key  string
}

// unknownValue is the fingerprint of a value nobody knew when the plan was
// made (--allow-missing-env).
const unknownValue = "unknown"

// fingerprinter collects Fingerprints, one change at a time; each kind adds
// what its changes depend on.
type fingerprinter struct {
	live   *Live
	keying *sum.File
	out    Fingerprints
	change *Change
}

// identity is what a plan needs of an entity it only refers to: which one
// it is (its id) and the name it is found by.
type identity struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (f *fingerprinter) object(key string, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		raw = []byte("(unencodable)")
	}
	f.out.Live[key] = f.keying.Digest(raw)
	f.out.deps[f.change] = append(f.out.deps[f.change], dependency{live: true, key: key})
}

func (f *fingerprinter) value(key string, v state.Sensitive) {
	if !v.Known() {
		f.out.Values[key] = unknownValue
	} else {
		f.out.Values[key] = f.keying.Digest([]byte(key + "\x00" + v.Reveal()))
	}
	f.out.deps[f.change] = append(f.out.deps[f.change], dependency{key: key})
}

// configValues adds the substituted values of a config, by path.
func (f *fingerprinter) configValues(owner string, cfg map[string]any) {
	leaves := map[string]sensitiveLeaf{}
	sensitiveLeaves(path{"config"}, cfg, leaves)
	for _, p := range slices.Sorted(maps.Keys(leaves)) {
		f.value(p+" of "+owner, leaves[p].value)
	}
}

// storeByID is the live config store with that id.
func (f *fingerprinter) storeByID(id string) (konnect.ConfigStore, bool) {
	for _, s := range f.live.ConfigStores {
		if s.ID == id && id != "" {
			return s, true
		}
	}
	return konnect.ConfigStore{}, false
}

// TakeFingerprints fingerprints what the outcome of each change of p
// depends on (see Fingerprints), keyed as keying's values are (its key, or
// its salt).
func TakeFingerprints(live *Live, p *Plan, keying *sum.File) Fingerprints {
	f := &fingerprinter{live: live, keying: keying,
		out: Fingerprints{Live: map[string]string{}, Values: map[string]string{}, deps: map[*Change][]dependency{}}}
	for _, c := range p.Changes {
		if d := descriptorOf(c.Kind); d != nil && d.fingerprint != nil && c.Op != nil {
			f.change = c
			d.fingerprint(f, c)
		}
	}
	return f.out
}

// SavedPlan is a plan saved for review (diff --out), to be applied only
// if it is still the same (sync --plan). It holds display values and
// fingerprints, never a value, a token or a substituted value.
type SavedPlan struct {
	FormatVersion string `json:"format_version"`
	// Keying is the header of a kvsync.sum keyed like the fingerprints
	// (its salt, and the key check when KVSYNC_FINGERPRINT_KEY keyed them).
	Keying       string       `json:"fingerprint_keying"`
	Plan         *Plan        `json:"plan"`
	Fingerprints Fingerprints `json:"fingerprints"`
}

// Save writes a saved plan.
func Save(w io.Writer, p *Plan, fp Fingerprints, keying *sum.File) error {
	raw, err := json.MarshalIndent(SavedPlan{FormatVersion: SavedFormatVersion, Keying: keying.Header(), Plan: p, Fingerprints: fp}, "", "  ")
	if err != nil {
		return fmt.Errorf("saving the plan: %w", err)
	}
	_, err = w.Write(append(raw, '\n'))
	return err
}

// ReadSaved reads a saved plan.
func ReadSaved(r io.Reader) (*SavedPlan, error) {
	var s SavedPlan
	dec := json.NewDecoder(io.LimitReader(r, 256<<20))
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("not a saved kvsync plan: %w", err)
	}
	if s.FormatVersion == SavedSetFormatVersion {
		return nil, errors.New("the plan file holds the plans of environments (made with --environments): apply it with sync --environments")
	}
	if s.FormatVersion != SavedFormatVersion {
		return nil, fmt.Errorf("the plan file has format %q; this kvsync reads format %s (make the plan again with this kvsync)", s.FormatVersion, SavedFormatVersion)
	}
	if s.Plan == nil || s.Plan.Changes == nil {
		return nil, errors.New("not a saved kvsync plan: it holds no plan")
	}
	return &s, nil
}

// Keyed returns the keying of the plan's fingerprints with key, the
// fingerprint key in use, which must be the one the plan was made with.
func (s *SavedPlan) Keyed(key []byte) (*sum.File, error) {
	salted, err := sum.Parse([]byte(s.Keying+"\n"), nil)
	if err != nil {
		return nil, fmt.Errorf("the plan's fingerprint_keying: %w", err)
	}
	if salted.KeyCheck() == "" {
		return salted, nil // made without a key: compare with its salt
	}
	keyed, err := sum.Parse([]byte(s.Keying+"\n"), key)
	if err != nil {
		return nil, fmt.Errorf("the plan's fingerprint_keying: %w", err)
	}
	if !keyed.Keyed() || !keyed.KeyMatches() {
		return nil, errors.New("the plan was made with a KVSYNC_FINGERPRINT_KEY that is not the one set now: its fingerprints cannot be compared")
	}
	return keyed, nil
}

// safeTextRE matches the display texts kvsync writes for values it does
// not show, which a saved plan's JSON holds as plain strings.
var safeTextRE = regexp.MustCompile(`^\((sensitive|sensitive, changed|from env [^()]*|value unknown: [^()]*|id of new [^()]*)\)$`)

// UnmarshalJSON reads the documented JSON form back into a plan that can be
// rendered and compared; its changes have no operation (a saved plan is
// never applied as such: sync --plan recomputes it).
func (p *Plan) UnmarshalJSON(data []byte) error {
	var in jsonPlan
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	*p = Plan{ControlPlane: p.ControlPlane, SelectTags: in.SelectTags, Address: in.Address,
		Unmanaged: map[Kind]int{}, Warnings: in.Warnings, Notes: in.Notes, Changes: []*Change{},
		NotCompared: in.NotCompared, SumFile: in.SumFile}
	p.ControlPlane.ID, p.ControlPlane.Name = in.ControlPlane.ID, in.ControlPlane.Name
	if in.Origins != nil {
		p.Origins = *in.Origins
	}
	for k, n := range in.Unmanaged {
		p.Unmanaged[Kind(k)] = n
	}
	for _, jc := range in.Changes {
		c := &Change{ID: jc.ID, Action: jc.Action, Kind: jc.Kind, Name: jc.Name, Scope: jc.Scope,
			DependsOn: jc.DependsOn, Force: jc.Force, ForceSecrets: jc.ForceSecrets, Reason: jc.Reason}
		for _, jf := range jc.Fields {
			f := FieldChange{Path: jf.Path, HasOld: jf.Old != nil, HasNew: jf.New != nil}
			f.Old, f.New = displayFromJSON(jf.Old), displayFromJSON(jf.New)
			c.Fields = append(c.Fields, f)
		}
		p.Changes = append(p.Changes, c)
	}
	return nil
}

func displayFromJSON(raw json.RawMessage) any {
	if raw == nil {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return SafeText("(unreadable)")
	}
	if s, ok := v.(string); ok && safeTextRE.MatchString(s) {
		return SafeText(s)
	}
	return v
}
