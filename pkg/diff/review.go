package diff

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/go-multierror"
)

// Reviewed is what sync --plan applies of a plan made now, given the plan
// that was reviewed (a SavedPlan).
type Reviewed struct {
	// Plan holds the reviewed changes that are still planned, and only
	// them, renumbered; its warnings name what was left out and its notes
	// what was already applied.
	Plan *Plan
	// LeftOut are changes planned now that nobody reviewed: never applied
	// by this plan.
	LeftOut []*Change
	// Done are the reviewed changes no longer planned: the control plane
	// already holds their outcome (a re-run of the plan, or another run).
	Done []string
}

// Review compares a plan made now, and the fingerprints of what its
// changes depend on, with the saved one. The reviewed changes still
// planned must be the same changes (fields, force, reason) depending on the
// same live objects and values; then they alone are applied. A change that
// is not in the reviewed plan is left out and named, and a reviewed change
// no longer planned counts as applied. Otherwise the error (a
// *multierror.Error, unless the plan is for another control plane) names
// everything that moved, and nothing is applied. The changes kept are
// now's own, renumbered in place: now is not used afterwards.
func (s *SavedPlan) Review(now *Plan, fp Fingerprints) (*Reviewed, error) {
	if now.ControlPlane.ID != s.Plan.ControlPlane.ID {
		return nil, fmt.Errorf("the plan was made for control plane %s (id %s), not %s (id %s)",
			s.Plan.ControlPlane.Name, s.Plan.ControlPlane.ID, now.ControlPlane.Name, now.ControlPlane.ID)
	}
	reviewed := map[string]*Change{}   // by action and entity
	reviewedOf := map[string]*Change{} // by entity
	for _, c := range s.Plan.Changes {
		reviewed[changeKey(c)] = c
		reviewedOf[entityKey(c)] = c
	}
	var problems []string
	kept, leftOut := map[*Change]bool{}, map[*Change]bool{}
	matched := map[*Change]bool{}
	for _, c := range now.Changes {
		r, ok := reviewed[changeKey(c)]
		if !ok {
			if other, planned := reviewedOf[entityKey(c)]; planned {
				matched[other] = true
				problems = append(problems, fmt.Sprintf("the change %s differs from the reviewed one (%s)", c, other))
				continue
			}
			leftOut[c] = true
			continue
		}
		matched[r] = true
		if !sameChange(r, c) {
			problems = append(problems, "the change "+c.String()+" differs from the reviewed one")
			continue
		}
		kept[c] = true
	}
	var done []string
	created := map[string]bool{} // live keys of what the reviewed plan created
	for _, r := range s.Plan.Changes {
		if !matched[r] {
			done = append(done, r.String())
			if r.Action == Create {
				created[liveKeyOf(r)] = true
			}
		}
	}
	for _, c := range now.Changes {
		if !kept[c] {
			continue
		}
		for _, d := range fp.deps[c] {
			problems = append(problems, s.moved(d, fp, created)...)
		}
		for _, dep := range c.DependsOn {
			if d := now.Changes[dep]; leftOut[d] && d.Action != Update {
				problems = append(problems, fmt.Sprintf("the reviewed change %s needs %s, which is not in the reviewed plan", c, d))
			}
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		var merr *multierror.Error
		for _, p := range slices.Compact(problems) {
			merr = multierror.Append(merr, errors.New(p))
		}
		return nil, merr
	}
	out := &Reviewed{Done: done}
	sub := *now
	sub.Changes, sub.Warnings, sub.Notes = nil, append([]string{}, now.Warnings...), append([]string{}, now.Notes...)
	newID := map[int]int{}
	for _, c := range now.Changes {
		if kept[c] {
			newID[c.ID] = len(sub.Changes)
			sub.Changes = append(sub.Changes, c)
		} else if leftOut[c] {
			out.LeftOut = append(out.LeftOut, c)
			sub.Warnings = append(sub.Warnings, fmt.Sprintf("left out: %s is not in the reviewed plan; make and review a new plan (kvsync diff --out) to apply it", c))
		}
	}
	// The changes kept are renumbered; an edge to a left-out update goes
	// (the entity exists either way).
	for _, c := range sub.Changes {
		var deps []int
		for _, d := range c.DependsOn {
			if id, ok := newID[d]; ok {
				deps = append(deps, id)
			}
		}
		c.ID, c.DependsOn = newID[c.ID], deps
	}
	if len(done) > 0 {
		if len(sub.Changes) == 0 {
			sub.Notes = append(sub.Notes, fmt.Sprintf("the reviewed plan is already applied (%d change%s): nothing to do", len(done), Plural(len(done))))
		}
		sub.Notes = append(sub.Notes, "already applied, as reviewed: "+strings.Join(done, "; "))
	}
	out.Plan = &sub
	return out, nil
}

// moved says what of a dependency differs from when the plan was made.
// A value unknown then (reviewed without the secrets) was not reviewed:
// whatever it is now does not hold the plan back. A live object the
// reviewed plan itself created (an earlier run of it) was not there to be
// read.
func (s *SavedPlan) moved(d dependency, fp Fingerprints, created map[string]bool) []string {
	if d.live {
		saved, ok := s.Fingerprints.Live[d.key]
		switch {
		case !ok && created[d.key]:
		case !ok:
			return []string{d.key + " appeared since the plan was made"}
		case saved != fp.Live[d.key]:
			return []string{d.key + " changed since the plan was made"}
		}
		return nil
	}
	saved, ok := s.Fingerprints.Values[d.key]
	switch {
	case ok && saved == unknownValue:
	case !ok:
		return []string{"value of " + d.key + " is new since the plan was made"}
	case saved != fp.Values[d.key]:
		return []string{"value of " + d.key + " differs from the reviewed one"}
	}
	return nil
}

// changeKey identifies a change by its action and entity; entityKey by its
// entity alone.
func changeKey(c *Change) string { return string(c.Action) + "\x00" + entityKey(c) }
func entityKey(c *Change) string { return string(c.Kind) + "\x00" + c.Name + "\x00" + c.Scope }
func liveKeyOf(c *Change) string { return c.Kind.Label() + " " + c.Name + scopeSuffix(c.Scope) }

// sameChange compares a reviewed change with one planned now by their JSON
// forms, ids and edges left out. What the review could not know reads
// differently now and does not count: a value unknown then ("(value
// unknown: NAME not set)"), and the id of a store the plan was to create,
// which an earlier run of it created.
func sameChange(reviewed, now *Change) bool {
	r, errR := reviewed.jsonChange()
	n, errN := now.jsonChange()
	if errR != nil || errN != nil || len(r.Fields) != len(n.Fields) {
		return false
	}
	for i := range r.Fields {
		if unreviewedDisplay(r.Fields[i].New) && r.Fields[i].Path == n.Fields[i].Path {
			n.Fields[i].New = r.Fields[i].New
		}
	}
	r.ID, r.DependsOn, n.ID, n.DependsOn = 0, nil, 0, nil
	x, errX := json.Marshal(r)
	y, errY := json.Marshal(n)
	return errX == nil && errY == nil && string(x) == string(y)
}

func unreviewedDisplay(raw json.RawMessage) bool {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return false
	}
	return strings.HasPrefix(s, "(value unknown: ") || strings.HasPrefix(s, "(id of new ")
}
