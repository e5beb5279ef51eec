package diff

import (
	"encoding/json"
	"fmt"
)

// The JSON form; see the package documentation for its schema.
type jsonPlan struct {
	FormatVersion string           `json:"format_version"`
	ControlPlane  jsonControlPlane `json:"control_plane"`
	Address       string           `json:"konnect_addr,omitempty"`
	Origins       *Origins         `json:"origins,omitempty"`
	SelectTags    []string         `json:"select_tags"`
	Changes       []jsonChange     `json:"changes"`
	Summary       Summary          `json:"summary"`
	Unmanaged     map[string]int   `json:"unmanaged"`
	Warnings      []string         `json:"warnings"`
	Notes         []string         `json:"notes"`
	NotCompared   int              `json:"not_compared"`
	SumFile       string           `json:"sum_file,omitempty"`
}

type jsonControlPlane struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type jsonChange struct {
	ID           int         `json:"id"`
	Action       Action      `json:"action"`
	Kind         Kind        `json:"kind"`
	Name         string      `json:"name"`
	Scope        string      `json:"scope,omitempty"`
	DependsOn    []int       `json:"depends_on"`
	Force        bool        `json:"force,omitempty"`
	ForceSecrets int         `json:"force_secrets,omitempty"`
	Reason       Reason      `json:"reason,omitempty"`
	Fields       []jsonField `json:"fields"`
}

type jsonField struct {
	Path string          `json:"path"`
	Old  json.RawMessage `json:"old,omitempty"`
	New  json.RawMessage `json:"new,omitempty"`
}

// MarshalJSON writes the plan in its documented JSON form, so that no
// serialisation of a plan can carry an operation's secret values.
func (p *Plan) MarshalJSON() ([]byte, error) {
	out := jsonPlan{
		FormatVersion: FormatVersion,
		ControlPlane:  jsonControlPlane{ID: p.ControlPlane.ID, Name: p.ControlPlane.Name},
		Address:       p.Address,
		Origins:       originsOrNil(p.Origins),
		SelectTags:    append([]string{}, p.SelectTags...),
		Changes:       make([]jsonChange, 0, len(p.Changes)),
		Summary:       p.Summary(),
		Unmanaged:     map[string]int{},
		Warnings:      append([]string{}, p.Warnings...),
		Notes:         append([]string{}, p.Notes...),
		NotCompared:   p.NotCompared,
		SumFile:       p.SumFile,
	}
	for _, d := range kinds {
		if d.countsUnmanaged {
			out.Unmanaged[string(d.kind)] = p.Unmanaged[d.kind]
		}
	}
	for _, c := range p.Changes {
		jc, err := c.jsonChange()
		if err != nil {
			return nil, err
		}
		out.Changes = append(out.Changes, jc)
	}
	return json.Marshal(out)
}

// MarshalJSON keeps a lone change as safe as a plan: only display values.
func (c *Change) MarshalJSON() ([]byte, error) {
	jc, err := c.jsonChange()
	if err != nil {
		return nil, err
	}
	return json.Marshal(jc)
}

func (c *Change) jsonChange() (jsonChange, error) {
	jc := jsonChange{ID: c.ID, Action: c.Action, Kind: c.Kind, Name: c.Name, Scope: c.Scope, Reason: c.Reason,
		DependsOn: append([]int{}, c.DependsOn...), Fields: make([]jsonField, 0, len(c.Fields))}
	if c.Action == Delete {
		jc.Force, jc.ForceSecrets = c.Force, c.ForceSecrets
	}
	for _, f := range c.Fields {
		jf := jsonField{Path: f.Path}
		var err error
		if f.HasOld {
			if jf.Old, err = json.Marshal(f.Old); err != nil {
				return jc, fmt.Errorf("change %d field %s: %w", c.ID, f.Path, err)
			}
		}
		if f.HasNew {
			if jf.New, err = json.Marshal(f.New); err != nil {
				return jc, fmt.Errorf("change %d field %s: %w", c.ID, f.Path, err)
			}
		}
		jc.Fields = append(jc.Fields, jf)
	}
	return jc, nil
}

func originsOrNil(o Origins) *Origins {
	if o == (Origins{}) {
		return nil
	}
	return &o
}
