package diff

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"

	"github.com/hashicorp/go-multierror"

	"github.com/kvsync/kvsync/pkg/state"
	"github.com/kvsync/kvsync/pkg/state/sum"
)

// SavedFormatVersion is the version of a saved plan file (diff --out).
const SavedFormatVersion = "1"

// Fingerprints are what a plan was made from, without any value: a keyed
// fingerprint of every live object the plan read (its JSON, or for a
// secret its key and timestamps, which is all Konnect returns) and of every
// desired value (secret values, substituted config values). Keys name the
// object or value in prose ("vault mysecretvault").
type Fingerprints struct {
	Live   map[string]string `json:"live"`
	Values map[string]string `json:"values"`
}

// unknownValue is the fingerprint of a value nobody knew when the plan was
// made (--allow-missing-env).
const unknownValue = "unknown"

// fingerprinter collects Fingerprints; each kind adds its own.
type fingerprinter struct {
	desired *state.File
	live    *Live
	keying  *sum.File
	out     Fingerprints
}

func (f *fingerprinter) object(key string, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		raw = []byte("(unencodable)")
	}
	f.out.Live[key] = f.keying.Digest(raw)
}

func (f *fingerprinter) value(key string, v state.Sensitive) {
	if !v.Known() {
		f.out.Values[key] = unknownValue
		return
	}
	f.out.Values[key] = f.keying.Digest([]byte(key + "\x00" + v.Reveal()))
}

// configValues adds the substituted values of a config, by path.
func (f *fingerprinter) configValues(owner string, cfg map[string]any) {
	leaves := map[string]sensitiveLeaf{}
	sensitiveLeaves(path{"config"}, cfg, leaves)
	for p, l := range leaves {
		f.value(p+" of "+owner, l.value)
	}
}

// TakeFingerprints fingerprints what a plan of desired against live reads,
// keyed as keying's values are (its key, or its salt).
func TakeFingerprints(desired *state.File, live *Live, keying *sum.File) Fingerprints {
	f := &fingerprinter{desired: desired, live: live, keying: keying,
		out: Fingerprints{Live: map[string]string{}, Values: map[string]string{}}}
	f.object("control plane "+live.ControlPlane.Name, live.ControlPlane)
	for _, d := range kinds {
		if d.fingerprint != nil {
			d.fingerprint(f)
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

// Verify compares a plan made now, and what it read, with the saved one:
// nil when they are the same plan made from the same state. Otherwise the
// error (a *multierror.Error) names everything that moved.
func (s *SavedPlan) Verify(now *Plan, fp Fingerprints) error {
	if now.ControlPlane.ID != s.Plan.ControlPlane.ID {
		return fmt.Errorf("the plan was made for control plane %s (id %s), not %s (id %s)",
			s.Plan.ControlPlane.Name, s.Plan.ControlPlane.ID, now.ControlPlane.Name, now.ControlPlane.ID)
	}
	var problems []string
	compare := func(saved, current map[string]string, moved, gone, appeared string) {
		for k, v := range saved {
			switch c, ok := current[k]; {
			case !ok:
				problems = append(problems, fmt.Sprintf(gone, k))
			case c != v:
				problems = append(problems, fmt.Sprintf(moved, k))
			}
		}
		for k := range current {
			if _, ok := saved[k]; !ok {
				problems = append(problems, fmt.Sprintf(appeared, k))
			}
		}
	}
	compare(s.Fingerprints.Live, fp.Live, "%s changed since the plan was made", "%s is gone since the plan was made", "%s appeared since the plan was made")
	// A value unknown when the plan was made (reviewed without the
	// secrets, --allow-missing-env) was not reviewed: whatever it is now,
	// and whether its secret is written, is not a change of the plan.
	values, unreviewed := map[string]string{}, map[string]bool{}
	for k, v := range fp.Values {
		values[k] = v
	}
	for k, v := range s.Fingerprints.Values {
		if v == unknownValue {
			unreviewed[k] = true
			values[k] = v
		}
	}
	compare(s.Fingerprints.Values, values, "value of %s differs from the reviewed one", "value of %s is no longer in the files", "value of %s is new since the plan was made")
	reviewed, current := changeTexts(s.Plan), changeTexts(now)
	for k, c := range current {
		if c.kind != KindSecret || !unreviewed[c.name] {
			continue
		}
		switch r, planned := reviewed[k]; {
		case c.action == Update:
			delete(current, k)
		case c.action == Create && planned:
			// The create was reviewed; only its value, shown as unknown
			// then, reads differently now.
			c.json = r.json
			current[k] = c
		}
	}
	for k, r := range reviewed {
		switch c, ok := current[k]; {
		case !ok:
			problems = append(problems, "the reviewed change "+r.headline+" is no longer planned")
		case c.json != r.json:
			problems = append(problems, "the change "+c.headline+" differs from the reviewed one")
		}
	}
	for k, c := range current {
		if _, ok := reviewed[k]; !ok {
			problems = append(problems, "the change "+c.headline+" was not in the reviewed plan")
		}
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	var merr *multierror.Error
	for _, p := range problems {
		merr = multierror.Append(merr, errors.New(p))
	}
	return merr
}

type changeText struct {
	headline, json string
	kind           Kind
	action         Action
	name           string
}

// changeTexts are the plan's changes by identity (action, kind, name and
// scope), each with its headline for messages and its JSON form (ids and
// dependencies left out) for comparison.
func changeTexts(p *Plan) map[string]changeText {
	out := make(map[string]changeText, len(p.Changes))
	for _, c := range p.Changes {
		cc := *c
		cc.ID, cc.DependsOn = 0, nil
		raw, _ := cc.MarshalJSON()
		out[string(c.Action)+"\x00"+string(c.Kind)+"\x00"+c.Name+"\x00"+c.Scope] = changeText{headline: c.String(), json: string(raw),
			kind: c.Kind, action: c.Action, name: c.Name}
	}
	return out
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
		Unmanaged: map[Kind]int{}, Warnings: in.Warnings, Notes: in.Notes, Changes: []*Change{}}
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
